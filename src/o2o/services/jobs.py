"""Jobs: long work (a period's reconciliation, a netting round) queued by the hub's admin and done by a
worker, with progress, outside any request; and the hub's own `publish` jobs, which carry its registrations
to the chain (queued by o2o.services.registry_carrier).

Workers: the embedded default (SQLite) runs one `JobRunner` thread inside the server process; with
PostgreSQL any number of `o2o worker` processes run one each, and claims are taken once
(`FOR UPDATE SKIP LOCKED`, see `o2o.store.jobs_repository`). A worker holds a job under a lease that its
heartbeat renews; a worker that died stops renewing it, and once the lease has expired the job is taken
again by any worker, until its attempts are used up, when it is failed with the reason.

Never half-applied: each piece of a job commits in one transaction of its own (one agreement's statement,
one netting round), so a job cut short leaves whole pieces or none; taken again, it runs whole again (a
reconciliation re-made is the same statement; a netting round an earlier attempt committed is found, not
run twice). A job that fails on the user's mistake (nothing declared, nothing to net) fails at once with
that message, not retried.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import OperationalError

from o2o.bootstrap import Workspace
from o2o.domain.errors import ConcurrencyError, NotFoundError, O2OError, ValidationError
from o2o.domain.identity import Actor, Permission
from o2o.domain.jobs import Job, JobKind, JobState
from o2o.domain.periods import Period
from o2o.store.jobs_repository import JobRepository
from o2o.store.repositories import now_utc
from o2o.store.uow import UnitOfWork

log = logging.getLogger("o2o.jobs")

DEFAULT_LEASE = timedelta(seconds=60)
DEFAULT_ATTEMPTS = 3
# How many steps a reconciliation job's progress takes at most: its agreements are reconciled in that many
# batches (each a `reconcile_period` batch, so lines of one batch share the engine's workers).
PROGRESS_STEPS = 10
# A claim that loses a race looks again; a queue two workers drain at once loses a few, not this many.
_CLAIM_TRIES = 50


def _jobs(uow: UnitOfWork) -> JobRepository:
    return uow.jobs


def worker_name(tag: str = "") -> str:
    """This process's worker id: host, pid and a random tag (a restarted pid is another worker)."""
    return f"{socket.gethostname()}:{os.getpid()}:{tag or secrets.token_hex(3)}"


def _new_job(actor: Actor, kind: JobKind, args: dict[str, Any], total: int, max_attempts: int) -> Job:
    if not 1 <= max_attempts <= 10:
        raise ValidationError(f"max_attempts: {max_attempts} is not between 1 and 10")
    return Job(
        id=f"JOB-{secrets.token_hex(8)}", kind=kind, args=args, operator=actor.operator,
        requested_by=actor.user_id, state=JobState.QUEUED, max_attempts=max_attempts, created_at=now_utc(),
        progress_total=total,
    )  # fmt: skip


def enqueue_reconcile(
    ws: Workspace,
    actor: Actor,
    period: str,
    agreement_id: str | None = None,
    *,
    correct_clock: bool = False,
    max_attempts: int = DEFAULT_ATTEMPTS,
) -> Job:
    """Queue the reconciliation of one agreement's period, or of every declared agreement of the period
    (the list is fixed now, so a job taken again reconciles the same ones)."""
    from o2o.services.reconciliation import declared_agreements

    actor.require(Permission.ADMIN)
    per = Period.parse(period)
    with ws.uow() as uow:
        if agreement_id is not None:
            uow.agreements.get(agreement_id)
            agreements = [agreement_id]
        else:
            agreements = declared_agreements(uow, per)
        job = _new_job(
            actor, JobKind.RECONCILE,
            {"period": str(per), "agreements": agreements, "correct_clock": correct_clock},
            len(agreements), max_attempts,
        )  # fmt: skip
        _jobs(uow).add(job)
        uow.commit()
    return job


