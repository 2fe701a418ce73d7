"""What a party signs and what it is owed are one fact each, through the CLI on SQLite and PostgreSQL:
a re-declaration withdraws the statement it changed (a stale statement cannot be signed), a signer may pin
the digest it reviewed, and an amount typed into a dispute is exact in its currency, so the statement, the
obligations and the books show the same figure."""

from __future__ import annotations

import csv
import json
import os
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

import cycle_steps


@pytest.fixture
def declared(db_cli: Any, tmp_path: Path) -> tuple[Any, dict[str, Any]]:
    """A generated two-operator network (GBP), loaded and declared by both parties, with their keys."""
    net, truth, ag = cycle_steps.declared(db_cli, tmp_path, cdrs=400, seed=5)
    return db_cli, {"truth": truth, "agreement": ag, "net": net, "period": truth["period"]}


def _one_line_error(r: Any) -> str:
    assert r.code != 0
    assert r.err.strip().count("\n") == 0 and "Traceback" not in r.err, r.err
    return str(r.err)


def _lines(cli: Any, st_id: str) -> dict[str, dict[str, Any]]:
    return {ln["service"]: ln for ln in cli("statement", "show", st_id, "--json").json()["document"]["lines"]}


def _settle_disputes(cli: Any, disputes: list[str]) -> None:
    for d_id in disputes:
        d = cli("dispute", "show", d_id, "--json").json()
        assert cli("dispute", "propose", d_id, "--as", d["provider"], "--split").code == 0
        assert cli("dispute", "accept", d_id, "--as", d["customer"]).code == 0


def _invoices(cli: Any, parties: list[str], period: str) -> dict[str, Decimal]:
    """The books' invoice per service line (the statement of account of the two parties)."""
    a, b = parties
    r = cli("accounts", "statement", "--between", a, b, "--from", f"{period}-01", "--to", "2099-12-31",
            "--json")  # fmt: skip
    assert r.code == 0, r.err
    out = {}
    for section in r.json()["sections"]:
        for ln in section["lines"]:
            if ln["kind"] == "invoice":
                service = ln["description"].split()[0]
                out[service] = max(Decimal(ln[a]["debit"]), Decimal(ln[a]["credit"]))
    return out


def test_a_redeclaration_withdraws_the_statement_and_a_stale_one_cannot_be_signed(
    declared: tuple[Any, dict[str, Any]], tmp_path: Path
) -> None:
    cli, ctx = declared
    ag, period = ctx["agreement"], ctx["period"]
    a, b = ag["parties"]
    st_id = f"ST-{ag['id']}-{period}"
    (report,) = cli("reconcile", "--agreement", ag["id"], "--period", period, "--json").json()
    _settle_disputes(cli, report["disputes"])
    old = cli("statement", "show", st_id, "--json").json()
    assert cli("statement", "sign", st_id, "--as", a, "--digest", old["digest"]).code == 0

    # A corrects its own usage of a service it provides: ten calls two minutes longer.
    f = next(x for x in ctx["truth"]["files"] if x["declarer"] == a and x["role"] == "provider"
             and x["service"].startswith("voice"))  # fmt: skip
    rows = list(csv.reader((ctx["net"] / f["file"]).read_text().splitlines()))
    for row in rows[1:11]:
        row[5] = str(int(row[5]) + 120)
    corrected = tmp_path / "corrected.csv"
    with corrected.open("w", newline="") as out:
        csv.writer(out).writerows(rows)
    r = cycle_steps.import_usage(cli, corrected, f, period)
    assert r.code == 0, r.err

    # The statement is gone with A's signature; the cycle is declared again; B cannot sign the old figures.
    (cycle,) = cli("cycle", "status", "--period", period, "--json").json()
    assert cycle["state"] == "declared" and cycle["statement"] is None and cycle["signatures"] == []
    err = _one_line_error(cli("statement", "sign", st_id, "--as", b))
    assert st_id in err and "withdrawn" in err
    assert st_id in _one_line_error(cli("statement", "show", st_id))
    export = tmp_path / "ledger.jsonl"
    assert cli("ledger", "export", "--out", export).code == 0
    entries = [json.loads(x)["entry"] for x in export.read_text().splitlines() if '"entry"' in x]
    (withdrawn,) = [e for e in entries if e["kind"] == "statement.withdrawn"]
    assert withdrawn["subject"] == st_id and withdrawn["actor"] == "HUB"
    assert withdrawn["payload"]["digest"] == old["digest"]
    assert [s["operator"] for s in withdrawn["payload"]["signatures"]] == [a]
    assert withdrawn["payload"]["declaration"] == r.out.split(" as ")[1].split(":")[0]

    # Reconciled again: a new digest; the old one is refused, naming both; both sign the new figures.
    (report,) = cli("reconcile", "--agreement", ag["id"], "--period", period, "--json").json()
    _settle_disputes(cli, report["disputes"])
    new = cli("statement", "show", st_id, "--json").json()
    assert new["digest"] != old["digest"] and new["signatures"] == []
    err = _one_line_error(cli("statement", "sign", st_id, "--as", b, "--digest", old["digest"]))
    assert old["digest"] in err and new["digest"] in err
    assert cli("statement", "sign", st_id, "--as", b, "--digest", new["digest"]).code == 0
    done = cli("statement", "sign", st_id, "--as", a, "--digest", new["digest"], "--json").json()
    assert done["complete"] is True
    new_lines, old_lines = _lines(cli, st_id), {ln["service"]: ln for ln in old["document"]["lines"]}
    assert new_lines[f["service"]]["agreed_amount"] != old_lines[f["service"]]["agreed_amount"]
    invoices = _invoices(cli, ag["parties"], period)
    assert invoices == {
        s: Decimal(ln["agreed_amount"]) for s, ln in new_lines.items() if Decimal(ln["agreed_amount"]) > 0
    }
    netting = cli("net", "run", "--period", period, "--json").json()
    assert Decimal(netting["currencies"][ag["currency"]]["gross_total"]) == sum(invoices.values())


