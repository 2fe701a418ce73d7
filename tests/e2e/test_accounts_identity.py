"""Every change to the books has an identity and is registered, through the CLI on SQLite and PostgreSQL:
who may post or reverse by hand, no posting into a closed period, each manual posting and reversal on
the ledger, and who confirmed a payment under which bank reference."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

GAMA = textwrap.dedent(
    """
    [[operators]]
    id = "GAMA"
    name = "Gama Telecom SA"
    currency = "EUR"
    country_code = "33"
    """
)


def _pay(cli: Any, actor: str, *extra: str, amount: str = "40.00", on: str = "2026-02-10") -> Any:
    return cli("accounts", "post", "payment", "--id", "PAY-H1", "--payer", "BETA", "--payee", "ALFA",
               "--amount", amount, "--currency", "EUR", "--date", on, "--actor", actor, *extra)  # fmt: skip


def _entries(cli: Any, out: Path) -> list[dict[str, Any]]:
    """Every ledger entry, as `ledger export` writes it."""
    r = cli("ledger", "export", "--out", out, "--json")
    assert r.code == 0, r.err
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return [line["entry"] for line in lines if "entry" in line]


def _one_line_error(r: Any, *parts: str) -> None:
    assert r.code == 1, r.out
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err, r.err
    for part in parts:
        assert part in r.err, r.err


def test_a_posting_by_hand_needs_a_known_actor_who_is_a_party_or_the_hub(loaded: Any, tmp_path: Path) -> None:
    (tmp_path / "gama.toml").write_text(GAMA)
    assert loaded("operator", "add", "--file", tmp_path / "gama.toml").code == 0
    _one_line_error(_pay(loaded, "MALLORY"), "--actor 'MALLORY' is not a known operator or HUB")
    _one_line_error(_pay(loaded, "GAMA"), "--actor GAMA may not post payment/PAY-H1", "ALFA and BETA or HUB")
    _one_line_error(_pay(loaded, "BETA", amount="1.234"), "--amount: 1.234 EUR has more decimals")
    (tmp_path / "opening.csv").write_text(
        "creditor,debtor,amount,currency,date\nALFA,BETA,10.00,EUR,2025-12-31\n"
    )
    _one_line_error(
        loaded("accounts", "opening", tmp_path / "opening.csv", "--actor", "MALLORY"), "'MALLORY'"
    )
    _one_line_error(
        loaded("accounts", "opening", tmp_path / "opening.csv", "--actor", "GAMA"), "opening.csv: line 2:"
    )
    assert loaded("accounts", "balances", "--json").json() == []  # nothing refused was booked

    r = _pay(loaded, "BETA", "--json")  # the payer puts its own payment on record
    assert r.code == 0, r.err
    (paid,) = r.json()
    _one_line_error(
        loaded("accounts", "reverse", str(paid["id"]), "--reason", "typo", "--actor", "NOBODY"),
        "--actor 'NOBODY' is not a known operator or HUB",
    )
    _one_line_error(
        loaded("accounts", "reverse", str(paid["id"]), "--reason", "typo", "--actor", "GAMA"), "may not post"
    )
    r = loaded("accounts", "reverse", str(paid["id"]), "--reason", "typo", "--actor", "ALFA", "--json")
    assert r.code == 0, r.err
    balances = loaded("accounts", "balances", "--operator", "ALFA", "--json").json()
    assert [b["balance"] for b in balances] == ["0.00"]


def test_every_posting_and_reversal_by_hand_is_registered_on_the_ledger(loaded: Any, tmp_path: Path) -> None:
    (tmp_path / "opening.csv").write_text(
        "creditor,debtor,amount,currency,date\nALFA,BETA,10.00,EUR,2025-12-31\n"
    )
    r = loaded("accounts", "opening", tmp_path / "opening.csv", "--json")
    assert r.code == 0, r.err
    (opening,) = r.json()
    before = loaded("ledger", "verify", "--json").json()["entries"]
    r = _pay(loaded, "BETA", "--json")
    assert r.code == 0, r.err
    (paid,) = r.json()
    assert _pay(loaded, "BETA").code == 0  # a retry books nothing new and registers nothing new
    r = loaded("accounts", "reverse", str(paid["id"]), "--reason", "paid twice", "--actor", "HUB", "--json")
    assert r.code == 0, r.err
    (reversal,) = r.json()
    verified = loaded("ledger", "verify", "--json").json()
    assert verified["ok"] is True and verified["entries"] == before + 2

    entries = _entries(loaded, tmp_path / "ledger.jsonl")
    assert [e["kind"] for e in entries if e["kind"].startswith("accounts.")] == [
        "accounts.posted",
        "accounts.posted",
        "accounts.reversed",
    ]

    by_subject = {e["subject"]: e for e in entries}
    posted = by_subject[f"transfer/{paid['id']}"]
    assert posted["kind"] == "accounts.posted" and posted["actor"] == "HUB"
    assert posted["payload"] == {
        "transfer": paid["id"], "key": "payment/PAY-H1", "kind": "payment", "document": "PAY-H1",
        "debit": "BETA", "credit": "ALFA", "amount": "40.00", "currency": "EUR", "value_date": "2026-02-10",
        "booking_date": paid["booking_date"], "due_date": None, "actor": "BETA",
    }  # fmt: skip
    reversed_ = by_subject[f"transfer/{reversal['id']}"]
    assert reversed_["kind"] == "accounts.reversed"
    assert reversed_["payload"]["reverses"] == paid["id"] and reversed_["payload"]["reason"] == "paid twice"
    assert (reversed_["payload"]["debit"], reversed_["payload"]["actor"]) == ("ALFA", "HUB")
    carried = by_subject[f"transfer/{opening['id']}"]["payload"]
    assert (carried["kind"], carried["actor"], carried["file"], carried["line"]) == (
        "opening",
        "HUB",
        "opening.csv",
        2,
    )


@pytest.fixture
def netted(db_cli: Any, tmp_path: Path) -> tuple[Any, dict[str, Any]]:
    """A generated two-operator network taken through reconciliation, signatures and direct netting."""
    net = tmp_path / "net"
    r = db_cli("generate", "--operators", "2", "--cdrs", "400", "--seed", "11", "--out", net, "--json")
    assert r.code == 0, r.err
    truth = json.loads((net / "truth.json").read_text())
    assert db_cli("operator", "add", "--file", net / "operators.toml").code == 0
    (ag,) = truth["agreements"]
    assert db_cli("agreement", "load", net / ag["file"]).code == 0
    for op in ag["parties"]:
        assert db_cli("keys", "generate", op).code == 0
    period = truth["period"]
    for f in truth["files"]:
        r = db_cli("usage", "import", net / f["file"], "--agreement", f["agreement"], "--period", period,
                   "--declarer", f["declarer"], "--service", f["service"])  # fmt: skip
        assert r.code == 0, r.err
    (report,) = db_cli("reconcile", "--agreement", ag["id"], "--period", period, "--json").json()
    for d_id in report["disputes"]:
        d = db_cli("dispute", "show", d_id, "--json").json()
        assert db_cli("dispute", "propose", d_id, "--as", d["provider"], "--split").code == 0
        assert db_cli("dispute", "accept", d_id, "--as", d["customer"]).code == 0
    for op in ag["parties"]:
        r = db_cli("statement", "sign", f"ST-{ag['id']}-{period}", "--as", op)
        assert r.code == 0, r.err
    r = db_cli("net", "run", "--period", period, "--mode", "direct", "--json")
    assert r.code == 0, r.err
    assert r.json()["payments"], "the generated network leaves a payment to make"
    return db_cli, {"period": period, "agreement": ag["id"], "parties": ag["parties"],
                    "payments": r.json()["payments"]}  # fmt: skip


def test_payment_confirmation_names_the_creditor_or_hub_and_the_bank_reference(
    netted: tuple[Any, dict[str, Any]], tmp_path: Path
) -> None:
    cli, ctx = netted
    pay, *others = ctx["payments"]
    _one_line_error(
        cli("payment", "confirm", pay["id"], "--as", pay["payer"], "--reference", "BANK-7"),
        f"confirmed as {pay['payer']}, who may not confirm it; only its payee {pay['payee']} (the creditor) or HUB",
    )
    _one_line_error(
        cli("payment", "confirm", pay["id"], "--as", pay["payee"], "--reference", " "), "--reference"
    )
    r = cli("payment", "confirm", pay["id"], "--as", pay["payee"], "--reference", "BANK-7", "--json")
    assert r.code == 0, r.err
    for other in others:
        assert cli("payment", "confirm", other["id"], "--as", "HUB", "--reference", "BANK-8").code == 0
    listed = {p["id"]: p for p in cli("payment", "list", "--json").json()}
    assert (listed[pay["id"]]["status"], listed[pay["id"]]["confirmed_by"]) == ("confirmed", pay["payee"])
    assert listed[pay["id"]]["reference"] == "BANK-7"
    assert all(listed[o["id"]]["confirmed_by"] == "HUB" for o in others)
    confirmed = next(e for e in _entries(cli, tmp_path / "l.jsonl") if e["kind"] == "payment.confirmed")
    assert (confirmed["payload"]["confirmed_by"], confirmed["payload"]["reference"]) == (
        pay["payee"],
        "BANK-7",
    )


def test_a_closed_period_takes_no_posting_and_is_corrected_in_an_open_one(
    netted: tuple[Any, dict[str, Any]], tmp_path: Path
) -> None:
    cli, ctx = netted
    period, (a, b) = ctx["period"], ctx["parties"]
    for pay in ctx["payments"]:
        assert cli("payment", "confirm", pay["id"], "--as", "HUB", "--reference", "BANK-1").code == 0
    assert cli("period", "close", period).code == 0
    st = cli("accounts", "statement", "--between", a, b, "--from", f"{period}-01", "--to", "2099-12-31",
             "--json").json()  # fmt: skip
    invoice = next(ln for sec in st["sections"] for ln in sec["lines"] if ln["kind"] == "invoice")
    assert invoice["document"] == f"ST-{ctx['agreement']}-{period}"  # booked on the next period's first day
    tid = str(invoice["transfer_id"])

    _one_line_error(cli("accounts", "reverse", tid, "--reason", "x", "--actor", "NOBODY"), "'NOBODY'")
    _one_line_error(
        cli("accounts", "reverse", tid, "--reason", "rated twice", "--actor", "HUB"),
        f"transfer {tid} belongs to closed period {period}: reverse it with --date in an open period",
    )
    _one_line_error(
        cli("accounts", "post", "payment", "--id", "LATE-1", "--payer", b, "--payee", a, "--amount", "1.00",
            "--currency", "EUR", "--date", f"{period}-15", "--actor", "HUB"),
        f"payment/LATE-1: value date {period}-15 is in closed period {period}",
    )  # fmt: skip
    r = cli("accounts", "post", "invoice", "--statement", invoice["document"], "--service", "extra",
            "--provider", a, "--customer", b, "--amount", "1.00", "--currency", "EUR", "--date", "2099-01-01",
            "--actor", a)  # fmt: skip
    _one_line_error(r, f"document {invoice['document']} is in closed period {period}")
    later = cli("cycle", "status", "--json").json()  # nothing moved
    assert [c["state"] for c in later] == ["closed"]

    year, month = map(int, period.split("-"))
    next_day = f"{year + month // 12:04d}-{month % 12 + 1:02d}-01"
    r = cli(
        "accounts", "reverse", tid, "--reason", "rated twice", "--actor", "HUB", "--date", next_day, "--json"
    )
    assert r.code == 0, r.err
    (correction,) = r.json()
    assert (correction["reverses"], correction["value_date"]) == (int(tid), next_day)
    entry = next(
        e for e in _entries(cli, tmp_path / "l.jsonl") if e["subject"] == f"transfer/{correction['id']}"
    )
    assert entry["kind"] == "accounts.reversed" and entry["payload"]["value_date"] == next_day
