"""Jobs and webhooks in the store: queue, claim under a lease, heartbeat, finish; webhook cursors and
delivery attempts. Nothing here commits: the caller's unit of work does.

Claiming is one statement pair: the oldest claimable row is selected `FOR UPDATE SKIP LOCKED` (PostgreSQL:
two workers never wait on, nor take, the same row; SQLite ignores the clause and its one writer at a time
serialises claims), then updated only if its version is still the one read, so a claim is taken once even
where the lock clause is not there. Every later write by a worker names the worker and the `running` state:
a worker whose job was taken from it (its lease expired) can no longer change that job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from o2o.domain.errors import ConcurrencyError, NotFoundError
from o2o.domain.jobs import Job, JobKind, JobState
from o2o.store.jobs_tables import jobs as j
from o2o.store.jobs_tables import webhook_deliveries as wd
from o2o.store.jobs_tables import webhooks as wh


def _job(row: Any) -> Job:
    return Job(
        id=row.id, kind=JobKind(row.kind), args=json.loads(row.args), operator=row.operator,
        requested_by=row.requested_by, state=JobState(row.state), max_attempts=row.max_attempts,
        created_at=row.created_at, attempts=row.attempts, progress_done=row.progress_done,
        progress_total=row.progress_total, message=row.message,
        result=None if row.result is None else json.loads(row.result), error=row.error, worker=row.worker,
        heartbeat_at=row.heartbeat_at, lease_until=row.lease_until, started_at=row.started_at,
        finished_at=row.finished_at, version=row.version,
    )  # fmt: skip


class JobRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, job: Job) -> None:
        self.conn.execute(
            insert(j).values(
                id=job.id, kind=job.kind.value, args=json.dumps(job.args, sort_keys=True),
                operator=job.operator, requested_by=job.requested_by, state=job.state.value,
                progress_total=job.progress_total, max_attempts=job.max_attempts, created_at=job.created_at,
            )
        )  # fmt: skip

    def find(self, job_id: str) -> Job | None:
        row = self.conn.execute(select(j).where(j.c.id == job_id)).first()
        return _job(row) if row else None

    def get(self, job_id: str) -> Job:
        job = self.find(job_id)
        if job is None:
            raise NotFoundError(f"unknown job {job_id!r}")
        return job

    def all(self, operator: str | None = None, *, every: bool = False, limit: int = 100) -> list[Job]:
        """The latest jobs: of `operator` (None: the hub's own), or of everyone with `every`."""
        q = select(j).order_by(j.c.created_at.desc(), j.c.id.desc()).limit(limit)
        if not every:
            q = q.where(j.c.operator.is_(None) if operator is None else j.c.operator == operator)
        return [_job(r) for r in self.conn.execute(q)]

    def latest_of_kind(self, kind: JobKind, limit: int = 10) -> list[Job]:
        """The latest jobs of one kind, newest first."""
        q = (
            select(j)
            .where(j.c.kind == kind.value)
            .order_by(j.c.created_at.desc(), j.c.id.desc())
            .limit(limit)
        )
        return [_job(r) for r in self.conn.execute(q)]

    def fail_abandoned(self, now: datetime) -> list[Job]:
        """Running jobs whose lease expired on their last attempt: failed, with why."""
        rows = self.conn.execute(
            select(j).where(
                j.c.state == JobState.RUNNING.value, j.c.lease_until < now, j.c.attempts >= j.c.max_attempts
            )
        ).all()
        failed = []
        for row in rows:
            reason = (
                f"worker {row.worker} stopped (its lease expired at {row.lease_until.isoformat()}) on attempt "
                f"{row.attempts} of {row.max_attempts}; not taken again"
            )
            done = self.conn.execute(
                update(j)
                .where(j.c.id == row.id, j.c.version == row.version)
                .values(state=JobState.FAILED.value, error=reason, finished_at=now, version=row.version + 1)
            )
            if done.rowcount == 1:
                failed.append(row.id)
        return [self.get(i) for i in failed]

    def claim(self, worker: str, now: datetime, lease: timedelta) -> Job | None:
        """Take the oldest queued job, or a running one whose worker's lease expired (attempts left); None
        when there is none. Raises `ConcurrencyError` when another worker claimed the row first."""
        claimable = or_(
            j.c.state == JobState.QUEUED.value,
            and_(j.c.state == JobState.RUNNING.value, j.c.lease_until < now, j.c.attempts < j.c.max_attempts),
        )
        row = self.conn.execute(
            select(j)
            .where(claimable)
            .order_by(j.c.created_at, j.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if row is None:
            return None
        again = None
        if row.state == JobState.RUNNING.value:
            again = (
                f"taken again: worker {row.worker} stopped (lease expired at {row.lease_until.isoformat()})"
            )
        taken = self.conn.execute(
            update(j)
            .where(j.c.id == row.id, j.c.version == row.version)
            .values(
                state=JobState.RUNNING.value, worker=worker, attempts=row.attempts + 1, heartbeat_at=now,
                lease_until=now + lease, started_at=row.started_at or now, version=row.version + 1,
                message=again if again else row.message,
            )
        )  # fmt: skip
        if taken.rowcount != 1:
            raise ConcurrencyError(f"job {row.id} was claimed by another worker first")
        return self.get(row.id)

    def _mine(self, job_id: str, worker: str) -> Any:
        return and_(j.c.id == job_id, j.c.worker == worker, j.c.state == JobState.RUNNING.value)

    def heartbeat(self, job_id: str, worker: str, now: datetime, lease: timedelta) -> bool:
        """Renew the lease; False when the job is no longer this worker's."""
        done = self.conn.execute(
            update(j).where(self._mine(job_id, worker)).values(heartbeat_at=now, lease_until=now + lease)
        )
        return done.rowcount == 1

    def progress(self, job_id: str, worker: str, done: int, total: int, message: str | None) -> bool:
        result = self.conn.execute(
            update(j)
            .where(self._mine(job_id, worker))
            .values(progress_done=done, progress_total=total, message=message)
        )
        return result.rowcount == 1

    def finish(
        self, job_id: str, worker: str, now: datetime, *, result: Any = None, error: str | None = None
    ) -> bool:
        """Done (with `result`) or failed (with `error`); False when the job is no longer this worker's."""
        state = JobState.FAILED if error is not None else JobState.DONE
        values: dict[str, Any] = {
            "state": state.value,
            "finished_at": now,
            "error": error,
            "lease_until": None,
        }
        if result is not None:
            values["result"] = json.dumps(result, sort_keys=True)
        done = self.conn.execute(update(j).where(self._mine(job_id, worker)).values(**values))
        return done.rowcount == 1


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    operator: str
    url: str
    secret: str
    created_by: str
    created_at: datetime
    cursor: int
    attempts: int
    next_attempt_at: datetime | None
    disabled_at: datetime | None
    version: int

    def to_dict(self) -> dict[str, Any]:
        """What its owner sees (never the secret)."""
        return {
            "id": self.id,
            "operator": self.operator,
            "url": self.url,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "active": self.disabled_at is None,
            "cursor": self.cursor,
            "attempts": self.attempts,
            "next_attempt_at": None if self.next_attempt_at is None else self.next_attempt_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Delivery:
    webhook_id: str
    event_seq: int
    attempt: int
    time: datetime
    outcome: str  # delivered | failed | gave_up
    status_code: int | None
    error: str | None
    duration_ms: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "webhook": self.webhook_id, "event": self.event_seq, "attempt": self.attempt,
            "time": self.time.isoformat(), "outcome": self.outcome, "status_code": self.status_code,
            "error": self.error, "duration_ms": self.duration_ms,
        }  # fmt: skip


def _webhook(row: Any) -> Webhook:
    return Webhook(
        row.id, row.operator, row.url, row.secret, row.created_by, row.created_at, row.cursor, row.attempts,
        row.next_attempt_at, row.disabled_at, row.version,
    )  # fmt: skip


class WebhookRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, hook: Webhook) -> None:
        self.conn.execute(
            insert(wh).values(
                id=hook.id, operator=hook.operator, url=hook.url, secret=hook.secret,
                created_by=hook.created_by, created_at=hook.created_at, cursor=hook.cursor,
            )
        )  # fmt: skip

    def find(self, hook_id: str) -> Webhook | None:
        row = self.conn.execute(select(wh).where(wh.c.id == hook_id)).first()
        return _webhook(row) if row else None

    def of(self, operator: str | None) -> list[Webhook]:
        q = select(wh).order_by(wh.c.created_at, wh.c.id)
        if operator is not None:
            q = q.where(wh.c.operator == operator)
        return [_webhook(r) for r in self.conn.execute(q)]

    def disable(self, hook_id: str, now: datetime) -> None:
        self.conn.execute(update(wh).where(wh.c.id == hook_id).values(disabled_at=now))

    def due(self, now: datetime) -> list[Webhook]:
        """Active webhooks whose next attempt is due and which no worker holds."""
        rows = self.conn.execute(
            select(wh).where(
                wh.c.disabled_at.is_(None),
                or_(wh.c.next_attempt_at.is_(None), wh.c.next_attempt_at <= now),
                or_(wh.c.lease_until.is_(None), wh.c.lease_until < now),
            )
        )
        return [_webhook(r) for r in rows]

    def lease(self, hook: Webhook, worker: str, now: datetime, lease: timedelta) -> Webhook | None:
        """Hold the webhook for one round of deliveries (taken once: version checked); None if taken."""
        done = self.conn.execute(
            update(wh)
            .where(wh.c.id == hook.id, wh.c.version == hook.version)
            .values(leased_by=worker, lease_until=now + lease, version=hook.version + 1)
        )
        return self.find(hook.id) if done.rowcount == 1 else None

    def advance(
        self, hook_id: str, worker: str, *, cursor: int, attempts: int, next_attempt_at: datetime | None
    ) -> None:
        self.conn.execute(
            update(wh)
            .where(wh.c.id == hook_id, wh.c.leased_by == worker)
            .values(cursor=cursor, attempts=attempts, next_attempt_at=next_attempt_at)
        )

    def release(self, hook_id: str, worker: str) -> None:
        self.conn.execute(
            update(wh)
            .where(wh.c.id == hook_id, wh.c.leased_by == worker)
            .values(leased_by=None, lease_until=None)
        )

    def record(self, d: Delivery) -> None:
        self.conn.execute(
            insert(wd).values(
                webhook_id=d.webhook_id, event_seq=d.event_seq, attempt=d.attempt, time=d.time,
                outcome=d.outcome, status_code=d.status_code, error=d.error, duration_ms=d.duration_ms,
            )
        )  # fmt: skip

    def deliveries(self, hook_id: str, limit: int = 200) -> list[Delivery]:
        rows = self.conn.execute(
            select(wd).where(wd.c.webhook_id == hook_id).order_by(wd.c.id.desc()).limit(limit)
        )
        return [
            Delivery(r.webhook_id, r.event_seq, r.attempt, r.time, r.outcome, r.status_code, r.error,
                     r.duration_ms)
            for r in rows
        ]  # fmt: skip
