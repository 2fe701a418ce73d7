"""The demo: a generated operator network taken through the whole settlement cycle in a fresh workspace.

Generate → load operators and agreements → keys → import both parties' usage → reconcile → scripted
dispute negotiation (a proposal rejected, split the difference accepted) → both parties sign →
netting round → payments confirmed → period closed → ledger exported and verified from the export.
The figures are collected into a summary; `write_report` puts it and its tables into `demo-report/`.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from o2o.bootstrap import Workspace
from o2o.domain.money import ZERO
from o2o.services import disputes as dsp
from o2o.services import registry_data, settlement, statements
from o2o.services.ledger import export_ledger, generate_key, key_path, verify
from o2o.services.reconciliation import ReconcileReport, reconcile_agreement
from o2o.services.usage import import_usage
from o2o.synth.generator import generate_network
from o2o.synth.options import SynthOptions

Step = Callable[[str], None]


@dataclass
class DemoRun:
    """What the demo did and measured."""

    network: Path
    truth: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)
    reports: list[ReconcileReport] = field(default_factory=list)
    disputes: list[dict[str, Any]] = field(default_factory=list)
    netting: dict[str, Any] = field(default_factory=dict)
    ledger: dict[str, Any] = field(default_factory=dict)


def run_demo(ws: Workspace, network: Path, opts: SynthOptions, mode: str, step: Step) -> DemoRun:
    """Run the whole cycle on a generated network; `step` reports progress."""
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        run.seconds[name] = round(now - clock, 2)
        clock = now

    step(f"generating {opts.operators} operators, {opts.cdrs:,} calls")
    truth = generate_network(opts, network, force=True).truth
    run = DemoRun(network, truth)
    lap("generate")
    step("loading operators, agreements and keys")
    registry_data.add_operators_file(ws, network / "operators.toml")
    for ag in truth["agreements"]:
        registry_data.load_agreement(ws, network / ag["file"])
    for op in [o.id for o in registry_data.list_operators(ws)] + ["HUB"]:
        if not key_path(ws, op).exists():
            generate_key(ws, op)
    lap("load")
    step(f"importing {len(truth['files'])} usage files")
    # Two at a time: a small file's import is mostly single-threaded set-up, and commits take turns.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="demo-import") as pool:
        list(pool.map(lambda f: import_usage(ws, network / f["file"], f["agreement"], truth["period"],
                                             f["declarer"], f["service"]), truth["files"]))  # fmt: skip
    lap("import")
    step("reconciling every agreement")
    run.reports = [reconcile_agreement(ws, ag["id"], truth["period"]) for ag in truth["agreements"]]
    lap("reconcile")
    step("negotiating disputes")
    run.disputes = [_negotiate(ws, d) for d in dsp.list_disputes(ws, "open")]
    lap("disputes")
    step("signing statements")
    for report in run.reports:
        for party in _parties(truth, report.agreement_id):
            statements.sign_statement(ws, report.statement_id, party)
    lap("sign")
    step(f"netting ({mode}) and paying")
    run.netting = settlement.run_netting(ws, truth["period"], mode)
    for pay in run.netting["payments"]:
        settlement.confirm_payment(ws, pay["id"], reference=f"DEMO-{pay['id']}", confirmed_by=pay["payee"])
    settlement.close_period(ws, truth["period"])
    lap("net_and_pay")
    step("verifying the ledger from its export")
    export = ws.home / "demo-report" / "ledger.jsonl"
    export.parent.mkdir(parents=True, exist_ok=True)
    keys = ws.home / "demo-report" / "public-keys.json"
    export_ledger(ws, export, keys_out=keys)
    audit = verify(None, export=export, keys_file=keys)
    run.ledger = {"verified": audit.ok, "entries": audit.entries, "root": audit.root_hash,
                  "findings": [f.message for f in audit.findings], "export": str(export)}  # fmt: skip
    lap("ledger")
    return run


def _parties(truth: dict[str, Any], agreement_id: str) -> list[str]:
    return next(list(a["parties"]) for a in truth["agreements"] if a["id"] == agreement_id)


def _negotiate(ws: Workspace, d: dict[str, Any]) -> dict[str, Any]:
    """The provider asks for its own figure, the customer rejects it and offers to split the difference,
    and the provider accepts."""
    dsp.propose(ws, d["id"], d["provider"], Decimal(d["provider_amount"]), "our CDRs stand")
    dsp.reject(ws, d["id"], d["customer"])
    dsp.propose(ws, d["id"], d["customer"], None)
    resolved = dsp.accept(ws, d["id"], d["provider"])
    return {**d, "resolved_amount": resolved["resolved_amount"], "state": resolved["state"]}


def summary(run: DemoRun) -> dict[str, Any]:
    """The headline figures of a demo run."""
    lines = [ln for r in run.reports for ln in r.lines]
    matches = [ln.match for ln in lines if ln.match is not None]
    currencies = run.netting.get("currencies", {})
    return {
        "period": run.truth["period"],
        "operators": len(run.truth["operators"]),
        "agreements": len(run.reports),
        "service_lines": len(lines),
        "cdrs_per_side": {
            "provider": sum(m.ours for m in matches),
            "customer": sum(m.theirs for m in matches),
        },
        "records_matched": sum(m.matched for m in matches),
        "records_unmatched": sum(m.only_ours + m.only_theirs for m in matches),
        "reconciliation_seconds": run.seconds.get("reconcile", 0.0),
        "statements_agreed_within_tolerance": sum(1 for r in run.reports if not r.disputes),
        "statements_disputed": sum(1 for r in run.reports if r.disputes),
        "disputes": len(run.disputes),
        "amount_contested": _sum(d["contested_amount"] for d in run.disputes),
        # What the resolutions added to the undisputed parts (the lower figures).
        "amount_resolved": _sum(
            Decimal(str(d["resolved_amount"]))
            - min(Decimal(str(d["provider_amount"])), Decimal(str(d["customer_amount"])))
            for d in run.disputes
            if d["resolved_amount"] is not None
        ),
        "netting": {
            cur: {
                "gross_obligations": f["gross_total"],
                "set_off": f["cleared_total"],
                "net_internal_debt": f["net_internal_debt"],
                "money_moved_before": f["gross_total"],
                "money_moved_after": str(
                    _sum(p["amount"] for p in run.netting["payments"] if p["currency"] == cur)
                ),
                "payments_before": f["obligations_count"],
                "payments_after": f["payments_count"],
            }
            for cur, f in currencies.items()
        },
        "netting_mode": run.netting.get("mode"),
        "ledger": run.ledger,
        "seconds": run.seconds,
    }


def _sum(values: Any) -> Decimal:
    return sum((Decimal(str(v)) for v in values if v is not None), ZERO)


def write_report(ws: Workspace, run: DemoRun, figures: dict[str, Any]) -> Path:
    """`demo-report/summary.json` and the tables as CSV."""
    folder = ws.home / "demo-report"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(json.dumps(figures, indent=2, default=str), encoding="utf-8")
    _csv(folder / "reconciliation.csv", [
        {"agreement": r.agreement_id, "service": ln.service.id, "provider": ln.service.provider,
         "customer": ln.service.customer, "provider_amount": ln.verdict.provider_amount,
         "customer_amount": ln.verdict.customer_amount, "agreed_amount": ln.agreed_amount,
         "disputed_amount": ln.disputed_amount, "outcome": ln.verdict.outcome.value,
         "matched": ln.match.matched if ln.match else "", "only_ours": ln.match.only_ours if ln.match else "",
         "only_theirs": ln.match.only_theirs if ln.match else ""}
        for r in run.reports for ln in r.lines
    ])  # fmt: skip
    _csv(folder / "disputes.csv", run.disputes)
    _csv(folder / "payments.csv", run.netting.get("payments", []))
    _csv(folder / "netting.csv", [{"currency": c, **v} for c, v in figures["netting"].items()])
    return folder


def _csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        if not rows:
            return
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
