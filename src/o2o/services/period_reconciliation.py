"""Reconcile a period as one batch: the records of every usage line of its agreements matched as one run
(`reconcile.batch_match`: the lines of equal tolerances together, each line's results as it gets alone),
every line's sides rated in one run (`rating.lines.rate_lines`: each as it is rated alone), both in a pool
of `WORKERS` threads, each with one DuckDB database opened on its first job and reused by every job it
takes; then each agreement's statement written as `reconciliation` writes one, in its own transaction.

Why: a period is a few dozen lines, most of them small. Matched one by one, each line ran ~40 SQL
statements (candidates, rounds, days, five files) where the period's records as one pair run each once;
the batch runs them once for all the lines. Rated one by one, each line paid a rating's fixed cost
(~25 statements, its deck's tables, ~20–40 ms) whatever its size; the lines' tariffs made data, one run
rates them all. The matching is submitted first, the ratings beside it, each on a thread per core (both
jobs at once: less time than one after the other, though more CPU). Opening a DuckDB database costs
~20 ms of CPU; a cursor of an open one costs microseconds, and what a run makes on it is TEMP (gone with
the cursor) or dropped by the run. Each worker's database has a memory limit and a spill folder of its
own (under the lake's staging, named by this process, so that a killed run's spill files are swept with
its results runs).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from o2o.bootstrap import Workspace
from o2o.domain.agreements import Agreement, Role, Service
from o2o.domain.declarations import Declaration
from o2o.domain.errors import ConcurrencyError
from o2o.domain.periods import Period
from o2o.domain.tariffs import ServiceKind
from o2o.reconcile.batch_match import BatchLine, match_batch
from o2o.services.cycle_common import hub_signer
from o2o.services.rating import stored_or_rate_lines
from o2o.services.reconciliation import (
    LineResult,
    RatedSide,
    ReconcileReport,
    _declarations,
    _line_of,
    _recurring_line,
    _write_statement,
    declared_agreements,
    match_options,
    names_run,
    statement_evidence,
    statement_id_of,
    summary_lines,
)
from o2o.services.registry_data import is_roaming, read_agreement, read_settled
from o2o.services.spark_reconciliation import spark_lines
from o2o.store.repositories import StoredAgreement
from o2o.store.uow import UnitOfWork

if TYPE_CHECKING:
    from o2o.reconcile import MatchSummary


def reconcile_agreement(
    ws: Workspace, agreement_id: str, period: str, *, correct_clock: bool = False
) -> ReconcileReport:
    """Rate, match, compare and judge; write the statement and open disputes for lines over tolerance."""
    return reconcile_period(ws, period, [agreement_id], correct_clock=correct_clock)[0]


@dataclass(frozen=True, slots=True)
class _Inputs:
    """What a period's reconciliation reads before the engines run, in one unit of work."""

    agreements: list[tuple[Agreement, StoredAgreement]]
    declarations: dict[str, dict[tuple[str, Role], Declaration]]
    roaming: list[str]


def _read_inputs(ws: Workspace, per: Period, agreement_ids: list[str] | None) -> _Inputs:
    """The interconnect agreements (every declared one of the period when none is named), their
    declarations, and the lake's staging swept of runs left by dead processes, all read in one unit of
    work; roaming agreements are named in `roaming` (reconciled by `roaming_cycle`)."""
    with ws.uow() as uow:
        ids = agreement_ids if agreement_ids is not None else declared_agreements(uow, per)
        roaming = [a for a in dict.fromkeys(ids) if is_roaming(uow.agreements.get(a))]
        agreements = [read_agreement(uow, a) for a in dict.fromkeys(ids) if a not in roaming]
        decls = {ag.id: _declarations(uow.declarations.all(ag.id, str(per)), ag) for ag, _ in agreements}
        for a in roaming:  # checked before anything runs, as the others are
            _declarations(uow.declarations.all(a, str(per)), read_settled(uow, a)[0])
        ws.lake.sweep_staging(partial(names_run, uow))
    return _Inputs(agreements, decls, roaming)


def _check_unchanged(
    uow: UnitOfWork, agreement: Agreement, per: Period, used: dict[Any, Declaration]
) -> None:
    """The statement is written from the declarations the engines read: one replaced since is refused."""
    now = {(d.service, d.role): d.id for d in uow.declarations.all(agreement.id, str(per))}
    changed = sorted(
        f"{svc} ({role.value})" for (svc, role), d in used.items() if now.get((svc, role)) != d.id
    )
    if changed:
        raise ConcurrencyError(
            f"{agreement.id} {per}: declarations changed while reconciling ({', '.join(changed)}); "
            "reconcile again"
        )


