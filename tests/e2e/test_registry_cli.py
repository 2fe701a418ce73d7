"""Chain keys and the registry's choice through the CLI (no node needed): `keys generate OP --chain` makes a
secp256k1 key beside the Ed25519 one and registers its address on the ledger, signed by the ledger key; the
registry is chosen by --registry, O2O_REGISTRY or the workspace, and every mistake is one line."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest


def _one_line_error(result: Any, *needles: str) -> None:
    assert result.code == 1, result.out
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    for needle in needles:
        assert needle in result.err, result.err


def test_a_chain_key_beside_the_ledger_key(loaded: Any, workspace: Path, tmp_path: Path) -> None:
    _one_line_error(loaded("keys", "generate", "ALFA", "--chain"), "no ledger key", "keys generate ALFA")
    assert loaded("keys", "generate", "ALFA").code == 0
    made = loaded("keys", "generate", "ALFA", "--chain", "--json")
    assert made.code == 0, made.err
    info = made.json()
    path = Path(info["chain_key"])
    assert path == workspace / "keys" / "ALFA.chain.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert info["address"].startswith("0x") and len(info["address"]) == 42
    assert json.loads(path.read_text())["address"] == info["address"]
    _one_line_error(loaded("keys", "generate", "ALFA", "--chain"), "already has a chain key")
    # the binding is on the ledger, signed by ALFA's ledger key, and the ledger still verifies
    export = tmp_path / "ledger.jsonl"
    assert loaded("ledger", "export", "--out", export).code == 0
    lines = [json.loads(line) for line in export.read_text().splitlines()]
    (bound,) = [x["entry"] for x in lines if x.get("entry", {}).get("kind") == "chain.key.registered"]
    assert bound["actor"] == "ALFA" and bound["payload"] == {"operator": "ALFA", "address": info["address"]}
    assert loaded("ledger", "verify").code == 0

    # with a passphrase (the ledger key's, which signs the binding) the file is an encrypted keystore
    secret = tmp_path / "pass.txt"
    secret.write_text("correct horse\n")
    assert loaded("keys", "generate", "BETA", "--passphrase-file", secret).code == 0
    _one_line_error(loaded("keys", "generate", "BETA", "--chain"), "BETA", "passphrase")
    r = loaded("keys", "generate", "BETA", "--chain", "--passphrase-file", secret, "--json")
    assert r.code == 0, r.err
    stored = json.loads((workspace / "keys" / "BETA.chain.json").read_text())
    assert "keystore" in stored and "private_key" not in stored


def test_the_registry_is_chosen_and_mistakes_are_one_line(
    loaded: Any, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    central = loaded("registry", "verify", "--json")
    assert central.code == 0 and central.json()["registry"] == "central"
    assert loaded("registry", "publish", "--json").json()["transactions"] == 0
    _one_line_error(loaded("registry", "verify", "--registry", "ledger"), "'ledger' is not a registry")
    monkeypatch.setenv("O2O_REGISTRY", "evm")
    _one_line_error(loaded("registry", "publish"), "no settlement contract", "o2o registry deploy")
    monkeypatch.setenv("O2O_REGISTRY", "blockchain")
    _one_line_error(loaded("registry", "verify"), "O2O_REGISTRY", "not a registry")
    monkeypatch.delenv("O2O_REGISTRY")
    _one_line_error(
        loaded("registry", "deploy", "--url", "http://127.0.0.1:9", "--chain-id", "1"),
        "HUB has no chain key",
    )
    assert loaded("keys", "generate", "HUB").code == 0
    assert loaded("keys", "generate", "HUB", "--chain").code == 0
    _one_line_error(
        loaded(
            "registry", "deploy", "--url", "http://127.0.0.1:9", "--chain-id", "1", "--registry", "central"
        ),
        "central has no contract",
    )