def test_a_statement_whose_stored_document_no_longer_hashes_to_its_digest_is_not_signed(
    declared: tuple[Any, dict[str, Any]],
) -> None:
    cli, ctx = declared
    ag, period = ctx["agreement"], ctx["period"]
    st_id = f"ST-{ag['id']}-{period}"
    assert cli("reconcile", "--agreement", ag["id"], "--period", period).code == 0
    digest = cli("statement", "show", st_id, "--json").json()["digest"]
    engine = create_engine(os.environ["O2O_DATABASE_URL"])
    with engine.begin() as conn:
        doc = conn.execute(text("SELECT document FROM statements WHERE id = :i"), {"i": st_id}).scalar_one()
        tampered = doc.replace('"agreed_amount":"', '"agreed_amount":"1', 1)
        conn.execute(text("UPDATE statements SET document = :d WHERE id = :i"), {"d": tampered, "i": st_id})
    engine.dispose()
    err = _one_line_error(cli("statement", "sign", st_id, "--as", ag["parties"][0], "--digest", digest))
    assert st_id in err and digest in err and "hashes to" in err
    assert cli("statement", "show", st_id, "--json").json()["signatures"] == []


def test_a_dispute_amount_finer_than_the_currency_is_refused_and_one_figure_shows_everywhere(
    declared: tuple[Any, dict[str, Any]],
) -> None:
    cli, ctx = declared
    ag, period = ctx["agreement"], ctx["period"]
    provider, customer = ag["parties"]
    st_id = f"ST-{ag['id']}-{period}"
    (report,) = cli("reconcile", "--agreement", ag["id"], "--period", period, "--json").json()
    disputes = [cli("dispute", "show", d, "--json").json() for d in report["disputes"]]
    d = max(disputes, key=lambda x: abs(Decimal(x["provider_amount"]) - Decimal(x["customer_amount"])))
    low, high = sorted((Decimal(d["provider_amount"]), Decimal(d["customer_amount"])))
    tenth = (low + Decimal("0.01")).quantize(Decimal("0.1"), rounding=ROUND_CEILING)
    assert d["currency"] == "GBP" and low < tenth and tenth + Decimal("0.001") < high, (low, high)

    # Three decimals of GBP (inside the two figures, so only the minor unit refuses it).
    finer = f"{tenth}01"
    err = _one_line_error(cli("dispute", "propose", d["id"], "--as", customer, "--amount", finer))
    assert "--amount" in err and finer in err and "GBP" in err
    assert cli("dispute", "show", d["id"], "--json").json()["proposals"] == []

    # One decimal is exact in GBP: it stands as the two-decimal figure everywhere.
    assert cli("dispute", "propose", d["id"], "--as", customer, "--amount", str(tenth)).code == 0
    resolved = cli("dispute", "accept", d["id"], "--as", provider, "--json").json()
    figure = f"{tenth:.2f}"
    assert resolved["resolved_amount"] == figure and resolved["proposals"][-1]["amount"] == figure
    _settle_disputes(cli, [x["id"] for x in disputes if x["id"] != d["id"]])
    shown = cli("statement", "show", st_id, "--json").json()
    (row,) = [ln for ln in shown["lines"] if ln["service"] == d["service"]]
    (doc,) = [ln for ln in shown["document"]["lines"] if ln["service"] == d["service"]]
    assert doc["agreed_amount"] == row["agreed_amount"] == figure
    for op in (provider, customer):
        assert cli("statement", "sign", st_id, "--as", op).code == 0
    assert str(_invoices(cli, ag["parties"], period)[d["service"]]) == figure
    # The provider's balance with the customer is the statement's lines, each as signed.
    (balance,) = [r for r in cli("accounts", "balances", "--json").json()
                  if r["owner"] == d["provider"] and r["counterparty"] == d["customer"]]  # fmt: skip
    signed = {ln["service"]: Decimal(ln["agreed_amount"]) for ln in shown["document"]["lines"]}
    sign = {ln["service"]: 1 if ln["provider"] == d["provider"] else -1 for ln in shown["lines"]}
    assert Decimal(balance["balance"]) == sum(sign[s] * v for s, v in signed.items())


