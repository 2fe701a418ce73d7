"""The ledger through the CLI: keys, heads, proofs, export and an audit from the export alone."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from o2o.ledger import SignedTreeHead
from o2o.ledger.merkle import verify_inclusion


def _operators(cli: Any) -> None:
    for op_id in ("ALFA", "BETA"):
        r = cli(
            "operator",
            "add",
            op_id,
            "--name",
            f"{op_id} Telecom",
            "--currency",
            "EUR",
            "--country-code",
            "44",
        )
        assert r.code == 0, r.err


def _register_facts(count: int) -> None:
    """What the settlement cycle does: append entries through the service inside its unit of work."""
    from o2o.cli.context import workspace
    from o2o.services.ledger import append_entry, load_signer

    ws = workspace()
    alfa = load_signer(ws, "ALFA")
    with ws.uow() as uow:
        for i in range(count):
            append_entry(
                uow, "statement.signed", f"AGR-1/2026-{i + 1:02d}", {"amount": f"{i}.00"}, "ALFA", alfa
            )
        uow.commit()


@pytest.fixture
def ready(db_cli: Any, db_workspace: Path) -> Any:
    _operators(db_cli)
    for op_id in ("HUB", "ALFA", "BETA"):
        r = db_cli("keys", "generate", op_id, "--json")
        assert r.code == 0, r.err
    _register_facts(5)
    return db_cli


def test_keys_generate_writes_an_owner_only_key_and_registers_it(cli: Any, workspace: Path) -> None:
    _operators(cli)
    r = cli("keys", "generate", "ALFA", "--json")
    assert r.code == 0, r.err
    data = r.json()
    pem = Path(data["private_key"])
    assert pem == workspace / "keys" / "ALFA.pem"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert pem.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert len(data["key_id"]) == 16
    again = cli("keys", "generate", "ALFA")
    assert again.code == 1
    assert "already has a key" in again.err
    unknown = cli("keys", "generate", "ZETA")
    assert unknown.code == 1
    assert "unknown operator" in unknown.err


def test_passphrase_encrypted_key(cli: Any, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_PASS", "correct horse")
    r = cli("keys", "generate", "HUB", "--passphrase-env", "HUB_PASS", "--json")
    assert r.code == 0, r.err
    assert r.json()["encrypted"] is True
    assert "ENCRYPTED" in (workspace / "keys" / "HUB.pem").read_text()
    assert cli("ledger", "head", "--passphrase-env", "HUB_PASS", "--json").json()["tree_size"] == 1
    no_pass = cli("ledger", "head")
    assert no_pass.code == 1
    assert "HUB" in no_pass.err
    monkeypatch.setenv("HUB_PASS", "wrong")
    assert cli("ledger", "head", "--passphrase-env", "HUB_PASS").code == 1


def test_head_proof_and_verify(ready: Any, tmp_path: Path) -> None:
    r = ready("ledger", "head", "--json", "--out", tmp_path / "head.json")
    assert r.code == 0, r.err
    head = r.json()
    assert head["tree_size"] == 8
    assert SignedTreeHead.read(tmp_path / "head.json").root_hash == head["root_hash"]
    p = ready("ledger", "proof", "5", "--since-size", "3", "--json")
    assert p.code == 0, p.err
    bundle = p.json()
    proof = bundle["inclusion_proof"]
    assert bundle["entry"]["seq"] == 5
    assert verify_inclusion(
        5,
        proof["tree_size"],
        bytes.fromhex(proof["leaf_hash"]),
        [bytes.fromhex(h) for h in proof["path"]],
        bytes.fromhex(head["root_hash"]),
    )
    assert bundle["consistency_proof"]["old_size"] == 3
    assert ready("ledger", "proof", "99").code == 1
    v = ready("ledger", "verify", "--json")
    assert v.code == 0, v.out
    assert v.json()["ok"] is True


def test_an_operator_audits_an_export_and_catches_a_rewrite(
    ready: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = tmp_path / "kept-head.json"
    assert ready("ledger", "head", "--out", kept).code == 0
    _register_facts(3)
    out, keys = tmp_path / "ledger.jsonl", tmp_path / "keys.json"
    r = ready("ledger", "export", "--out", out, "--keys-out", keys, "--json")
    assert r.code == 0, r.err
    assert r.json()["entries"] == 11
    assert r.json()["covered"] == 11
    # The auditor has no workspace: only the export, the public keys and the head it kept.
    nowhere = tmp_path / "no-workspace"
    monkeypatch.setenv("O2O_HOME", str(nowhere))
    monkeypatch.delenv("O2O_DATABASE_URL")
    ok = ready("ledger", "verify", "--export", out, "--keys", keys, "--since-head", kept, "--json")
    assert ok.code == 0, ok.out
    assert ok.json()["ok"] is True
    assert not nowhere.exists()

    lines = out.read_text(encoding="utf-8").splitlines()
    entry = json.loads(lines[6])
    entry["entry"]["payload"]["amount"] = "1000000.00"
    lines[6] = json.dumps(entry)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad = ready("ledger", "verify", "--export", out, "--keys", keys, "--since-head", kept)
    assert bad.code == 1
    assert "content_changed" in bad.out
    assert "NOT verified" in bad.out
    assert "did not verify" in bad.err


def test_a_deleted_line_of_an_export_is_named(ready: Any, tmp_path: Path) -> None:
    out = tmp_path / "ledger.jsonl"
    assert ready("ledger", "export", "--out", out).code == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    del lines[4]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = ready("ledger", "verify", "--export", out, "--json")
    assert r.code == 1
    kinds = {f["kind"] for f in r.json()["findings"]}
    assert "deleted" in kinds
