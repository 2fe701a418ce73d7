"""A worker's loops: take jobs, and deliver webhooks, until told to stop.

`JobRunner` runs them on threads of the server process (the embedded default: one job at a time, as SQLite
takes one writer at a time); `o2o worker` runs them in a process of its own (PostgreSQL: as many as wanted).
Jobs and webhooks have a loop each, so a long reconciliation does not hold events back. Idle, a loop sleeps
for `poll` seconds, or less when `wake()` says a job was queued here.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta

import httpx

from o2o.bootstrap import Workspace
from o2o.domain.jobs import Job
from o2o.services.jobs import DEFAULT_LEASE, claim_job, run_job, worker_name
from o2o.services.webhooks import deliver_due

log = logging.getLogger("o2o.worker")


@dataclass
class WorkerOptions:
    poll: float = 1.0
    lease: timedelta = DEFAULT_LEASE
    webhooks: bool = True
    name: str = field(default_factory=worker_name)


def _idle(options: WorkerOptions, stop: threading.Event, wake: threading.Event | None) -> None:
    if wake is not None:
        wake.wait(options.poll)
        wake.clear()
    else:
        stop.wait(options.poll)


def work_jobs(
    ws: Workspace,
    options: WorkerOptions,
    stop: threading.Event,
    wake: threading.Event | None = None,
    *,
    once: bool = False,
) -> list[Job]:
    """Take jobs until `stop` is set; with `once`, until no job is waiting. Returns the jobs it finished."""
    finished: list[Job] = []
    while not stop.is_set():
        job = None
        try:
            job = claim_job(ws, options.name, options.lease)
            if job is not None:
                log.info(
                    "%s took job %s (%s, attempt %d)", options.name, job.id, job.kind.value, job.attempts
                )
                finished.append(run_job(ws, job, options.name, options.lease))
        except Exception:  # the database went away for a moment: the loop goes on after a pause
            log.exception("worker %s: taking a job failed", options.name)
        if job is None:
            if once:
                break
            _idle(options, stop, wake)
    return finished


def work_webhooks(ws: Workspace, options: WorkerOptions, stop: threading.Event) -> None:
    """Deliver the due webhooks, round after round, until `stop` is set."""
    with httpx.Client() as client:
        while not stop.is_set():
            made = 0
            try:
                made = deliver_due(ws, options.name, client)
            except Exception:  # as above: the next round tries again
                log.exception("worker %s: delivering webhooks failed", options.name)
            if not made:
                stop.wait(options.poll)


def work(
    ws: Workspace,
    options: WorkerOptions,
    stop: threading.Event,
    wake: threading.Event | None = None,
    *,
    once: bool = False,
) -> list[Job]:
    """Take jobs on this thread and deliver webhooks on another (unless `options.webhooks` is off) until
    `stop` is set; with `once`, until no job is waiting. Returns the jobs it finished."""
    done = threading.Event()
    hooks = None
    if options.webhooks:
        hooks = threading.Thread(
            target=work_webhooks, args=(ws, options, done), name="o2o-webhooks", daemon=True
        )
        hooks.start()
    try:
        return work_jobs(ws, options, stop, wake, once=once)
    finally:
        done.set()
        if hooks is not None:
            hooks.join()


class JobRunner:
    """The loops on daemon threads of this process: `start()`, `wake()` after queuing, `stop()`."""

    def __init__(self, ws: Workspace, options: WorkerOptions | None = None) -> None:
        self.ws = ws
        self.options = options or WorkerOptions(name=worker_name("server"))
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=work, args=(self.ws, self.options, self._stop, self._wake), name="o2o-jobs", daemon=True
        )
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)


def runs_in_server(ws: Workspace) -> bool:
    """Whether the server runs jobs itself: on the embedded default (SQLite, one writer at a time), yes;
    with PostgreSQL the `o2o worker` processes do (as many as wanted)."""
    return ws.engine.dialect.name == "sqlite"
