"""The registered record is the truth, through the CLI on SQLite and PostgreSQL: a cycle driven to signed
obligations, then the store changed behind the platform's back with SQLAlchemy (as an attacker with database
access would) — `ledger verify --store` names every difference, netting and payment confirmation refuse to
move money on a figure the ledger did not register, and an untampered cycle verifies clean."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, delete, func, select, update

from cycle_steps import reconciled, resolve_by_split
from o2o.store import cycle_tables as t


def _reconciled(cli: Any, tmp_path: Path) -> tuple[str, dict[str, Any], list[str]]:
    """A generated two-operator network declared and reconciled (zero tolerance: some lines disputed)."""
    period, report, ag = reconciled(cli, tmp_path, cdrs=600, seed=7)
    return period, report, list(ag["parties"])


@pytest.fixture
def signed(db_cli: Any, tmp_path: Path) -> tuple[Any, str]:
    """The network's disputes settled by splitting the difference and its statement signed by both."""
    period, report, parties = _reconciled(db_cli, tmp_path)
    for d_id in report["disputes"]:
        resolve_by_split(db_cli, d_id)
    for op in parties:
        r = db_cli("statement", "sign", report["statement"], "--as", op)
        assert r.code == 0, r.err
    return db_cli, period


@pytest.fixture
def db() -> Iterator[Engine]:
    """The workspace's own database, reached directly (not through the platform)."""
    engine = create_engine(os.environ["O2O_DATABASE_URL"])
    yield engine
    engine.dispose()


def _largest_obligation(db: Engine) -> dict[str, Any]:
    with db.connect() as conn:
        rows = conn.execute(select(t.obligations)).mappings().all()
    return dict(max(rows, key=lambda r: r["amount"]))


def _ledger_size(cli: Any) -> int:
    return int(cli("ledger", "verify", "--json").json()["entries"])


def test_an_untampered_cycle_verifies_clean_at_every_step(signed: tuple[Any, str]) -> None:
    cli, period = signed
    r = cli("ledger", "verify", "--store")
    assert r.code == 0, r.err
    assert "store verified" in r.out
    netting = cli("net", "run", "--period", period, "--json").json()
    assert netting["payments"], "two operators in clearing-house mode leave payments to make"
    audit = cli("ledger", "verify", "--store", "--json").json()["store"]
    assert audit["ok"] is True and audit["findings"] == []
    assert audit["checked"]["obligations"] >= 2 and audit["checked"]["setoffs"] >= 1
    for pay in netting["payments"]:
        assert (
            cli("payment", "confirm", pay["id"], "--as", "HUB", "--reference", f"BANK-{pay['id']}").code == 0
        )
    assert cli("period", "close", period).code == 0
    r = cli("ledger", "verify", "--store", "--json")
    assert r.code == 0, r.err
    assert r.json()["store"]["ok"] is True and r.json()["ok"] is True


def test_obligations_released_by_a_dispute_after_signing_stay_registered(db_cli: Any, tmp_path: Path) -> None:
    period, report, parties = _reconciled(db_cli, tmp_path)
    for op in parties:
        assert db_cli("statement", "sign", report["statement"], "--as", op).code == 0
    # Signed with the disputes open: the contested parts are withheld obligations, registered as such.
    audit = db_cli("ledger", "verify", "--store", "--json").json()["store"]
    assert audit["ok"] is True and audit["checked"]["obligations"] > len(report["disputes"])
    for d_id in report["disputes"]:
        resolve_by_split(db_cli, d_id)  # the withheld obligation is released with what the resolution adds
    r = db_cli("ledger", "verify", "--store")
    assert r.code == 0, r.out + r.err
    r = db_cli("net", "run", "--period", period)
    assert r.code == 0, r.err
    assert db_cli("ledger", "verify", "--store").code == 0