def enqueue_netting(
    ws: Workspace,
    actor: Actor,
    period: str,
    mode: str = "clearing-house",
    *,
    max_attempts: int = DEFAULT_ATTEMPTS,
) -> Job:
    """Queue a netting round of the period; the rounds it has now are noted, so that an attempt after a
    worker died knows whether the round was already committed."""
    from o2o.netting import NettingMode

    actor.require(Permission.ADMIN)
    per = Period.parse(period)
    netting_mode = NettingMode.parse(mode)
    with ws.uow() as uow:
        rounds = len(uow.cycles.rounds(str(per)))
        job = _new_job(
            actor, JobKind.NETTING,
            {"period": str(per), "mode": netting_mode.value, "rounds_before": rounds}, 1, max_attempts,
        )  # fmt: skip
        _jobs(uow).add(job)
        uow.commit()
    return job


def get_job(ws: Workspace, actor: Actor, job_id: str) -> Job:
    """A job, to its own operator's users (the hub's own jobs to the admin); any other is unknown."""
    actor.require(Permission.READ)
    with ws.uow() as uow:
        job = _jobs(uow).find(job_id)
    if job is None or not (actor.is_hub or job.operator == actor.operator):
        raise NotFoundError(f"unknown job {job_id!r}")
    return job


def list_jobs(ws: Workspace, actor: Actor, limit: int = 100) -> list[Job]:
    actor.require(Permission.READ)
    with ws.uow() as uow:
        return _jobs(uow).all(actor.operator, every=actor.is_hub, limit=limit)


# --- running jobs -----------------------------------------------------------------------------------------


class LostJobError(Exception):
    """The job is no longer this worker's (its lease expired and another worker took it)."""


@dataclass
class JobContext:
    """What a job's work reports through: progress, and whether it still holds the job."""

    ws: Workspace
    job: Job
    worker: str

    def progress(self, done: int, total: int, message: str | None = None) -> None:
        with self.ws.uow() as uow:
            mine = _jobs(uow).progress(self.job.id, self.worker, done, total, message)
            uow.commit()
        if not mine:
            raise LostJobError(self.job.id)


