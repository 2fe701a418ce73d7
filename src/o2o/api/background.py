"""What the hub does beside answering requests, started and stopped with the app (its lifespan): the
upload folders of dead processes swept; on the embedded default (SQLite), the job runner thread that takes
jobs and delivers webhooks in the server process (with PostgreSQL, `o2o worker` processes do that); and the
registry's poll, which queues the publish job when registrations are due on the chain (anchored or evm;
o2o.services.registry_carrier — a central workspace costs it a stat per poll)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from o2o.bootstrap import Workspace
from o2o.services.registry_carrier import RegistryCarrier
from o2o.services.uploads import sweep_uploads
from o2o.services.worker import JobRunner, runs_in_server


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    ws = app.state.workspace
    assert isinstance(ws, Workspace)
    sweep_uploads(ws)
    runner = JobRunner(ws) if runs_in_server(ws) else None
    app.state.jobs = runner
    if runner is not None:
        runner.start()
    carrier = RegistryCarrier(ws, ws.settings.registry_poll, runner.wake if runner is not None else None)
    carrier.start()
    try:
        yield
    finally:
        carrier.stop()
        if runner is not None:
            runner.stop()
