"""Keys managed like keys, through the CLI on SQLite and PostgreSQL: a key is replaced only by a rotation the
old key signs (and the hub co-signs) or after the hub's revocation with a reason; `ledger verify` lists the
changes and names an entry signed by a retired key; encrypted keys need their passphrase; the workspace is
private to its owner."""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import cycle_steps


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _one_line_error(result: Any, *needles: str) -> None:
    assert result.code == 1, result.out
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    for needle in needles:
        assert needle in result.err, result.err


@pytest.fixture
def keyed(loaded: Any) -> Any:
    """The two-operator network with keys for the hub, ALFA and BETA."""
    for op in ("HUB", "ALFA", "BETA"):
        r = loaded("keys", "generate", op)
        assert r.code == 0, r.err
    return loaded


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The loosest umask: whatever the workspace makes private, it makes so itself."""
    old = os.umask(0)
    yield
    os.umask(old)


def _declared_network(db_cli: Any, tmp_path: Path, passphrase_file: Path) -> dict[str, Any]:
    """A generated pair of operators, keys generated (the customer's encrypted), usage declared, reconciled."""
    net, truth = cycle_steps.generated(db_cli, tmp_path, cdrs=400, seed=7)
    ag = cycle_steps.loaded(db_cli, net, truth)
    provider, customer = ag["parties"]
    assert db_cli("keys", "generate", "HUB").code == 0
    assert db_cli("keys", "generate", provider).code == 0
    r = db_cli("keys", "generate", customer, "--passphrase-file", passphrase_file, "--json")
    assert r.code == 0, r.err
    assert r.json()["encrypted"] is True
    cycle_steps.declare_all(db_cli, net, truth, truth["period"])
    recon = db_cli("reconcile", "--agreement", ag["id"], "--period", truth["period"], "--json")
    assert recon.code == 0, recon.err
    return {"agreement": ag, "period": truth["period"], "report": recon.json()[0]}


def test_a_rotated_key_signs_statements_and_verify_shows_the_rotation(
    db_cli: Any, db_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "customer.pass"
    secret.write_text("correct horse battery\n", encoding="utf-8")
    ctx = _declared_network(db_cli, tmp_path, secret)
    provider, customer = ctx["agreement"]["parties"]
    st_id = f"ST-{ctx['agreement']['id']}-{ctx['period']}"

    r = db_cli("keys", "rotate", provider, "--json")
    assert r.code == 0, r.err
    rotation = r.json()
    old_id, new_id, seq = rotation["old_key_id"], rotation["key_id"], rotation["seq"]
    assert rotation["change"] == "rotated" and old_id != new_id
    keys = db_workspace / "keys"
    assert Path(rotation["retired_to"]) == keys / "retired" / f"{provider}.{old_id}.pem"
    assert _mode(keys / "retired") == 0o700 and _mode(keys / "retired" / f"{provider}.{old_id}.pem") == 0o600
    assert _mode(keys / f"{provider}.pem") == 0o600

    # The rotation entry is signed by the OLD key, names the new key and is co-signed by the hub.
    entry = db_cli("ledger", "proof", str(seq), "--json").json()["entry"]
    assert entry["kind"] == "key.rotated" and entry["actor"] == provider
    assert entry["signature"]["key_id"] == old_id
    assert entry["payload"]["key_id"] == new_id and entry["payload"]["old_key_id"] == old_id
    assert [c["signer"] for c in entry["cosignatures"]] == ["HUB"]

    # The encrypted customer key: refused in one line without its passphrase, used with --passphrase-file.
    disputes = ctx["report"]["disputes"]
    assert disputes, "zero absolute tolerance leaves a line in dispute"
    r = db_cli("dispute", "propose", disputes[0], "--as", customer, "--split")
    _one_line_error(r, "encrypted", "--passphrase-file")
    r = db_cli("dispute", "propose", disputes[0], "--as", customer, "--split", "--passphrase-file", secret)
    assert r.code == 0, r.err
    r = db_cli("statement", "sign", st_id, "--as", customer)
    _one_line_error(r, "encrypted", "--passphrase-file")
    monkeypatch.setenv("CUSTOMER_PASS", "correct horse battery")
    r = db_cli("statement", "sign", st_id, "--as", customer, "--passphrase-env", "CUSTOMER_PASS", "--json")
    assert r.code == 0, r.err
    r = db_cli("dispute", "accept", disputes[0], "--as", provider)
    assert r.code == 0, r.err

    # The new provider key signs the statement.
    r = db_cli("statement", "sign", st_id, "--as", provider, "--json")
    assert r.code == 0, r.err
    assert r.json()["complete"] is True
    signatures = {s["operator"]: s for s in db_cli("statement", "show", st_id, "--json").json()["signatures"]}
    assert signatures[provider]["key_id"] == new_id

    v = db_cli("ledger", "verify", "--json")
    assert v.code == 0, v.out
    report = v.json()
    assert report["ok"] is True
    rotated = [c for c in report["key_changes"] if c["change"] == "rotated"]
    assert rotated == [
        {"change": "rotated", "operator": provider, "key_id": new_id, "old_key_id": old_id, "seq": seq,
         "reason": None}
    ]  # fmt: skip
    text = db_cli("ledger", "verify")
    assert f"key of {provider} rotated from {old_id} to {new_id}" in text.out

    # An auditor with only the export and the public keys sees the same rotation, and it verifies.
    out, keys_file = tmp_path / "ledger.jsonl", tmp_path / "keys.json"
    assert db_cli("ledger", "export", "--out", out, "--keys-out", keys_file).code == 0
    assert {k["key_id"] for k in json.loads(keys_file.read_text())["keys"]} >= {old_id, new_id}
    monkeypatch.setenv("O2O_HOME", str(tmp_path / "no-workspace"))
    monkeypatch.delenv("O2O_DATABASE_URL")
    audit = db_cli("ledger", "verify", "--export", out, "--keys", keys_file, "--json")
    assert audit.code == 0, audit.out
    assert [c for c in audit.json()["key_changes"] if c["change"] == "rotated"] == rotated


def test_a_deleted_key_file_does_not_let_a_new_key_in(keyed: Any, db_workspace: Path) -> None:
    (db_workspace / "keys" / "ALFA.pem").unlink()
    r = keyed("keys", "generate", "ALFA")
    _one_line_error(r, "ALFA already has key", "o2o keys rotate ALFA", "o2o keys revoke ALFA --reason")
    assert not (db_workspace / "keys" / "ALFA.pem").exists()
    changes = keyed("ledger", "verify", "--json").json()["key_changes"]
    assert [c["change"] for c in changes if c["operator"] == "ALFA"] == ["registered"]


def test_revocation_with_a_reason_then_a_new_key(keyed: Any, db_workspace: Path) -> None:
    r = keyed("keys", "revoke", "ALFA", "--reason", "   ")
    _one_line_error(r, "reason")
    r = keyed("keys", "revoke", "ALFA", "--reason", "laptop stolen", "--json")
    assert r.code == 0, r.err
    revoked = r.json()
    assert revoked["change"] == "revoked" and revoked["reason"] == "laptop stolen"
    assert not (db_workspace / "keys" / "ALFA.pem").exists()
    _one_line_error(keyed("keys", "revoke", "ALFA", "--reason", "again"), "ALFA has no valid key")

    r = keyed("keys", "generate", "ALFA", "--json")
    assert r.code == 0, r.err
    new_id = r.json()["key_id"]
    report = keyed("ledger", "verify", "--json").json()
    assert report["ok"] is True
    alfa = [(c["change"], c["key_id"], c["reason"]) for c in report["key_changes"] if c["operator"] == "ALFA"]
    assert alfa[1:] == [("revoked", revoked["old_key_id"], "laptop stolen"), ("registered", new_id, None)]
    text = keyed("ledger", "verify")
    assert f"key {revoked['old_key_id']} of ALFA revoked by the hub: laptop stolen" in text.out


def test_an_entry_forged_with_a_revoked_key_is_a_finding(keyed: Any, db_workspace: Path) -> None:
    from o2o.cli.context import workspace
    from o2o.domain.errors import SignatureError
    from o2o.ledger.entries import make_entry
    from o2o.ledger.keys import read_private_key
    from o2o.ledger.merkle import leaf_hash
    from o2o.services.ledger import append_entry
    from o2o.store.ledger_repository import SqlLedgerRepository

    stolen = db_workspace / "stolen.pem"
    shutil.copy(db_workspace / "keys" / "ALFA.pem", stolen)
    old = read_private_key(stolen, "ALFA")
    ws = workspace()
    with ws.uow() as uow:  # signed while valid: stays valid after the revocation
        append_entry(uow, "statement.signed", "AG-ALFA-BETA/2026-10", {"amount": "1.00"}, "ALFA", old)
        uow.commit()
    assert keyed("keys", "revoke", "ALFA", "--reason", "key leaked").code == 0
    with ws.uow() as uow, pytest.raises(SignatureError, match="revoked at entry"):
        append_entry(uow, "statement.signed", "AG-ALFA-BETA/2026-11", {"amount": "2.00"}, "ALFA", old)

    # Whoever holds the leaked key and the database writes an entry past the ledger's own checks.
    with ws.uow() as uow:
        repo = SqlLedgerRepository(uow.connection)
        last = repo.last_entry()
        assert last is not None
        forged = make_entry(last.seq + 1, "2026-11-30T00:00:00.000000Z", "statement.signed",
                            "AG-ALFA-BETA/2026-11", {"amount": "9999.00"}, old, last.hash)  # fmt: skip
        repo.add_entries([(forged, leaf_hash(forged.leaf_input()))])
        uow.commit()
    r = keyed("ledger", "verify", "--json")
    assert r.code == 1
    findings = r.json()["findings"]
    assert [(f["kind"], f["seq"]) for f in findings] == [("key_retired", forged.seq)]
    assert "revoked at entry" in findings[0]["message"]


def test_workspace_folder_keys_and_database_are_private(
    db_cli: Any, db_workspace: Path, network: Path, open_umask: None
) -> None:
    assert db_cli("operator", "add", "--file", network / "operators.toml").code == 0
    assert db_cli("keys", "generate", "ALFA").code == 0
    keys, pem = db_workspace / "keys", db_workspace / "keys" / "ALFA.pem"
    url = os.environ["O2O_DATABASE_URL"]
    database = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None
    assert (_mode(db_workspace), _mode(keys), _mode(pem)) == (0o700, 0o700, 0o600)
    if database is not None:
        assert _mode(database) == 0o600

    # Found looser (copied with another umask, chmod'ed by hand): tightened by the next command.
    for path, loose in [(db_workspace, 0o755), (keys, 0o777), (pem, 0o644)]:
        path.chmod(loose)
    if database is not None:
        database.chmod(0o666)
    assert db_cli("operator", "list").code == 0
    assert (_mode(db_workspace), _mode(keys), _mode(pem)) == (0o700, 0o700, 0o600)
    if database is not None:
        assert _mode(database) == 0o600


def test_encrypted_keys_rotate_with_their_passphrase_and_the_hub_reads_its_file(
    loaded: Any, db_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub_pass, alfa_pass = tmp_path / "hub.pass", tmp_path / "alfa.pass"
    hub_pass.write_text("hub secret\n", encoding="utf-8")
    alfa_pass.write_text("alfa secret", encoding="utf-8")
    assert loaded("keys", "generate", "HUB", "--passphrase-file", hub_pass).code == 0
    assert loaded("keys", "generate", "ALFA", "--passphrase-file", alfa_pass).code == 0
    assert "ENCRYPTED" in (db_workspace / "keys" / "ALFA.pem").read_text()
    _one_line_error(loaded("ledger", "head"), "HUB", "--passphrase-file", "O2O_HUB_PASSPHRASE_FILE")
    monkeypatch.setenv("ALFA_PASS", "alfa secret")
    both = loaded("keys", "rotate", "ALFA", "--passphrase-file", alfa_pass, "--passphrase-env", "ALFA_PASS")
    _one_line_error(both, "not both")
    _one_line_error(loaded("keys", "rotate", "ALFA"), "the key of ALFA", "--passphrase-file")

    # The hub co-signs the rotation with the passphrase its settings name.
    monkeypatch.setenv("O2O_HUB_PASSPHRASE_FILE", str(hub_pass))
    r = loaded("keys", "rotate", "ALFA", "--passphrase-file", alfa_pass, "--json")
    assert r.code == 0, r.err
    assert "ENCRYPTED" in (db_workspace / "keys" / "ALFA.pem").read_text()
    assert loaded("ledger", "head", "--json").code == 0
    report = loaded("ledger", "verify", "--json").json()
    assert report["ok"] is True
    assert [c["change"] for c in report["key_changes"]] == ["registered", "registered", "rotated"]