def _chunks(items: list[str], steps: int) -> list[list[str]]:
    size = max(1, -(-len(items) // steps))
    return [items[i : i + size] for i in range(0, len(items), size)]


def _run_reconcile(ctx: JobContext) -> Any:
    from o2o.services.period_reconciliation import reconcile_period

    args = ctx.job.args
    agreements: list[str] = list(args["agreements"])
    done: list[dict[str, Any]] = []
    for batch in _chunks(agreements, PROGRESS_STEPS):
        # The worker's engine (`O2O_ENGINE`): with spark, each line's rating and matching on `O2O_SPARK_MASTER`.
        settings = ctx.ws.settings
        for report in reconcile_period(
            ctx.ws, args["period"], batch, correct_clock=args["correct_clock"],
            engine=settings.engine, spark_master=settings.spark_master,
        ):  # fmt: skip
            done.append(
                {"agreement": report.agreement_id, "statement": report.statement_id,
                 "state": report.state.value, "disputes": list(report.disputes)}
            )  # fmt: skip
        ctx.progress(len(done), len(agreements), f"{len(done)} of {len(agreements)} agreements reconciled")
    return {"period": args["period"], "statements": done}


def _run_netting(ctx: JobContext) -> Any:
    from o2o.services.settlement import run_netting

    args = ctx.job.args
    if ctx.job.attempts > 1:
        with ctx.ws.uow() as uow:
            rounds = uow.cycles.rounds(args["period"])
        if len(rounds) > args["rounds_before"]:  # an earlier attempt committed its round, then died
            rnd = rounds[args["rounds_before"]]
            ctx.progress(1, 1, f"round {rnd.id} was committed by an earlier attempt")
            return {"round": rnd.id, "period": rnd.period, "state": rnd.state.value, "figures": rnd.figures}
    issued = run_netting(ctx.ws, args["period"], args["mode"])
    ctx.progress(1, 1, f"round {issued.round.id}: {len(issued.payments)} payment instruction(s)")
    rnd = issued.round
    return {
        "round": rnd.id, "period": rnd.period, "state": rnd.state.value, "figures": rnd.figures,
        "payments": [p.id for p in issued.payments],
    }  # fmt: skip


def _run_publish(ctx: JobContext) -> Any:
    """The hub's registrations carried to the chain (o2o.services.registry_carrier queues it): the same
    publish as `o2o registry publish`, from the workspace's cursor, so an attempt taken again resumes."""
    from o2o.services.registry import publish

    report = publish(ctx.ws)
    done = report.to_dict()
    ctx.progress(1, 1, f"{report.registrations} registration(s) sent to the chain ({report.mode})")
    return done


RUNNERS: dict[JobKind, Callable[[JobContext], Any]] = {
    JobKind.RECONCILE: _run_reconcile,
    JobKind.NETTING: _run_netting,
    JobKind.PUBLISH: _run_publish,
}


class _Heartbeat:
    """Renews the worker's lease on its job every third of the lease, on a thread, while the job runs."""

    def __init__(self, ws: Workspace, job: Job, worker: str, lease: timedelta) -> None:
        self.ws, self.job, self.worker, self.lease = ws, job, worker, lease
        self.stop = threading.Event()
        self.lost = False
        self.thread = threading.Thread(target=self._run, name=f"heartbeat-{job.id}", daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(self.lease.total_seconds() / 3):
            try:
                with self.ws.uow() as uow:
                    mine = _jobs(uow).heartbeat(self.job.id, self.worker, now_utc(), self.lease)
                    uow.commit()
            except Exception:  # a database hiccup: the next beat tries again, the lease has slack
                log.exception("heartbeat of %s failed", self.job.id)
                continue
            if not mine:
                self.lost = True
                return

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()


def claim_job(ws: Workspace, worker: str, lease: timedelta = DEFAULT_LEASE) -> Job | None:
    """Fail the jobs whose last attempt's worker died, then take the next job (None when there is none)."""
    now = now_utc()
    with ws.uow() as uow:
        for failed in _jobs(uow).fail_abandoned(now):
            log.warning("job %s failed: %s", failed.id, failed.error)
        uow.commit()
    for _ in range(_CLAIM_TRIES):
        try:
            with ws.uow() as uow:
                job = _jobs(uow).claim(worker, now, lease)
                uow.commit()
            return job
        except (ConcurrencyError, OperationalError):
            # Another worker took that row first (PostgreSQL without the lock: the version check; SQLite:
            # its snapshot went stale under the other's write): look again.
            now = now_utc()
    return None


def run_job(ws: Workspace, job: Job, worker: str, lease: timedelta = DEFAULT_LEASE) -> Job:
    """Do a claimed job and record how it ended (done with its result, or failed with why)."""
    ctx = JobContext(ws, job, worker)
    result: Any = None
    error: str | None = None
    with _Heartbeat(ws, job, worker, lease) as beat:
        try:
            result = RUNNERS[job.kind](ctx)
        except LostJobError:
            log.warning("job %s was taken by another worker; %s stops", job.id, worker)
            return _reread(ws, job.id)
        except O2OError as exc:
            error = str(exc)
        except Exception as exc:  # a bug: the job fails with it, the worker goes on
            log.exception("job %s failed", job.id)
            error = f"internal error: {type(exc).__name__}: {exc}"
    if beat.lost:
        return _reread(ws, job.id)
    with ws.uow() as uow:
        _jobs(uow).finish(job.id, worker, now_utc(), result=_plain(result), error=error)
        uow.commit()
    if job.kind != JobKind.PUBLISH:
        # what the job registered (a period's statements, a netting round) goes to the chain next
        from o2o.services.registry_carrier import carry_after_job

        carry_after_job(ws, job.id)
    return _reread(ws, job.id)


def _plain(value: Any) -> Any:
    return None if value is None else json.loads(json.dumps(value, default=str))


def _reread(ws: Workspace, job_id: str) -> Job:
    with ws.uow() as uow:
        return _jobs(uow).get(job_id)


def work_once(ws: Workspace, worker: str, lease: timedelta = DEFAULT_LEASE) -> Job | None:
    """Claim and do one job; None when none was waiting."""
    job = claim_job(ws, worker, lease)
    return None if job is None else run_job(ws, job, worker, lease)
