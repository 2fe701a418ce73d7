"""`o2o worker`: take the hub's jobs (reconciliations, netting rounds, the hub's publish jobs that carry its
registrations to an anchored or evm registry) and deliver its webhooks, in a
process of its own, until interrupted. With PostgreSQL run as many as wanted: each job is taken by one.
The embedded default (SQLite) needs none: `o2o serve` runs jobs itself."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import timedelta
from typing import Annotated

import typer

from o2o.cli.context import workspace
from o2o.cli.output import print_json


def worker(
    poll: Annotated[
        float, typer.Option("--poll", help="Seconds between looks for work when idle.", min=0.05)
    ] = 1.0,
    lease: Annotated[
        int, typer.Option("--lease", help="Seconds a job stays this worker's without a heartbeat.", min=2)
    ] = 60,
    once: Annotated[bool, typer.Option("--once", help="Stop when no job is waiting.")] = False,
    no_webhooks: Annotated[bool, typer.Option("--no-webhooks", help="Take jobs only.")] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the jobs finished as JSON at the end.")
    ] = False,
) -> None:
    """Take jobs and deliver webhooks until interrupted (SIGINT or SIGTERM end it after the job at hand)."""
    from o2o.services.worker import WorkerOptions, work

    ws = workspace()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = threading.Event()
    before = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    options = WorkerOptions(poll=poll, lease=timedelta(seconds=lease), webhooks=not no_webhooks)
    try:
        finished = work(ws, options, stop, once=once)
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
    if json_out:
        print_json([job.to_dict() for job in finished])


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
