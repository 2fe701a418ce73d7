"""The setting of the hub tests where operators sign for the chain on their own side: a reconciled,
split-resolved cycle, each party's Ed25519 and chain keys moved out of the hub's workspace to a folder of
its own, the settlement contract deployed on anvil, and a signer token per party."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cycle_steps
from anvil_node import Anvil


def one_line(r: Any) -> str:
    """The one-line error of a failed command (nothing on stdout, no traceback)."""
    assert r.code != 0 and r.out == "", (r.code, r.out, r.err)
    assert r.err.strip().count("\n") == 0 and "Traceback" not in r.err, r.err
    return str(r.err.strip())


@dataclass(frozen=True)
class Parties:
    period: str
    statement: str
    first: str
    second: str
    addresses: dict[str, str]  # each party's chain address, as `registry deploy` registered it
    own: dict[str, dict[str, Path]]  # each party's "key" (Ed25519) and "chain" key files, on its side
    tokens: dict[str, str]  # each party's signer token for the hub


def parties_on_evm_hub(cli: Any, tmp_path: Path, anvil: Anvil) -> Parties:
    period, report, ag = cycle_steps.reconciled(cli, tmp_path, cdrs=300, seed=5)
    for d_id in report["disputes"]:
        cycle_steps.resolve_by_split(cli, d_id)
    first, second = ag["parties"]
    for op in ("HUB", first, second):
        r = cli("keys", "generate", op, "--chain", "--json")
        assert r.code == 0, r.err
    r = cli("registry", "deploy", "--registry", "evm", "--url", anvil.url, "--chain-id", "31337", "--dev-fund",
            "--json")  # fmt: skip
    assert r.code == 0, r.err
    addresses = r.json()["participants"]

    # Each party's keys (Ed25519 and secp256k1) move to its own side: the hub's folder keeps only its own.
    keys_dir = Path(os.environ["O2O_HOME"]) / "keys"
    own: dict[str, dict[str, Path]] = {}
    for op in (first, second):
        side = tmp_path / f"client-{op}"
        side.mkdir(mode=0o700)
        own[op] = {
            name: Path(shutil.move(keys_dir / f"{op}{suffix}", side / f"{op}{suffix}"))
            for name, suffix in (("key", ".pem"), ("chain", ".chain.json"))
        }
    assert sorted(p.name for p in keys_dir.iterdir() if p.name.endswith(".chain.json")) == ["HUB.chain.json"]
    tokens = {
        op: cli("hub", "token", "create", "--operator", op, "--role", "signer", "--json").json()["token"]
        for op in (first, second)
    }
    return Parties(period, report["statement"], first, second, addresses, own, tokens)
