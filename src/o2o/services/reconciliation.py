"""Reconcile an agreement's period: rate both parties' declarations, match their records, compare the
totals and apply the tolerance policy; the result is a statement (agreed, or disputed with evidence).

Rating and matching write their detail files into the lake under `results/AGREEMENT/PERIOD/RUN/`; the
statement, its lines, the disputes and the cycle's transitions are written in one transaction. The run
folder is claimed in the lake's staging until that transaction commits: a failed run removes it, and a
killed one is removed by the next reconciliation (or any write's staging sweep), never a committed run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from o2o.bootstrap import Workspace
from o2o.domain.agreements import Agreement, Role, Service, SettledAgreement
from o2o.domain.cycle import CycleState
from o2o.domain.declarations import Declaration
from o2o.domain.disputes import Dispute
from o2o.domain.errors import InvalidTransitionError, NotFoundError
from o2o.domain.money import ZERO, Rounding, round_to_currency
from o2o.domain.periods import Period
from o2o.domain.statements import LineOutcome, Statement, StatementLine, StatementState
from o2o.ledger.keys import Signer
from o2o.rating import RatingResult, rate_recurring
from o2o.reconcile import MatchOptions, MatchSummary, match_files
from o2o.reconcile.aggregates import SummaryLine, compare_by_day, compare_summaries, read_summary
from o2o.reconcile.evidence import write_evidence
from o2o.reconcile.verdict import Verdict, verdict
from o2o.services.cycle_common import (
    canonical,
    digest,
    missing_declarations,
    move_cycle,
    register,
)
from o2o.services.rating import stored_or_rate
from o2o.store.cycle_repository import CycleRepository, cycle_id
from o2o.store.repositories import now_utc
from o2o.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class LineResult:
    """One service direction reconciled. The agreed and disputed amounts are money owed: in the
    agreement's currency, to its minor unit by the agreement's rounding mode, even when the agreement
    rates lines finer (`line_decimals`), so that the statement, the obligations and the books carry
    one figure; each party's rated amount stays as rated."""

    service: Service
    provider_rating: RatingResult
    customer_rating: RatingResult
    verdict: Verdict
    currency: str
    rounding: Rounding
    match: MatchSummary | None = None

    @property
    def agreed_amount(self) -> Decimal:
        v = self.verdict
        amount = v.amount if v.agreed and v.amount is not None else (v.undisputed_amount or ZERO)
        return round_to_currency(amount, self.currency, self.rounding)

    @property
    def disputed_amount(self) -> Decimal:
        amount = ZERO if self.verdict.agreed else (self.verdict.contested_amount or ZERO)
        return round_to_currency(amount, self.currency, self.rounding)


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    agreement_id: str
    period: str
    statement_id: str
    state: CycleState
    lines: tuple[LineResult, ...]
    disputes: tuple[str, ...] = ()
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    # A roaming agreement's statement lines (its `lines` are interconnect's rated and matched lines).
    roaming_lines: tuple[StatementLine, ...] = ()


def statement_id_of(agreement_id: str, period: str) -> str:
    return f"ST-{agreement_id}-{period}"


def _declarations(
    decls: list[Declaration], agreement: SettledAgreement
) -> dict[tuple[str, Role], Declaration]:
    found = {(d.service, d.role): d for d in decls}
    missing = missing_declarations(agreement, set(found))
    if missing:
        raise InvalidTransitionError(
            f"{agreement.id}: cannot reconcile before both parties declare; waiting for " + "; ".join(missing)
        )
    return found


def _usage_line(
    ws: Workspace,
    agreement: Agreement,
    svc: Service,
    per: Period,
    decls: dict[tuple[str, Role], Declaration],
    run_dir: Path,
    correct_clock: bool,
    agreement_sha: str,
    connection: Any = None,
) -> LineResult:
    """One usage line alone: both sides rated, their records matched, the summaries compared; on cursors
    of `connection` (a DuckDB database reused, see `period_reconciliation`) when given."""
    prov, cust = decls[(svc.id, Role.PROVIDER)], decls[(svc.id, Role.CUSTOMER)]
    base = run_dir / svc.id
    p_side = _rated_side(ws, agreement, agreement_sha, prov, per, base / "rated-provider", connection)
    c_side = _rated_side(ws, agreement, agreement_sha, cust, per, base / "rated-customer", connection)
    options = match_options(agreement, correct_clock, run_dir)
    prov_path, cust_path = ws.lake.resolve(prov.lake_path), ws.lake.resolve(cust.lake_path)
    match = match_files(prov_path, cust_path, options, base / "match", connection)
    return _line_of(agreement, svc, p_side, c_side, match)


RatedSide = tuple[RatingResult, list[SummaryLine]]


def _rated_side(
    ws: Workspace,
    agreement: Agreement,
    agreement_sha: str,
    decl: Declaration,
    per: Period,
    out_dir: Path,
    connection: Any = None,
) -> RatedSide:
    """One side of a usage line rated (what `o2o rate` stored for the same declaration and agreement
    revision used as it is), with its summary's lines."""
    rating = stored_or_rate(ws, agreement, agreement_sha, decl, per, out_dir, connection)
    return rating, summary_lines(rating, connection)


