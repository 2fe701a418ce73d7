"""A worker's loop: take jobs and deliver webhooks until told to stop.

`JobRunner` runs the loop on a thread of the server process (the embedded default: one runner, as SQLite
takes one writer at a time); `o2o worker` runs it in a process of its own (PostgreSQL: as many as wanted).
Between jobs the loop sleeps for `poll` seconds, or less when `wake()` says a job was queued here.
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


def work(ws: Workspace, options: WorkerOptions, stop: threading.Event, wake: threading.Event | None = None,
         *, once: bool = False) -> list[Job]:  # fmt: skip
    """Take jobs (and deliver webhooks) until `stop` is set; with `once`, until no job is waiting.
    Returns the jobs it finished."""
    finished: list[Job] = []
    with httpx.Client() as client:
        while not stop.is_set():
            busy = False
            try:
                job = claim_job(ws, options.name, options.lease)
                if job is not None:
                    log.info(
                        "%s took job %s (%s, attempt %d)", options.name, job.id, job.kind.value, job.attempts
                    )
                    finished.append(run_job(ws, job, options.name, options.lease))
                    busy = True
                if options.webhooks:
                    busy = deliver_due(ws, options.name, client) > 0 or busy
            except Exception:  # the database went away for a moment: the loop goes on after a pause
                log.exception("worker %s: a round failed", options.name)
            if once and not busy:
                break
            if not busy:
                if wake is not None:
                    wake.wait(options.poll)
                    wake.clear()
                else:
                    stop.wait(options.poll)
    return finished


class JobRunner:
    """The loop on a daemon thread of this process: `start()`, `wake()` after queuing, `stop()`."""

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
