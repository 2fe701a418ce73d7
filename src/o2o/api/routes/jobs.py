"""Jobs: `GET /jobs/{id}` (the caller's own operator's jobs; the admin's: all) and the admin's runs that
start one: a reconciliation of a period (or one agreement) and a netting round."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from o2o.api.auth import Admin, Reader
from o2o.api.deps import WS
from o2o.api.integration_models import JobOut, NettingRoundIn, ReconcileRunIn
from o2o.api.problems import responses
from o2o.services import jobs

router = APIRouter(tags=["jobs"], responses=responses(401, 403))


def _wake(request: Request) -> None:
    """Tell the server's own job runner (the embedded default) that a job is waiting."""
    runner = getattr(request.app.state, "jobs", None)
    if runner is not None:
        runner.wake()


@router.get("/jobs", response_model=list[JobOut])
def list_jobs(actor: Reader, ws: WS, limit: int = Query(default=100, ge=1, le=1000)) -> Any:
    """The latest jobs the caller may see."""
    return [j.to_dict() for j in jobs.list_jobs(ws, actor, limit)]


@router.get("/jobs/{job_id}", response_model=JobOut, responses=responses(404))
def get_job(job_id: str, actor: Reader, ws: WS) -> Any:
    """A job's state, progress, result or error."""
    return jobs.get_job(ws, actor, job_id).to_dict()


@router.post("/reconcile-runs", response_model=JobOut, status_code=202, responses=responses(404, 409, 422))
def start_reconcile(body: ReconcileRunIn, actor: Admin, ws: WS, request: Request) -> Any:
    """Queue the reconciliation of a period (every declared agreement, or the one named) as a job."""
    job = jobs.enqueue_reconcile(
        ws,
        actor,
        body.period,
        body.agreement,
        correct_clock=body.correct_clock,
        max_attempts=body.max_attempts,
    )
    _wake(request)
    return job.to_dict()


@router.post("/netting-rounds", response_model=JobOut, status_code=202, responses=responses(409, 422))
def start_netting(body: NettingRoundIn, actor: Admin, ws: WS, request: Request) -> Any:
    """Queue a netting round of the period as a job."""
    job = jobs.enqueue_netting(ws, actor, body.period, body.mode, max_attempts=body.max_attempts)
    _wake(request)
    return job.to_dict()