def reconcile_period(
    ws: Workspace,
    period: str,
    agreement_ids: list[str] | None = None,
    *,
    correct_clock: bool = False,
    engine: str = "duckdb",
    spark: Any = None,
    spark_master: str | None = None,
) -> list[ReconcileReport]:
    """Reconcile agreements of a period (every declared one when `agreement_ids` is None) as one batch:
    what the engines need read in one unit of work, the usage lines matched as one batch and their sides
    rated in a `LinePool` (no transaction open), then each agreement's statement written in a unit of
    work of its own, in the order given, as soon as its lines are done; that unit of work refuses a
    statement whose declarations were replaced meanwhile. Every agreement's declarations are checked
    before anything runs; roaming agreements are reconciled after the others (`roaming_cycle`: priced by
    their discounts, nothing to rate or match). A line that fails stops the batch with its error: the
    statements of the agreements before its agreement stand, as when they were reconciled one after the
    other. A report's `seconds` is the batch's time until its statement was committed. `engine` "spark"
    rates and matches each usage line on Spark instead (`spark_reconciliation`), one line at a time."""
    started = time.perf_counter()
    per = Period.parse(period)
    inputs = _read_inputs(ws, per, agreement_ids)
    agreements, decls = inputs.agreements, inputs.declarations
    reports = []
    with ExitStack() as stack:
        # The staging was swept in `_read_inputs`: each run claims its folder without asking the store.
        runs = {ag.id: stack.enter_context(ws.lake.results_run(ag.id, str(per))) for ag, _ in agreements}
        pool = stack.enter_context(LinePool(ws.lake.staging_root))
        usage = [
            (ag, stored.sha256, svc)
            for ag, stored in agreements
            for svc in ag.services
            if svc.kind is not ServiceKind.RECURRING
        ]
        on_spark = spark_lines(ws, per, usage, decls, runs, correct_clock, engine, spark, spark_master)
        pooled = [] if on_spark else usage  # on Spark, nothing for the pool
        matches = _submit_matches(ws, pool, pooled, decls, runs, correct_clock)
        # Every line's sides rated in one job (one run for all: a rating's fixed cost paid once).
        rated = pool.submit(partial(_rated_lines, ws, pooled, decls, per, runs), threads=None)

        def line(ag: Agreement, svc: Service) -> LineResult:
            if on_spark is not None:
                return on_spark(ag, svc)
            sides = rated.result()[(ag.id, svc.id)]
            if isinstance(sides, Exception):
                raise sides
            provider, customer = sides
            return _line_of(ag, svc, provider, customer, matches[(ag.id, svc.id)]())

        hub = hub_signer(ws)
        for ag, _ in agreements:
            results = [
                _recurring_line(ag, svc, per) if svc.kind is ServiceKind.RECURRING else line(ag, svc)
                for svc in ag.services
            ]
            run, st_id = runs[ag.id], statement_id_of(ag.id, str(per))
            # Its disputed lines' records gathered on the pool's database for this thread (none opened for
            # each; not queued behind the ratings of later agreements).
            disputed = any(not r.verdict.agreed and r.match is not None for r in results)
            evidence = statement_evidence(results, ws, pool.own_connection() if disputed else None)
            with ws.uow() as uow:
                _check_unchanged(uow, ag, per, decls[ag.id])
                state, dispute_ids = _write_statement(
                    uow, uow.cycles, hub, ag, str(per), st_id, results, ws, evidence
                )
                run.committing()
                uow.commit()
            run.commit_done()
            reports.append(
                ReconcileReport(
                    ag.id,
                    str(per),
                    st_id,
                    state,
                    tuple(results),
                    tuple(dispute_ids),
                    time.perf_counter() - started,
                )
            )
    for agreement_id in inputs.roaming:  # priced by its discounts: no rating or matching to pool
        from o2o.services.roaming_cycle import reconcile_roaming

        report = reconcile_roaming(ws, str(per), agreement_id)
        reports.append(replace(report, seconds=time.perf_counter() - started))
    return reports


