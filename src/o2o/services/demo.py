"""The demo: a generated operator network taken through the whole settlement cycle in a fresh workspace.

Generate → load operators and agreements → keys → import both parties' usage → reconcile → scripted
dispute negotiation (a proposal rejected, split the difference accepted) → both parties sign →
netting round → payments confirmed → period closed → ledger exported and verified from the export.
Once the period is closed, what the reports say is read back from the store through the services (the
round's registered figures, payments, disputes, statement lines, cycles), so they show the final state
and not figures captured mid-run. Every amount total is per currency: none adds GBP to EUR.
The figures are collected into a summary; `write_report` puts it and its tables into `demo-report/`.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from o2o.bootstrap import Workspace
from o2o.domain.money import totals_by_currency
from o2o.netting import DEFAULT_HUB
from o2o.services import disputes as dsp
from o2o.services import registry_data, settlement, statements
from o2o.services.ledger import export_ledger, generate_key, key_path, verify
from o2o.services.period_reconciliation import reconcile_period
from o2o.services.reconciliation import ReconcileReport
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
    ledger: dict[str, Any] = field(default_factory=dict)
    # The final state, read back from the store after the period is closed.
    round: dict[str, Any] = field(default_factory=dict)  # id, mode, state and registered figures
    payments: list[dict[str, Any]] = field(default_factory=list)
    disputes: list[dict[str, Any]] = field(default_factory=list)
    lines: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # statement id → its lines
    cycles: list[dict[str, Any]] = field(default_factory=list)


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
    run.reports = reconcile_period(ws, truth["period"], [ag["id"] for ag in truth["agreements"]])
    lap("reconcile")
    step("negotiating disputes")
    for d in dsp.list_disputes(ws, "open"):
        _negotiate(ws, d.to_dict())
    lap("disputes")
    step("signing statements")
    for report in run.reports:
        for party in _parties(truth, report.agreement_id):
            statements.sign_statement(ws, report.statement_id, party)
    lap("sign")
    step(f"netting ({mode}) and paying")
    round_id = settlement.run_netting(ws, truth["period"], mode).round.id
    for pay in settlement.list_payments(ws, round_id):
        settlement.confirm_payment(ws, pay.id, reference=f"DEMO-{pay.id}", confirmed_by=pay.payee)
    settlement.close_period(ws, truth["period"])
    lap("net_and_pay")
    _read_final_state(ws, run, round_id)
    step("verifying the ledger from its export")
    run.ledger = verify_ledger(ws)
    lap("ledger")
    return run


def verify_ledger(ws: Workspace) -> dict[str, Any]:
    """The workspace's ledger exported into `demo-report/` and verified from the export alone."""
    export = ws.home / "demo-report" / "ledger.jsonl"
    export.parent.mkdir(parents=True, exist_ok=True)
    keys = ws.home / "demo-report" / "public-keys.json"
    export_ledger(ws, export, keys_out=keys)
    audit = verify(None, export=export, keys_file=keys)
    return {"verified": audit.ok, "entries": audit.entries, "root": audit.root_hash,
            "findings": [f.message for f in audit.findings], "export": str(export)}  # fmt: skip


def _read_final_state(ws: Workspace, run: DemoRun, round_id: str) -> None:
    """What the books say once the period is closed: the reports are written from this alone."""
    period = run.truth["period"]
    with ws.uow() as uow:
        rnd = uow.cycles.round(round_id)
    run.round = {"id": rnd.id, "mode": rnd.mode, "state": rnd.state.value, **rnd.figures}
    run.payments = [p.to_dict() for p in settlement.list_payments(ws, round_id)]
    statement_ids = {r.statement_id for r in run.reports}
    run.disputes = [d.to_dict() for d in dsp.list_disputes(ws) if d.dispute.statement_id in statement_ids]
    run.lines = {sid: statements.show_statement(ws, sid).to_dict()["lines"] for sid in sorted(statement_ids)}
    run.cycles = settlement.cycle_status(ws, period)


def _parties(truth: dict[str, Any], agreement_id: str) -> list[str]:
    return next(list(a["parties"]) for a in truth["agreements"] if a["id"] == agreement_id)


def _negotiate(ws: Workspace, d: dict[str, Any]) -> None:
    """The provider asks for its own figure, the customer rejects it and offers to split the difference,
    and the provider accepts."""
    dsp.propose(ws, d["id"], d["provider"], Decimal(d["provider_amount"]), "our CDRs stand")
    dsp.reject(ws, d["id"], d["customer"])
    dsp.propose(ws, d["id"], d["customer"], None)
    dsp.accept(ws, d["id"], d["provider"])


class MatchCounts(Protocol):
    """The record counts of a line's matching that the summary adds up."""

    @property
    def ours(self) -> int: ...
    @property
    def theirs(self) -> int: ...
    @property
    def matched(self) -> int: ...
    @property
    def only_ours(self) -> int: ...
    @property
    def only_theirs(self) -> int: ...


class LineCounts(Protocol):
    @property
    def match(self) -> MatchCounts | None: ...


class ReportCounts(Protocol):
    """What the summary reads of a reconciliation: a `ReconcileReport`, or its figures read from a hub."""

    @property
    def disputes(self) -> tuple[str, ...]: ...
    @property
    def lines(self) -> Sequence[LineCounts]: ...


def summary(run: DemoRun) -> dict[str, Any]:
    """The headline figures of a demo run; amounts per currency, as strings."""
    return summarise(run, run.reports)