def match_options(agreement: Agreement, correct_clock: bool, temp_directory: Path) -> MatchOptions:
    """How an agreement's usage lines are matched: its tolerances."""
    tol = agreement.tolerance
    return MatchOptions(
        time_tolerance_s=tol.time_s,
        duration_tolerance_s=tol.duration_s,
        correct_clock=correct_clock,
        temp_directory=temp_directory,
    )


def _line_of(
    agreement: Agreement, svc: Service, provider: RatedSide, customer: RatedSide, match: MatchSummary
) -> LineResult:
    """A usage line's result from its rated sides and matching: the summaries compared, the verdict."""
    (p_rating, p_summary), (c_rating, c_summary) = provider, customer
    days = compare_by_day(compare_summaries(p_summary, c_summary))
    v = verdict(p_rating.amount, c_rating.amount, agreement.tolerance, days, agreement.currency)
    return LineResult(svc, p_rating, c_rating, v, agreement.currency, agreement.rounding.mode, match)


def summary_lines(rating: RatingResult, connection: Any = None) -> list[SummaryLine]:
    """A usage rating's summary lines: those the run handed over with its result, else its summary file
    read back (a stored rating, a Spark run), on a cursor of `connection` when given."""
    if rating.summary_rows is not None:
        return [SummaryLine(*row) for row in rating.summary_rows]
    if rating.summary_path is None:
        raise InvalidTransitionError("rating wrote no summary file")
    return read_summary(rating.summary_path, connection)


def _recurring_line(agreement: Agreement, svc: Service, per: Period) -> LineResult:
    rating = rate_recurring(agreement, svc.id, per)
    v = verdict(rating.amount, rating.amount, agreement.tolerance, (), agreement.currency)
    return LineResult(svc, rating, rating, v, agreement.currency, agreement.rounding.mode)


def _evidence(line: LineResult, ws: Workspace, connection: Any = None) -> dict[str, Any]:
    """A line's evidence: both ratings, the comparison, the matching and, when disputed, the records behind
    its days over tolerance (written on a cursor of `connection` when given)."""

    def rating(r: RatingResult) -> dict[str, Any]:
        return {
            "records": r.records,
            "rated": r.rated,
            "unrated": r.unrated,
            "billed_quantity": r.billed_quantity,
            "amount": str(r.amount),
            "summary": ws.lake.relative(r.summary_path) if r.summary_path else None,
            "unrated_file": ws.lake.relative(r.unrated_path) if r.unrated_path else None,
        }

    out: dict[str, Any] = {
        "provider": rating(line.provider_rating),
        "customer": rating(line.customer_rating),
        "difference": str(line.verdict.difference),
        "allowed": None if line.verdict.allowed is None else str(line.verdict.allowed),
        "days_over_tolerance": [
            {"day": d.day.isoformat(), "provider": str(d.provider_amount), "customer": str(d.customer_amount)}
            for d in line.verdict.days
        ],
    }
    if line.match is not None and line.match.out_dir is not None and not line.verdict.agreed:
        # The records behind the days over tolerance: what a dispute drills down to.
        records = write_evidence(
            line.match.out_dir,
            [d.day for d in line.verdict.days],
            line.match.out_dir / "evidence.parquet",
            connection,
        )
        out["records"] = {"file": ws.lake.relative(records.path), "counts": records.counts}
    if line.match is not None:
        m = line.match
        out["match"] = {
            "ours": m.ours, "theirs": m.theirs, "matched": m.matched, "exact": m.exact, "partial": m.partial,
            "duration_mismatch": m.duration_mismatch, "only_ours": m.only_ours, "only_theirs": m.only_theirs,
            "duplicates_ours": m.duplicates_ours, "duplicates_theirs": m.duplicates_theirs,
            "clock_offset_s": m.clock_offset_s,
            "files": ws.lake.relative(m.out_dir) if m.out_dir else None,
        }  # fmt: skip
    return out


def statement_evidence(
    results: list[LineResult], ws: Workspace, connection: Any = None
) -> dict[str, dict[str, Any]]:
    """The evidence of a statement's lines, per service (what `_write_statement` stores), read and written
    on cursors of `connection` when given. It touches no store: a worker may make it while the statement
    before is written (`period_reconciliation`'s pool), and hand it to `_write_statement`."""
    return {r.service.id: _evidence(r, ws, connection) for r in results}


def statement_document(
    statement_id: str, agreement: SettledAgreement, period: str, lines: list[dict[str, Any]]
) -> dict[str, Any]:
    """What both parties sign: the agreed amounts of the period, per service line, and the rule that
    rounded them to the currency."""
    return {
        "statement": statement_id,
        "agreement": agreement.id,
        "parties": list(agreement.operator_ids),
        "period": period,
        "currency": agreement.currency,
        "rounding": f"agreed and disputed amounts {agreement.rounding.mode.value} to {agreement.currency}'s "
        "minor unit",
        "lines": [
            {k: str(v) if isinstance(v, Decimal) else v for k, v in sorted(line.items())} for line in lines
        ],
    }


