"""The hub carries its registrations to the chain, as the CLI does after each command (registry_hook).

Every service registers on the central ledger in the same transaction as its change; on an anchored or evm
workspace what the ledger gained must then reach the chain. The hub (`o2o serve`) does it with a `publish`
job (o2o.services.jobs), queued

- after each mutating request (POST, PUT, PATCH, DELETE) that succeeded, once its answer is sent, and after
  each job (a reconciliation, a netting round: they register outside any request) ended;
- every `O2O_REGISTRY_POLL` seconds (30) by the server's `RegistryCarrier` thread, from its start: what a
  stopped server left unpublished, a retry after the node failed, an anchored head due by the minutes.

A job is queued only when something is due (evm: the ledger has entries past the workspace's publishing
cursor; anchored: `anchor_every` entries since the last anchored head, or `anchor_minutes` passed with
entries added), only when no publish job is already waiting (one pending at a time: the waiting one will
carry whatever is added meanwhile), and not while failures back off (after k publish jobs failed in a row,
the next is queued only `min(10·2^(k-1), 300)` seconds after the last failure). The job calls
`o2o.services.registry.publish` — the same code, cursor and lock as `o2o registry publish` — so nothing is
lost if the server stops between a commit and its publish (the cursor has not moved: the next publish, by
the restarted hub or by the CLI, sends it) and nothing is registered twice (the contract accepts a key once;
the publisher asks it first).

A central workspace costs one environment lookup and one `stat` per mutating request and per poll
(`registry_hook.may_be_on_chain`): no database query, no import of web3.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from o2o.bootstrap import Workspace
from o2o.domain.jobs import Job, JobKind, JobState
from o2o.services.registry_hook import may_be_on_chain
from o2o.store.repositories import now_utc

log = logging.getLogger("o2o.registry")

# Who the hub's own publish jobs are requested by (no user: the hub itself).
PUBLISHER = "hub:registry"
BACKOFF_FIRST = 10.0
BACKOFF_MAX = 300.0
PUBLISH_ATTEMPTS = 3
# Within one process, the look for a waiting job and the queuing are one step (two requests finishing at
# once queue one job). Two hub processes (PostgreSQL) may each queue one: harmless, the second finds
# nothing left to send.
_QUEUING = threading.Lock()


def publish_due(ws: Workspace, now: float | None = None) -> str | None:
    """Why the workspace's registrations should be carried to the chain now; None when nothing is due (or
    the registry is central, or no contract is deployed yet)."""
    from o2o.services.ledger import ledger_of
    from o2o.services.registry import RegistryConfig, now_epoch, registry_mode

    mode = registry_mode(ws)
    if mode == "central":
        return None
    cfg = RegistryConfig.load(ws)
    if not cfg.contract:
        return None
    with ws.uow() as uow:
        size = ledger_of(uow).size
    if mode == "evm":
        behind = size - cfg.published
        return f"{behind} ledger entr{'y' if behind == 1 else 'ies'} not on chain yet" if behind > 0 else None
    grown = size - cfg.anchored_size
    if grown >= cfg.anchor_every:
        return f"{grown} entries since the last anchored head (a head every {cfg.anchor_every})"
    minutes = ((now if now is not None else now_epoch()) - cfg.anchored_at) / 60
    if grown > 0 and minutes >= cfg.anchor_minutes:
        return f"{grown} entries since the last anchored head, {cfg.anchor_minutes:g} minutes passed"
    return None


def _backoff_until(recent: list[Job]) -> datetime | None:
    """After k publish jobs failed in a row (the newest first in `recent`), when the next may be queued."""
    failed: list[Job] = []
    for job in recent:
        if job.state == JobState.DONE:
            break
        if job.state == JobState.FAILED:
            failed.append(job)
    if not failed or failed[0].finished_at is None:
        return None
    wait = min(BACKOFF_FIRST * 2 ** (len(failed) - 1), BACKOFF_MAX)
    return failed[0].finished_at + timedelta(seconds=wait)


def queue_publish_if_due(ws: Workspace, why: str, *, after_change: bool = True) -> Job | None:
    """Queue the hub's publish job when the registry is not central, something is due, none is waiting and
    failures do not hold it back; the job queued, else None. `why`: what asked (kept in the job's args).

    `after_change` (a request or a job that may have just registered): queued behind a running publish too,
    which may have read the ledger before the change. The poll (`after_change=False`) waits for a running
    one to end: the cursor it is moving would otherwise look behind, and whatever was added meanwhile was
    queued by what added it (or is found by the next poll)."""
    if not may_be_on_chain(ws.home):
        return None
    with _QUEUING:
        due = publish_due(ws)
        if due is None:
            return None
        now = now_utc()
        with ws.uow() as uow:
            recent = uow.jobs.latest_of_kind(JobKind.PUBLISH)
            busy = (JobState.QUEUED,) if after_change else (JobState.QUEUED, JobState.RUNNING)
            if any(job.state in busy for job in recent):
                return None  # the waiting one carries this too (the poll: or the running one)
            until = _backoff_until(recent)
            if until is not None and now < until:
                return None
            job = Job(
                id=f"JOB-{secrets.token_hex(8)}", kind=JobKind.PUBLISH, args={"asked_by": why, "due": due},
                operator=None, requested_by=PUBLISHER, state=JobState.QUEUED, max_attempts=PUBLISH_ATTEMPTS,
                created_at=now, progress_total=1,
            )  # fmt: skip
            uow.jobs.add(job)
            uow.commit()
    return job


def carry_after_request(ws: Workspace, method: str, path: str, wake: Callable[[], None] | None) -> Job | None:
    """After a mutating request succeeded: queue the publish when due (and wake the server's runner).
    Never raises: the request's answer is already sent, and the poll tries again."""
    try:
        job = queue_publish_if_due(ws, f"{method} {path}")
    except Exception:
        log.exception("queuing the registry publish after %s %s failed", method, path)
        return None
    if job is not None and wake is not None:
        wake()
    return job


def carry_after_job(ws: Workspace, job_id: str) -> Job | None:
    """After a job (a reconciliation, a netting round) ended: queue the publish when due; the worker that
    ran it takes it next. Never raises, as above."""
    try:
        return queue_publish_if_due(ws, f"job {job_id}")
    except Exception:
        log.exception("queuing the registry publish after job %s failed", job_id)
        return None


class RegistryCarrier:
    """The hub's poll: a daemon thread that looks every `poll` seconds (and once at its start) whether
    registrations are due on the chain, and queues the publish job when they are."""

    def __init__(self, ws: Workspace, poll: float, wake: Callable[[], None] | None = None) -> None:
        self.ws, self.poll, self.wake = ws, poll, wake
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> Job | None:
        try:
            job = queue_publish_if_due(self.ws, "poll", after_change=False)
        except Exception:  # a broken registry.json, the database away for a moment: the next poll again
            log.exception("the registry poll failed")
            return None
        if job is not None and self.wake is not None:
            self.wake()
        return job

    def _run(self) -> None:
        self.tick()
        while not self._stop.wait(self.poll):
            self.tick()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="o2o-registry", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