def summarise(run: DemoRun, reports: Sequence[ReportCounts]) -> dict[str, Any]:
    """The headline figures of a run whose reconciliations are `reports` (read here or from a hub)."""
    lines = [ln for r in reports for ln in r.lines]
    matches = [ln.match for ln in lines if ln.match is not None]
    resolved = [d for d in run.disputes if d["resolved_amount"] is not None]
    states: dict[str, int] = {}
    for c in run.cycles:
        states[c["state"]] = states.get(c["state"], 0) + 1
    return {
        "period": run.truth["period"],
        "operators": len(run.truth["operators"]),
        "agreements": len(reports),
        "service_lines": len(lines),
        "cdrs_per_side": {
            "provider": sum(m.ours for m in matches),
            "customer": sum(m.theirs for m in matches),
        },
        "records_matched": sum(m.matched for m in matches),
        "records_unmatched": sum(m.only_ours + m.only_theirs for m in matches),
        "reconciliation_seconds": run.seconds.get("reconcile", 0.0),
        "statements_agreed_within_tolerance": sum(1 for r in reports if not r.disputes),
        "statements_disputed": sum(1 for r in reports if r.disputes),
        "disputes": len(run.disputes),
        "amount_contested": _per_currency((d["currency"], d["contested_amount"]) for d in run.disputes),
        # What the resolutions added to the undisputed parts (the lower figures).
        "amount_resolved": _per_currency(
            (
                d["currency"],
                Decimal(d["resolved_amount"])
                - min(Decimal(d["provider_amount"]), Decimal(d["customer_amount"])),
            )
            for d in resolved
        ),
        "netting": {
            cur: _netting_figures(f, [p for p in run.payments if p["currency"] == cur])
            for cur, f in run.round.get("currencies", {}).items()
        },
        "netting_mode": run.round.get("mode"),
        "netting_round": {"id": run.round.get("id"), "state": run.round.get("state")},
        "cycles": dict(sorted(states.items())),
        "ledger": run.ledger,
        "seconds": run.seconds,
    }


def _netting_figures(f: dict[str, Any], payments: list[dict[str, Any]]) -> dict[str, Any]:
    """One currency's round, in the order its figures add up: gross − set_off = remaining, and
    remaining − reduced_by_settlement = money_moved (what the net debtors paid, from the payments as
    stored; in clearing-house mode into the hub, which paid `hub_paid_out` on to the net creditors)."""
    by_operators = [p for p in payments if p["payer"] != DEFAULT_HUB]
    by_hub = [p for p in payments if p["payer"] == DEFAULT_HUB]
    zero = Decimal(f["gross_total"]) * 0  # at the currency's scale
    return {
        "gross_obligations": f["gross_total"],
        "set_off": f["cleared_total"],
        "remaining": f["remaining_total"],
        "reduced_by_settlement": f["reduced_by_settlement"],
        "money_moved": str(sum((Decimal(p["amount"]) for p in by_operators), zero)),
        "hub_paid_out": str(sum((Decimal(p["amount"]) for p in by_hub), zero)),
        "net_internal_debt": f["net_internal_debt"],
        "payments_before": f["obligations_count"],
        "payments_after": len(payments),
        "payments_confirmed": sum(1 for p in payments if p["status"] == "confirmed"),
    }


def _per_currency(amounts: Iterable[tuple[str, Any]]) -> dict[str, str]:
    return {
        cur: str(total) for cur, total in totals_by_currency((c, Decimal(str(a))) for c, a in amounts).items()
    }


def write_report(ws: Workspace, run: DemoRun, figures: dict[str, Any]) -> Path:
    """`demo-report/summary.json` and the tables as CSV, from the final state (`run` after the close)."""
    folder = ws.home / "demo-report"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(json.dumps(figures, indent=2, default=str), encoding="utf-8")
    rows = []
    for r in run.reports:
        stored = {ln["service"]: ln for ln in run.lines[r.statement_id]}
        for ln in r.lines:
            line = stored[ln.service.id]  # the statement's line as signed (after any resolution)
            rows.append(
                {"agreement": r.agreement_id, "service": ln.service.id, "provider": ln.service.provider,
                 "customer": ln.service.customer, "provider_amount": line["provider_amount"],
                 "customer_amount": line["customer_amount"], "agreed_amount": line["agreed_amount"],
                 "disputed_amount": line["disputed_amount"], "outcome": line["outcome"],
                 "matched": ln.match.matched if ln.match else "", "only_ours": ln.match.only_ours if ln.match else "",
                 "only_theirs": ln.match.only_theirs if ln.match else ""}
            )  # fmt: skip
    _csv(folder / "reconciliation.csv", rows)
    _csv(folder / "disputes.csv", run.disputes)
    _csv(folder / "payments.csv", run.payments)
    _csv(folder / "netting.csv", [{"currency": c, **v} for c, v in figures["netting"].items()])
    write_documents(ws, run.truth["period"], folder / "documents")
    return folder


def write_documents(ws: Workspace, period: str, folder: Path) -> None:
    """The period's documents, from the final state, in every format this build writes (PDF when the renderer
    is installed; pain.001 XML when its XSD is, since an unvalidated payment file is never written)."""
    from o2o.services.document_files import available_formats, build_period, pain001_checkable

    formats = [f for f in available_formats() if f != "xml" or pain001_checkable()]
    build_period(ws, period, folder, formats)


def _csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        if not rows:
            return
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
