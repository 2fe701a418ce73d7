"""Admin (`/admin`, the hub's admin only): operators, agreements, periods (open, close), users and tokens,
and jobs with their progress (start a reconciliation or a netting round). An operator's user sees its
own jobs on `/jobs`. Each action goes through the same service as the API's admin routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from o2o.api.deps import workspace
from o2o.bootstrap import Workspace
from o2o.domain.identity import Permission
from o2o.portal.web import Caller, Page, form_caller, render
from o2o.services import hub_admin, jobs, portal_sign_in, settlement

router = APIRouter(include_in_schema=False)
WS = Annotated[Workspace, Depends(workspace)]
FormCaller = Annotated[Caller, Depends(form_caller)]


@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request, caller: Page, ws: WS, done: str = "") -> Response:
    caller.actor.require(Permission.ADMIN)
    return render(
        request, caller, "admin.html", done=done,
        operators=hub_admin.operators(ws), agreements=hub_admin.agreements(ws, caller.actor),
        cycles=settlement.cycle_status(ws), users=portal_sign_in.users(ws), tokens=hub_admin.tokens(ws),
        jobs=[j.to_dict() for j in jobs.list_jobs(ws, caller.actor, 50)],
    )  # fmt: skip


@router.get("/jobs", response_class=HTMLResponse)
def job_list(request: Request, caller: Page, ws: WS) -> Response:
    found = [j.to_dict() for j in jobs.list_jobs(ws, caller.actor, 100)]
    return render(request, caller, "jobs.html", jobs=found)


@router.get("/jobs/table", response_class=HTMLResponse)
def job_table(request: Request, caller: Page, ws: WS) -> Response:
    """The jobs table alone: the page's script fetches it again while a job is queued or running."""
    found = [j.to_dict() for j in jobs.list_jobs(ws, caller.actor, 100)]
    return render(request, caller, "job_table.html", jobs=found)


@router.post("/admin/periods")
def period_action(
    caller: FormCaller,
    ws: WS,
    period: Annotated[str, Form(min_length=7, max_length=7)],
    action: Annotated[str, Form(pattern="^(open|close)$")],
) -> Response:
    caller.actor.require(Permission.ADMIN)
    if action == "open":
        hub_admin.open_period(ws, caller.actor, period)
    else:
        hub_admin.close_period(ws, caller.actor, period)
    return RedirectResponse(f"/admin?done={action}ed", status_code=303)


@router.post("/admin/jobs")
def start_job(
    caller: FormCaller,
    ws: WS,
    period: Annotated[str, Form(min_length=7, max_length=7)],
    kind: Annotated[str, Form(pattern="^(reconcile|netting)$")],
    mode: Annotated[str, Form(pattern="^(clearing-house|direct|conservative)$")] = "clearing-house",
) -> Response:
    caller.actor.require(Permission.ADMIN)
    if kind == "reconcile":
        job = jobs.enqueue_reconcile(ws, caller.actor, period)
    else:
        job = jobs.enqueue_netting(ws, caller.actor, period, mode)
    return RedirectResponse(f"/admin?done=queued+{job.id}", status_code=303)
