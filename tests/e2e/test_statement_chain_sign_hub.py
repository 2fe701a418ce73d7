"""An evm hub that holds no operator's chain key: each party signs the statement's EIP-712 message on its own
side (`o2o statement sign ST --chain-key FILE --key FILE --hub URL`) against a real `o2o serve`, the hub
keeps the signature only when it recovers to the operator's chain address registered on the ledger, and the
publisher registers the statement on the settlement contract (anvil) with the signatures it was sent;
`o2o registry verify --registry evm` then passes.
"""

from __future__ import annotations

import o2o.chain  # noqa: F401  (first: imports web3 without the websockets.legacy DeprecationWarning)

# isort: split
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import cycle_steps
import hub_server
from anvil_node import Anvil, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def anvil(tmp_path: Path) -> Iterator[Anvil]:
    node = Anvil(free_port(), tmp_path / "anvil-state.json")
    node.start()
    yield node
    node.stop()


def _one_line(r: Any) -> str:
    assert r.code != 0 and r.out == "", (r.code, r.out, r.err)
    assert r.err.strip().count("\n") == 0 and "Traceback" not in r.err, r.err
    return str(r.err.strip())


def test_parties_send_their_eip712_signatures_and_the_hub_registers_the_statement(
    cli: Any, tmp_path: Path, anvil: Anvil
) -> None:
    _, report, ag = cycle_steps.reconciled(cli, tmp_path, cdrs=300, seed=5)
    for d_id in report["disputes"]:
        cycle_steps.resolve_by_split(cli, d_id)
    first, second = ag["parties"]
    st = report["statement"]
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

    with hub_server.running_hub(tmp_path / "serve.log") as url:
        api = f"{url}/api/v1/statements/{st}"
        auth = {"Authorization": f"Bearer {tokens[first]}"}
        typed = httpx.get(f"{api}/chain-typed-data", headers=auth).json()
        assert typed["signer"] == addresses[first] and typed["chain_id"] == 31337 and typed["signed_by"] == []
        assert typed["typed_data"]["primaryType"] == "Statement"

        # Signed with the other party's chain key: refused in one line naming both addresses.
        wrong = cli("statement", "sign", st, "--chain-key", own[second]["chain"], "--hub", url,
                    "--token", tokens[first])  # fmt: skip
        line = _one_line(wrong)
        assert addresses[second] in line and addresses[first] in line and "not by its registered" in line
        problem = httpx.post(f"{api}/chain-signatures", headers=auth, json={"signature": "0x" + "11" * 65})
        assert problem.status_code == 422 and "\n" not in problem.json()["detail"], problem.text

        # Each party: its EIP-712 signature, then its Ed25519 one (the second completes the statement).
        for op in (first, second):
            r = cli("statement", "sign", st, "--chain-key", own[op]["chain"], "--key", own[op]["key"],
                    "--hub", url, "--token", tokens[op], "--json")  # fmt: skip
            assert r.code == 0, r.err
            done = r.json()
            assert done["chain_address"] == addresses[op] and op in done["chain_signed_by"]
        assert done["complete"] is True and done["chain_signed_by"] == sorted((first, second))
        again = cli("statement", "sign", st, "--chain-key", own[first]["chain"], "--hub", url,
                    "--token", tokens[first], "--json")  # fmt: skip
        assert again.code == 0 and again.json()["chain_signed_by"] == sorted((first, second)), again.err

    # Whatever the server's publish jobs carried, the rest now (same lock, same cursor), then the audit.
    r = cli("registry", "publish", "--registry", "evm", "--json")
    assert r.code == 0, r.err
    verified = cli("registry", "verify", "--registry", "evm", "--json")
    assert verified.code == 0, verified.out + verified.err
    found = verified.json()
    assert found["ok"] and found["findings"] == []
    assert found["counts"]["StatementRegistered"] == 1 and "pending" not in found["counts"]
    assert found["counts"]["ObligationRegistered"] >= 1