def declared_agreements(uow: UnitOfWork, per: Period) -> list[str]:
    """The agreements whose cycle of `per` is declared (both parties' usage in): what `o2o reconcile`
    runs when no agreement is named. None is an error saying why, naming each cycle and its state."""
    cycles = uow.cycles.cycles(str(per))
    ready = [c.agreement_id for c in cycles if c.state is CycleState.DECLARED]
    if ready:
        return ready
    if not cycles:
        raise NotFoundError(
            f"period {per}: nothing to reconcile: no usage is declared for it (`o2o usage import`)"
        )
    states = ", ".join(f"{c.id} is {c.state.value}" for c in cycles)
    raise InvalidTransitionError(f"period {per}: nothing to reconcile: no cycle is declared ({states})")


def names_run(uow: UnitOfWork, run: str) -> bool:
    """Whether the stored statement of the run's agreement and period has its evidence in that run."""
    _, agreement_id, period, _ = run.split("/")
    statement = uow.cycles.statement_of(agreement_id, period)
    return statement is not None and f'"{run}/' in statement.evidence


def _write_statement(
    uow: UnitOfWork,
    repo: CycleRepository,
    hub: Signer,
    agreement: Agreement,
    period: str,
    st_id: str,
    results: list[LineResult],
    ws: Workspace,
    evidence: dict[str, dict[str, Any]] | None = None,
) -> tuple[CycleState, list[str]]:
    """The statement of an interconnect agreement's reconciled lines (`write_statement`); its evidence as
    `statement_evidence` makes it, unless given already made."""
    lines = [
        StatementLine(r.service.id, r.service.provider, r.service.customer, r.verdict.provider_amount,
                      r.verdict.customer_amount, r.agreed_amount, r.disputed_amount, LineOutcome(r.verdict.outcome.value))
        for r in results
    ]  # fmt: skip
    if evidence is None:
        evidence = statement_evidence(results, ws)
    return write_statement(uow, repo, hub, agreement, period, st_id, lines, evidence)


def write_statement(
    uow: UnitOfWork,
    repo: CycleRepository,
    hub: Signer,
    agreement: SettledAgreement,
    period: str,
    st_id: str,
    lines: list[StatementLine],
    evidence: dict[str, Any],
) -> tuple[CycleState, list[str]]:
    """The period's statement of `lines` (its evidence per line's service): the cycle moved through
    `reconciled` to `agreed` or `disputed`, a dispute opened for every disputed line, each registered on
    the ledger. Any agreement's reconciliation (interconnect, roaming) ends here."""
    cycle = repo.ensure_cycle(agreement.id, period)
    current = cycle.state
    if current in (CycleState.SIGNED, CycleState.NETTED, CycleState.SETTLED, CycleState.CLOSED):
        raise InvalidTransitionError(f"cycle {cycle.id} is {current.value}: its statement is signed")
    old = repo.statement_of(agreement.id, period)
    if old is not None:
        repo.delete_statement(old.id)
    if current is not CycleState.DECLARED:
        cycle = move_cycle(uow, cycle, CycleState.DECLARED, hub)
    cycle = move_cycle(uow, cycle, CycleState.RECONCILED, hub)
    rows = [
        {
            "service": ln.service,
            "provider": ln.provider,
            "customer": ln.customer,
            "provider_amount": ln.provider_amount,
            "customer_amount": ln.customer_amount,
            "agreed_amount": ln.agreed_amount,
            "disputed_amount": ln.disputed_amount,
            "outcome": ln.outcome.value,
        }
        for ln in lines
    ]
    disputed = [ln for ln in lines if ln.outcome is LineOutcome.DISPUTED]
    state = CycleState.DISPUTED if disputed else CycleState.AGREED
    document = statement_document(st_id, agreement, period, rows)
    document_digest = digest(document)
    repo.add_statement(
        Statement(
            st_id, cycle_id(agreement.id, period), agreement.id, period, agreement.currency,
            StatementState.DISPUTED if disputed else StatementState.AGREED, document_digest,
            canonical(document).decode(), json.dumps(evidence, sort_keys=True),
        ),
        lines,
    )  # fmt: skip
    register(uow, hub, "statement.reconciled", st_id, {"digest": document_digest, "lines": document["lines"]})
    deadline = now_utc().date() + timedelta(days=agreement.dispute_days)
    dispute_ids = []
    for ln in disputed:
        d_id = f"DSP-{agreement.id}-{period}-{ln.service}"
        repo.add_dispute(
            Dispute(
                d_id, st_id, ln.service, ln.provider, ln.customer, agreement.currency,
                ln.provider_amount, ln.customer_amount, ln.disputed_amount, deadline,
                evidence[ln.service],
            )
        )  # fmt: skip
        register(
            uow, hub, "dispute.opened", d_id,
            {"statement": st_id, "contested": str(ln.disputed_amount), "deadline": deadline.isoformat()},
        )  # fmt: skip
        dispute_ids.append(d_id)
    move_cycle(uow, cycle, state, hub)
    return state, dispute_ids