def test_a_line_rated_finer_than_the_currency_is_signed_and_owed_at_one_figure(
    db_cli: Any, network: Path, tmp_path: Path
) -> None:
    """An agreement that rates lines to 4 decimals: 3 SMS at 0.005 EUR rate to 0.0150, owed as 0.02 (its
    half-up rule), and the statement both parties sign says 0.02 like the obligation and the books."""
    agreement = network / "AG-ALFA-BETA.toml"
    toml = agreement.read_text().replace("[[parties]]", "[rounding]\nline_decimals = 4\n\n[[parties]]", 1)
    agreement.write_text(toml)
    assert db_cli("operator", "add", "--file", network / "operators.toml").code == 0
    assert db_cli("agreement", "load", agreement).code == 0
    voice = tmp_path / "voice.csv"
    voice.write_text("record_id,a_number,b_number,start_time,duration_s\n"
                     "v1,+4930123,+447700900123,2026-10-01T12:00:05Z,60\n")  # fmt: skip
    sms = tmp_path / "sms.csv"
    sms.write_text("record_id,a_number,b_number,start_time,duration_s,volume\n" + "".join(
        f"s{i},+447700900123,+4930123456{i},2026-10-0{i}T12:00:05Z,0,1\n" for i in range(1, 4)))  # fmt: skip
    for op in ("ALFA", "BETA"):
        assert db_cli("keys", "generate", op).code == 0
        for path, service in ((voice, "voice-ALFA"), (sms, "sms-BETA")):
            f = {"agreement": "AG-ALFA-BETA", "declarer": op, "service": service}
            assert cycle_steps.import_usage(db_cli, path, f, "2026-10").code == 0
    (report,) = db_cli("reconcile", "--period", "2026-10", "--json").json()
    (line,) = [ln for ln in report["lines"] if ln["service"] == "sms-BETA"]
    assert (line["provider_amount"], line["agreed_amount"]) == ("0.0150", "0.02")
    st_id = report["statement"]
    shown = db_cli("statement", "show", st_id, "--json").json()
    assert "half_up" in shown["document"]["rounding"]
    (row,) = [ln for ln in shown["lines"] if ln["service"] == "sms-BETA"]
    (doc,) = [ln for ln in shown["document"]["lines"] if ln["service"] == "sms-BETA"]
    assert doc["agreed_amount"] == str(row["agreed_amount"]) == "0.02"
    for op in ("ALFA", "BETA"):
        assert db_cli("statement", "sign", st_id, "--as", op, "--digest", shown["digest"]).code == 0
    assert _invoices(db_cli, ["ALFA", "BETA"], "2026-10") == {"sms-BETA": Decimal("0.02"),
                                                               "voice-ALFA": Decimal("0.01")}  # fmt: skip
    netting = db_cli("net", "run", "--period", "2026-10", "--json").json()
    assert netting["currencies"]["EUR"]["gross_total"] == "0.03"