def test_an_obligation_changed_in_the_database_is_named_and_not_netted(
    signed: tuple[Any, str], db: Engine
) -> None:
    cli, period = signed
    ob = _largest_obligation(db)
    before, tampered = ob["amount"], ob["amount"] * 10
    with db.begin() as conn:
        conn.execute(
            update(t.obligations)
            .where(t.obligations.c.id == ob["id"])
            .values(amount=tampered, remaining=tampered)
        )
    r = cli("ledger", "verify", "--store")
    assert r.code == 1
    assert f"obligation {ob['id']}: amount is {tampered} in the store, {before} registered" in r.out
    assert f"obligation {ob['id']}: remaining is {tampered} in the store, {before} registered" in r.out
    assert r.err.count("\n") == 1 and ob["id"] in r.err and "Traceback" not in r.err

    entries = _ledger_size(cli)
    r = cli("net", "run", "--period", period)
    assert r.code == 1
    assert r.err.count("\n") == 1
    assert f"obligation {ob['id']}: amount is {tampered} in the store, {before} registered" in r.err
    # Nothing written: no round, no set-off, no instruction, no entry; the obligations are still open.
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.rounds)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(t.setoffs)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(t.payments)).scalar_one() == 0
        statuses = set(conn.execute(select(t.obligations.c.status)).scalars())
    assert "netted" not in statuses
    assert _ledger_size(cli) == entries

    # Put back as registered, the same round goes through.
    with db.begin() as conn:
        conn.execute(
            update(t.obligations)
            .where(t.obligations.c.id == ob["id"])
            .values(amount=before, remaining=before)
        )
    assert cli("net", "run", "--period", period).code == 0
    assert cli("ledger", "verify", "--store").code == 0


def test_a_payment_instruction_changed_in_the_database_is_not_confirmed(
    signed: tuple[Any, str], db: Engine
) -> None:
    cli, period = signed
    netting = cli("net", "run", "--period", period, "--json").json()
    pay = netting["payments"][0]
    before = Decimal(pay["amount"])
    tampered = before + Decimal("1000.00")
    with db.begin() as conn:
        conn.execute(update(t.payments).where(t.payments.c.id == pay["id"]).values(amount=tampered))

    r = cli("payment", "confirm", pay["id"], "--as", "HUB", "--reference", "BANK-1")
    assert r.code == 1 and r.err.count("\n") == 1
    assert f"payment {pay['id']}: amount is {tampered} in the store, {before} registered" in r.err
    listed = {p["id"]: p for p in cli("payment", "list", "--json").json()}
    assert listed[pay["id"]]["status"] == "pending"

    r = cli("ledger", "verify", "--store")
    assert r.code == 1
    assert f"payment {pay['id']}: amount is {tampered} in the store, {before} registered" in r.out


def test_a_statement_document_changed_in_the_database_is_named(signed: tuple[Any, str], db: Engine) -> None:
    cli, _ = signed
    with db.connect() as conn:
        st = dict(conn.execute(select(t.statements)).mappings().one())
    document = json.loads(st["document"])
    line = document["lines"][0]
    line["agreed_amount"] = str(Decimal(line["agreed_amount"]) * 10)
    forged = json.dumps(document, sort_keys=True, separators=(",", ":"))
    forged_digest = hashlib.sha256(forged.encode()).hexdigest()

    # The document alone: it no longer hashes to its digest.
    with db.begin() as conn:
        conn.execute(update(t.statements).where(t.statements.c.id == st["id"]).values(document=forged))
    r = cli("ledger", "verify", "--store")
    assert r.code == 1
    assert f"statement {st['id']}: its stored document hashes to {forged_digest}" in r.out
    assert f"line {line['service']} agreed_amount" in r.out  # the line rows no longer say what it says

    # Document and digest together: the digest is not the one both parties signed and the ledger registered.
    with db.begin() as conn:
        conn.execute(update(t.statements).where(t.statements.c.id == st["id"]).values(digest=forged_digest))
    r = cli("ledger", "verify", "--store")
    assert r.code == 1
    assert f"statement {st['id']}: digest is {forged_digest} in the store, {st['digest']} registered" in r.out
    assert st["id"] in r.err


def test_a_deleted_setoff_is_named(signed: tuple[Any, str], db: Engine) -> None:
    cli, period = signed
    round_id = cli("net", "run", "--period", period, "--json").json()["round"]
    with db.connect() as conn:
        setoff = dict(conn.execute(select(t.setoffs)).mappings().first() or {})
    assert setoff, "two operators owing each other leave a set-off"
    with db.begin() as conn:
        conn.execute(delete(t.setoffs).where(t.setoffs.c.obligation_id == setoff["obligation_id"]))
    r = cli("ledger", "verify", "--store")
    assert r.code == 1
    subject = f"set-off {round_id}/{setoff['obligation_id']}"
    assert f"{subject}: registered (amount {setoff['amount']}) but missing from the store" in r.out
    assert subject in r.err
