"""`o2o demo` end to end on a small network, on SQLite and PostgreSQL: figures against the generator's
truth, the netting figures adding up, every amount total per currency, reports written from the final
state (what `payment list`, `dispute list`, `statement show` and `cycle status` say after the run), books
that balance to zero after settlement, and the ledger verified from its export alone."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any


def test_small_demo_matches_truth_and_verifies(db_cli: Any, workspace: Path) -> None:
    cli = db_cli
    r = cli("demo", "--operators", "4", "--cdrs", "6000", "--seed", "11", "--json")
    assert r.code == 0, r.err
    figures = r.json()
    truth = json.loads((workspace / "demo-network" / "truth.json").read_text())

    totals = truth["totals"]
    assert figures["records_matched"] == totals["matched"]
    assert figures["cdrs_per_side"] == {"provider": totals["ours"], "customer": totals["theirs"]}
    assert figures["records_unmatched"] == totals["only_ours"] + totals["only_theirs"]
    assert figures["agreements"] == len(truth["agreements"])
    assert figures["statements_agreed_within_tolerance"] + figures["statements_disputed"] == len(
        truth["agreements"]
    )

    # Each service line's matching equals the planted truth.
    report = workspace / "demo-report"
    for rec in truth["reconciliations"]:
        row = next(x for x in _read_csv(report / "reconciliation.csv") if x["service"] == rec["service"])
        assert int(row["matched"]) == rec["matched"]
        assert int(row["only_ours"]) == rec["only_ours"]
        assert int(row["only_theirs"]) == rec["only_theirs"]

    # Netting: the figures add up (gross − set off = remaining; remaining − reduction = money moved), and
    # direct payments move exactly the net internal debt.
    assert figures["netting_mode"] == "direct"
    for cur, n in figures["netting"].items():
        gross, set_off, remaining = (Decimal(n[k]) for k in ("gross_obligations", "set_off", "remaining"))
        assert gross - set_off == remaining, cur
        assert remaining - Decimal(n["reduced_by_settlement"]) == Decimal(n["money_moved"]), cur
        assert Decimal(n["money_moved"]) == Decimal(n["net_internal_debt"]), cur
        assert Decimal(n["hub_paid_out"]) == 0, cur
        assert n["payments_after"] <= n["payments_before"]
    assert _read_csv(report / "netting.csv") == [
        {"currency": cur, **{k: str(v) for k, v in n.items()}} for cur, n in figures["netting"].items()
    ]

    # Every amount total is per currency: the network's disputes are in EUR and in GBP.
    disputes = cli("dispute", "list", "--json").json()
    assert figures["disputes"] == len(disputes)
    contested: dict[str, Decimal] = {}
    for d in disputes:
        contested[d["currency"]] = contested.get(d["currency"], Decimal(0)) + Decimal(d["contested_amount"])
    assert len(contested) >= 2
    assert {cur: Decimal(x) for cur, x in figures["amount_contested"].items()} == contested
    assert set(figures["amount_resolved"]) == set(contested)
    assert [(x["id"], x["state"]) for x in _read_csv(report / "disputes.csv")] == [
        (d["id"], "resolved") for d in disputes
    ]

    # Reports are written from the final state: every payment confirmed with its reference, as listed.
    payments = cli("payment", "list", "--json").json()
    assert payments and {p["status"] for p in payments} == {"confirmed"}
    assert [(x["id"], x["amount"], x["currency"], x["status"], x["reference"]) for x in
            _read_csv(report / "payments.csv")] == [
        (p["id"], str(p["amount"]), p["currency"], "confirmed", f"DEMO-{p['id']}") for p in payments
    ]  # fmt: skip
    for cur, n in figures["netting"].items():
        in_cur = [p for p in payments if p["currency"] == cur]
        assert Decimal(n["money_moved"]) == sum((Decimal(p["amount"]) for p in in_cur), Decimal(0)), cur
        assert n["payments_after"] == n["payments_confirmed"] == len(in_cur), cur
    # The statement lines as signed: a resolved dispute's line shows its resolution.
    for row in _read_csv(report / "reconciliation.csv"):
        if row["outcome"] == "resolved":
            shown = cli("statement", "show", f"ST-{row['agreement']}-{figures['period']}", "--json").json()
            line = next(x for x in shown["lines"] if x["service"] == row["service"])
            assert (row["agreed_amount"], row["disputed_amount"]) == (
                str(line["agreed_amount"]),
                str(line["disputed_amount"]),
            )
    assert any(row["outcome"] == "resolved" for row in _read_csv(report / "reconciliation.csv"))

    # Every cycle closed, and the books of every pair are back to zero.
    status = cli("cycle", "status", "--json").json()
    assert {c["state"] for c in status} == {"closed"}
    assert figures["cycles"] == {"closed": len(status)}
    gross: dict[str, Decimal] = {}
    for c in status:
        for cur, amount in c["obligations_amount"].items():
            gross[cur] = gross.get(cur, Decimal(0)) + Decimal(amount)
    assert gross == {cur: Decimal(n["gross_obligations"]) for cur, n in figures["netting"].items()}
    balances = cli("accounts", "balances", "--json").json()
    assert balances and all(Decimal(b["balance"]) == 0 for b in balances)

    # An auditor verifies the export with only the export and the public keys.
    assert figures["ledger"]["verified"] is True
    audit = cli(
        "ledger",
        "verify",
        "--export",
        report / "ledger.jsonl",
        "--keys",
        report / "public-keys.json",
        "--json",
    )
    assert audit.code == 0, audit.err
    assert audit.json()["ok"] is True
    assert audit.json()["entries"] == figures["ledger"]["entries"]
    for name in ("summary.json", "reconciliation.csv", "payments.csv", "netting.csv"):
        assert (report / name).is_file()


def _read_csv(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
