"""The period report: what the month took and what it saved, from the store's final state.

Records processed (active declarations' rows) and matched (the signed statements' evidence), discrepancies
(service lines whose two figures differ) and their value, disputes and how they ended, the time from the last
declaration to the last signature, and per currency from the period's netting rounds: gross obligations, set
off, money moved, payments before and after netting, liquidity freed (gross − money moved). The analyst hours
saved are an estimate from a stated model (`HoursModel`: minutes per manual reconciliation, per dispute, per
document), printed beside its assumptions. Every amount is per currency, never summed across. Last, where the
period is registered and the registries compared (`registry_report`).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from o2o.bootstrap import Workspace
from o2o.documents.model import (
    Cell,
    CellKind,
    ChartSeries,
    Column,
    Document,
    DocumentKind,
    Fact,
    Section,
    Table,
    Total,
)
from o2o.domain.errors import NotFoundError, ValidationError
from o2o.domain.periods import Period
from o2o.netting import DEFAULT_HUB
from o2o.services.documents import zero
from o2o.store.uow import UnitOfWork

# The hours model's default assumptions, in analyst minutes: one service line of one agreement reconciled by
# hand (both sides' files compared), one dispute (evidence gathered, proposals exchanged, resolution recorded),
# one document (a statement, invoice, act or payment order prepared, checked and sent).
MINUTES_PER_RECONCILIATION = 240
MINUTES_PER_DISPUTE = 120
MINUTES_PER_DOCUMENT = 15


@dataclass(frozen=True, slots=True)
class HoursModel:
    """What the work would take by hand, in analyst minutes (defaults are assumptions, not measurements:
    set them to a team's own figures)."""

    minutes_per_reconciliation: int = MINUTES_PER_RECONCILIATION
    minutes_per_dispute: int = MINUTES_PER_DISPUTE
    minutes_per_document: int = MINUTES_PER_DOCUMENT

    def __post_init__(self) -> None:
        for name in ("minutes_per_reconciliation", "minutes_per_dispute", "minutes_per_document"):
            if getattr(self, name) < 0:
                raise ValidationError(f"--{name.replace('_', '-')} must not be negative")

    def hours(self, reconciliations: int, disputes: int, documents: int) -> Decimal:
        minutes = (
            reconciliations * self.minutes_per_reconciliation
            + disputes * self.minutes_per_dispute
            + documents * self.minutes_per_document
        )
        return (Decimal(minutes) / 60).quantize(Decimal("0.1"))


def period_report(
    ws: Workspace, period: str, model: HoursModel | None = None, documents: int = 0
) -> Document:
    """The period report; `documents`: how many other documents of the period were produced (for the model)."""
    per = str(Period.parse(period))
    with ws.uow() as uow:
        if not uow.cycles.cycles(per):
            raise NotFoundError(f"period {per} has no cycles")
        report = _report(uow, per, model or HoursModel(), documents)
        from o2o.services.registry_report import registry_section

        registry = registry_section(ws, uow, per)
    return replace(report, sections=(*report.sections, registry))


def _report(uow: UnitOfWork, per: str, model: HoursModel, documents: int) -> Document:
    repo = uow.cycles
    statements = [s for c in repo.cycles(per) if (s := repo.statement_of(c.agreement_id, c.period))]
    lines = [(st, ln) for st in statements for ln in repo.lines(st.id)]
    declarations = uow.declarations.all(period=per)
    matched = unmatched = 0
    for st in statements:
        for ev in json.loads(st.evidence).values():
            m = ev.get("match") if isinstance(ev, dict) else None
            if m:
                matched += int(m["matched"])
                unmatched += int(m["only_ours"]) + int(m["only_theirs"])
    differing = [(st, ln) for st, ln in lines if ln.provider_amount != ln.customer_amount]
    disputes = repo.disputes(period=per)
    last_declared = max((d.created_at for d in declarations), default=None)
    signed_at = [s.signed_at for st in statements for s in repo.signatures(st.id) if s.signed_at is not None]
    last_signed = max(signed_at, default=None)
    work = Section("work", "Work done", (
        Fact("records", "Records processed (both parties' declarations)", str(sum(d.totals.rows for d in declarations))),
        Fact("rejected", "Records rejected on import", str(sum(d.totals.rejected for d in declarations))),
        Fact("matched", "Records matched (pairs)", str(matched)),
        Fact("unmatched", "Records on one side only", str(unmatched)),
        Fact("statements", "Statements", str(len(statements))),
        Fact("signed", "Statements signed by both parties", str(sum(1 for s in statements if s.state.value == "signed"))),
        Fact("service_lines", "Service lines reconciled", str(len(lines))),
        Fact("discrepancies", "Service lines whose two figures differ", str(len(differing))),
        Fact("time_to_sign", "From last declaration to last signature", _elapsed(last_declared, last_signed)),
    ))  # fmt: skip
    currencies = sorted({st.currency for st in statements})
    disc_rows = []
    for cur in currencies:
        mine = [(st, ln) for st, ln in differing if st.currency == cur]
        value = sum((abs(ln.provider_amount - ln.customer_amount) for _, ln in mine), zero(cur))
        over = sum(1 for _, ln in mine if ln.outcome.value != "agreed")
        disc_rows.append((cur, len(mine), over, value))
    disc = Table("discrepancies", "Discrepancies by currency", (
        Column("currency", "Currency", CellKind.TEXT),
        Column("lines", "Lines differing", CellKind.INTEGER),
        Column("over_tolerance", "Over tolerance", CellKind.INTEGER),
        Column("value", "Value of differences", CellKind.AMOUNT, "currency"),
    ), tuple(disc_rows))  # fmt: skip
    dispute_table = Table("disputes", "Disputes and how they ended", (
        Column("dispute", "Dispute", CellKind.TEXT), Column("statement", "Statement", CellKind.TEXT),
        Column("service", "Service", CellKind.TEXT), Column("currency", "Currency", CellKind.TEXT),
        Column("provider_amount", "Provider's figure", CellKind.AMOUNT, "currency"),
        Column("customer_amount", "Customer's figure", CellKind.AMOUNT, "currency"),
        Column("contested", "Contested", CellKind.AMOUNT, "currency"),
        Column("state", "Outcome", CellKind.TEXT),
        Column("resolved_amount", "Resolved at", CellKind.AMOUNT, "currency"),
    ), tuple((d.id, d.statement_id, d.service, d.currency, d.provider_amount, d.customer_amount,
              d.contested_amount, d.state.value, d.resolved_amount) for d in disputes))  # fmt: skip
    outcomes = Counter(d.state.value for d in disputes)
    dispute_facts = tuple(Fact(f"disputes_{k}", f"Disputes {k}", str(v)) for k, v in sorted(outcomes.items()))
    netting, totals, chart = _netting(uow, per)
    reconciliations = len(lines)
    hours = model.hours(reconciliations, len(disputes), documents)
    hours_section = Section("hours", "Analyst hours saved (estimate)", (
        Fact("model", "Model", "hours = (reconciliations × minutes per reconciliation + disputes × minutes per "
             "dispute + documents × minutes per document) / 60"),
        Fact("minutes_per_reconciliation", "Assumed minutes per manual reconciliation (service line)",
             str(model.minutes_per_reconciliation)),
        Fact("minutes_per_dispute", "Assumed minutes per dispute", str(model.minutes_per_dispute)),
        Fact("minutes_per_document", "Assumed minutes per document", str(model.minutes_per_document)),
        Fact("reconciliations", "Reconciliations", str(reconciliations)),
        Fact("disputes", "Disputes", str(len(disputes))),
        Fact("documents", "Documents", str(documents)),
        Fact("hours_saved", "Analyst hours saved (estimate)", str(hours)),
    ))  # fmt: skip
    return Document(
        kind=DocumentKind.PERIOD_REPORT,
        number=f"REP-{per}",
        title="Period report",
        issued=datetime.now(UTC).date(),
        period=per,
        parties=(),
        sections=(
            work,
            Section("discrepancies", "Discrepancies", (), (disc,)),
            Section("disputes", "Disputes", dispute_facts, (dispute_table,)),
            netting,
            hours_section,
        ),
        totals=tuple(totals),
        chart=tuple(chart),
    )


def _elapsed(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return "not signed yet" if start is not None else "no declarations"
    span = end - start
    if span < timedelta(0):
        return "signed before the last declaration (a re-declaration withdrew nothing signed)"
    hours, rest = divmod(int(span.total_seconds()), 3600)
    return f"{hours} h {rest // 60:02d} min {rest % 60:02d} s"


_NETTING_COLUMNS = (
    ("gross", "Gross obligations"),
    ("set_off", "Set off"),
    ("remaining", "Remaining after set-off"),
    ("money_moved", "Money moved"),
    ("liquidity_freed", "Liquidity freed"),
)


def _netting(uow: UnitOfWork, per: str) -> tuple[Section, list[Total], list[ChartSeries]]:
    """Per currency over the period's rounds: the registered round figures, the payments as stored."""
    repo = uow.cycles
    rounds = repo.rounds(per)
    sums: dict[str, dict[str, Decimal]] = {}
    counts: dict[str, list[int]] = {}
    for rnd in rounds:
        pays = repo.payments(rnd.id)
        for cur, f in rnd.figures.get("currencies", {}).items():
            s = sums.setdefault(cur, {k: zero(cur) for k, _ in _NETTING_COLUMNS})
            moved = sum((p.amount for p in pays if p.currency == cur and p.payer != DEFAULT_HUB), zero(cur))
            s["gross"] += Decimal(f["gross_total"])
            s["set_off"] += Decimal(f["cleared_total"])
            s["remaining"] += Decimal(f["remaining_total"])
            s["money_moved"] += moved
            c = counts.setdefault(cur, [0, 0])
            c[0] += int(f["obligations_count"])
            c[1] += sum(1 for p in pays if p.currency == cur)
    rows: list[tuple[Cell, ...]] = []
    totals: list[Total] = []
    chart: list[ChartSeries] = []
    for cur in sorted(sums):
        s = sums[cur]
        s["liquidity_freed"] = s["gross"] - s["money_moved"]
        rows.append((cur, *(s[k] for k, _ in _NETTING_COLUMNS), counts[cur][0], counts[cur][1]))
        totals += [Total(k, f"{label} {cur}", s[k], cur) for k, label in _NETTING_COLUMNS]
        chart.append(ChartSeries(f"netting_{cur}", f"Netting in {cur}", cur,
                                 tuple(label for _, label in _NETTING_COLUMNS),
                                 tuple(s[k] for k, _ in _NETTING_COLUMNS)))  # fmt: skip
    columns = (
        Column("currency", "Currency", CellKind.TEXT),
        *(Column(k, label, CellKind.AMOUNT, "currency") for k, label in _NETTING_COLUMNS),
        Column("payments_before", "Payments before netting", CellKind.INTEGER),
        Column("payments_after", "Payments after netting", CellKind.INTEGER),
    )
    facts = (Fact("rounds", "Netting rounds", ", ".join(f"{r.id} ({r.mode}, {r.state.value})" for r in rounds)
                  or "none"),)  # fmt: skip
    table = Table("netting", "Netting by currency", columns, tuple(rows))
    return Section("netting", "Netting", facts, (table,)), totals, chart
