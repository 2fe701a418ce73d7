"""`o2o demo` end to end on a small network: figures against the generator's truth, the netting checks,
books that balance to zero after settlement, and the ledger verified from its export alone."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any


def test_small_demo_matches_truth_and_verifies(cli: Any, workspace: Path) -> None:
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

    # Netting: set-off plus what remains is the gross; direct payments move exactly the net internal debt.
    assert figures["netting_mode"] == "direct"
    for cur, n in figures["netting"].items():
        assert Decimal(n["money_moved_after"]) == Decimal(n["net_internal_debt"]), cur
        assert Decimal(n["set_off"]) <= Decimal(n["gross_obligations"])
        assert Decimal(n["net_internal_debt"]) <= Decimal(n["gross_obligations"]) - Decimal(n["set_off"])
        assert n["payments_after"] <= n["payments_before"]

    # Every cycle closed, and the books of every pair are back to zero.
    status = cli("cycle", "status", "--json").json()
    assert {c["state"] for c in status} == {"closed"}
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