def _rated_lines(
    ws: Workspace,
    usage: list[tuple[Agreement, str, Service]],
    decls: dict[str, dict[tuple[str, Role], Declaration]],
    per: Period,
    runs: dict[str, Any],
    connection: Any,
) -> dict[tuple[str, str], list[RatedSide] | Exception]:
    """Each usage line's sides rated (those `o2o rate` stored reused), with their summaries' lines; or
    the error rating the line met."""
    lines = [
        (
            ag,
            sha,
            [decls[ag.id][(svc.id, role)] for role in _ROLES],
            [runs[ag.id].folder / svc.id / f"rated-{role.value}" for role in _ROLES],
        )
        for ag, sha, svc in usage
    ]
    out: dict[tuple[str, str], list[RatedSide] | Exception] = {}
    for (ag, _, svc), got in zip(usage, stored_or_rate_lines(ws, lines, per, connection), strict=True):
        out[(ag.id, svc.id)] = (
            got if isinstance(got, Exception) else [(r, summary_lines(r, connection)) for r in got]
        )
    return out


def _submit_matches(
    ws: Workspace,
    pool: LinePool,
    usage: list[tuple[Agreement, str, Service]],
    decls: dict[str, dict[tuple[str, Role], Declaration]],
    runs: dict[str, Any],
    correct_clock: bool,
) -> dict[tuple[str, str], Callable[[], MatchSummary]]:
    """The matchings of the usage lines submitted to `pool`, first (the largest jobs): the lines of equal
    tolerances as one batch (`match_batch`), or each line alone with the clock correction (whose offset is
    a line's own); for each line, what gives its summary once done, or raises the error its matching met."""
    groups: dict[tuple[int, int] | int, list[tuple[Agreement, Service]]] = {}
    for i, (ag, _, svc) in enumerate(usage):
        key = i if correct_clock else (ag.tolerance.time_s, ag.tolerance.duration_s)
        groups.setdefault(key, []).append((ag, svc))
    out: dict[tuple[str, str], Callable[[], MatchSummary]] = {}
    for lines in groups.values():
        batch = [
            BatchLine(
                ws.lake.resolve(decls[ag.id][(svc.id, Role.PROVIDER)].lake_path),
                ws.lake.resolve(decls[ag.id][(svc.id, Role.CUSTOMER)].lake_path),
                runs[ag.id].folder / svc.id / "match",
            )
            for ag, svc in lines
        ]
        options = match_options(lines[0][0], correct_clock, pool.scratch)
        future = pool.submit(partial(match_batch, batch, options, pool.scratch), threads=None)
        for i, (ag, svc) in enumerate(lines):
            out[(ag.id, svc.id)] = partial(_matched, future, i)
    return out


def _matched(future: Future[list[MatchSummary | Exception]], index: int) -> MatchSummary:
    result = future.result()[index]
    if isinstance(result, Exception):
        raise result
    return result


_ROLES = (Role.PROVIDER, Role.CUSTOMER)


T = TypeVar("T")

WORKERS = 2


class LinePool:
    """`submit(fn)` runs `fn(connection)` on a worker with that worker's DuckDB connection. Leaving the pool
    cancels what has not started, waits for what has, closes the databases and removes their spill files."""

    def __init__(self, staging: Path, workers: int = WORKERS) -> None:
        self.staging = staging
        self.workers = workers
        self.local = threading.local()
        self.opened: list[Any] = []
        self.lock = threading.Lock()

    def __enter__(self) -> LinePool:
        self.staging.mkdir(parents=True, exist_ok=True)
        self.scratch = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-lines-", dir=self.staging))
        self.pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="reconcile-line")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.pool.shutdown(wait=True, cancel_futures=True)
        finally:
            for con in self.opened:
                con.close()
            shutil.rmtree(self.scratch, ignore_errors=True)

    def submit(self, fn: Callable[[Any], T], threads: int | None = 1) -> Future[T]:
        """`fn` on a worker whose database runs on `threads` (None: one per core). Small jobs are quicker on
        one thread while the other workers keep the other cores busy; the period's two large jobs (the
        matching batch, the ratings) each take them all (measured on the demo's period: ~8% less time
        than the ratings on one thread)."""
        return self.pool.submit(lambda: fn(self._connection(threads or os.cpu_count() or 1)))

    def own_connection(self) -> Any:
        """A database for the thread that runs the pool (e.g. a statement's evidence), opened on first use
        and closed with the pool; on one thread, as the other jobs run on the workers meanwhile."""
        return self._connection(1)

    def _connection(self, threads: int) -> Any:
        # Imported here: the reconcile engine loads DuckDB and Arrow, which the cycle's light commands never need.
        from o2o.reconcile import batch_connection

        con = getattr(self.local, "con", None)
        if con is None:
            with self.lock:
                con = batch_connection(self.scratch / f"worker-{len(self.opened)}")
                self.opened.append(con)
            self.local.con, self.local.threads = con, None
        if self.local.threads != threads:
            con.execute(f"SET threads = {int(threads)}")
            self.local.threads = threads
        return con
