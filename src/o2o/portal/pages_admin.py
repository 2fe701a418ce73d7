"""Admin (`/admin`, the hub's admin only): operators, agreements, periods (open, close), users and tokens,
and jobs with their progress (start a reconciliation or a netting round). An operator's user sees its
own jobs on `/jobs`. Each action goes through the same service as the API's admin routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from o2o.api.deps import workspace
from o2o.bootstrap import Workspace
from o2o.domain.identity import Permission
from o2o.portal.web import Caller, Page, form_caller, render
from o2o.services import hub_admin, hub_identity, jobs, portal_sign_in, settlement

router = APIRouter(include_in_schema=False)
WS = Annotated[Workspace, Depends(workspace)]
FormCaller = Annotated[Caller, Depends(form_caller)]


def _admin_page(
    request: Request, caller: Caller, ws: Workspace, done: str = "", issued: Any = None
) -> Response:
    caller.actor.require(Permission.ADMIN)
    return render(
        request, caller, "admin.html", done=done, issued=issued,
        operators=hub_admin.operators(ws), agreements=hub_admin.agreements(ws, caller.actor),
        cycles=settlement.cycle_status(ws), users=portal_sign_in.users(ws), tokens=hub_admin.tokens(ws),
        jobs=[j.to_dict() for j in jobs.list_jobs(ws, caller.actor, 50)],
    )  # fmt: skip


@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request, caller: Page, ws: WS, done: str = "") -> Response:
    return _admin_page(request, caller, ws, done)


@router.post("/admin/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    caller: FormCaller,
    ws: WS,
    operator: Annotated[str, Form(min_length=1, max_length=32)],
    role: Annotated[str, Form(pattern="^(viewer|analyst|signer|admin)$")],
    expires: Annotated[int | None, Form(ge=1, le=3650)] = None,
) -> Response:
    """A token made for a user of `operator`: shown in this answer only (the hub keeps its hash)."""
    caller.actor.require(Permission.ADMIN)
    issued = hub_identity.create_token(ws, operator, role, expires)
    return _admin_page(request, caller, ws, f"token {issued.view.id} made", issued=issued)


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_token(token_id: str, caller: FormCaller, ws: WS) -> Response:
    caller.actor.require(Permission.ADMIN)
    hub_identity.revoke_token(ws, token_id)
    return RedirectResponse(f"/admin?done=revoked+{token_id}", status_code=303)


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
