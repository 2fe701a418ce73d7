"""Admin (the hub's admin only), one page per subject: `/admin` (periods and cycles, open or close a period,
start a reconciliation or a netting round, jobs with their progress), `/admin/operators` (add operators by
uploading an operators file), `/admin/agreements` (load an agreement TOML), `/admin/users` (users and
tokens: make a user with a password or a token, disable a user or enable it again, revoke a token). An
operator's user sees its own jobs on `/jobs`. Each action goes through the same service as the API's admin
routes (and the CLI), with the session's CSRF token; an uploaded file is read into a private temporary folder
and named in any error as the admin named it."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Final, TypeVar

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URL

from o2o.api.deps import workspace
from o2o.bootstrap import Workspace
from o2o.domain.errors import O2OError, ValidationError
from o2o.domain.identity import Permission
from o2o.portal.web import Caller, Page, form_caller, render
from o2o.services import hub_admin, hub_identity, jobs, portal_sign_in, settlement

router = APIRouter(include_in_schema=False)
WS = Annotated[Workspace, Depends(workspace)]
FormCaller = Annotated[Caller, Depends(form_caller)]
MAX_FILE_BYTES: Final = 16 * 1024 * 1024  # an operators or agreement file (the API takes 64 MiB of TOML)
T = TypeVar("T")

# The admin's pages: (path, title) in the order of its sub-navigation.
SECTIONS: Final = (
    ("/admin", "Periods and jobs"),
    ("/admin/operators", "Operators"),
    ("/admin/agreements", "Agreements"),
    ("/admin/users", "Users and tokens"),
)


def _page(request: Request, caller: Caller, template: str, done: str = "", **data: Any) -> Response:
    caller.actor.require(Permission.ADMIN)
    return render(request, caller, template, done=done, sections=SECTIONS, **data)


def _back(url: str, done: str) -> RedirectResponse:
    return RedirectResponse(str(URL(url).include_query_params(done=done)), status_code=303)


async def _with_upload(upload: UploadFile, default: str, use: Callable[[Path], T]) -> T:
    """`use(path)` on the uploaded file, kept under its own name (without folders) in a private temporary
    folder that is removed after."""
    name = Path(upload.filename or default).name or default
    data = await upload.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ValidationError(f"{name}: larger than {MAX_FILE_BYTES} bytes")
    if not data:
        raise ValidationError(f"{name}: the file is empty (choose a file to upload)")
    with tempfile.TemporaryDirectory(prefix="o2o-admin-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            return await run_in_threadpool(use, path)
        except O2OError as exc:  # a file it names beside the upload (a rate deck): named without the folder
            raise type(exc)(str(exc).replace(f"{folder}/", "")) from None


# --- periods and jobs ------------------------------------------------------------------------------


@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request, caller: Page, ws: WS, done: str = "") -> Response:
    caller.actor.require(Permission.ADMIN)
    return _page(
        request, caller, "admin.html", done, cycles=settlement.cycle_status(ws),
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
    return _back("/admin", f"{action}ed {period}")


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
    return _back("/admin", f"queued {job.id}")


# --- operators and agreements --------------------------------------------------------------------


@router.get("/admin/operators", response_class=HTMLResponse)
def operators(request: Request, caller: Page, ws: WS, done: str = "") -> Response:
    caller.actor.require(Permission.ADMIN)
    return _page(request, caller, "admin_operators.html", done, operators=hub_admin.operators(ws))


@router.post("/admin/operators")
async def add_operators(
    caller: FormCaller, ws: WS, file: Annotated[UploadFile, File(description="An operators TOML file.")]
) -> Response:
    """The operators of an uploaded file added (all or none), as `o2o operator add --file` adds them."""
    caller.actor.require(Permission.ADMIN)
    added = await _with_upload(
        file, "operators.toml", lambda path: hub_admin.add_operators_file(ws, caller.actor, path)
    )
    return _back("/admin/operators", "added " + ", ".join(o["id"] for o in added))


@router.get("/admin/agreements", response_class=HTMLResponse)
def agreements(request: Request, caller: Page, ws: WS, done: str = "") -> Response:
    caller.actor.require(Permission.ADMIN)
    found = hub_admin.agreements(ws, caller.actor)
    return _page(request, caller, "admin_agreements.html", done, agreements=found)


@router.post("/admin/agreements")
async def load_agreement(
    caller: FormCaller, ws: WS, file: Annotated[UploadFile, File(description="An agreement TOML file.")]
) -> Response:
    """An uploaded agreement validated and stored (a changed file: a new revision), as the API loads it."""
    caller.actor.require(Permission.ADMIN)
    loaded = await _with_upload(
        file, "agreement.toml", lambda path: hub_admin.load_agreement(ws, caller.actor, path)
    )
    what = "unchanged" if loaded["unchanged"] else f"revision {loaded['revision']}"
    return _back("/admin/agreements", f"loaded {loaded['id']} ({what})")


# --- users and tokens ----------------------------------------------------------------------------


def _users_page(
    request: Request, caller: Caller, ws: Workspace, done: str = "", issued: Any = None
) -> Response:
    return _page(
        request, caller, "admin_users.html", done, issued=issued, users=portal_sign_in.users(ws),
        tokens=hub_admin.tokens(ws), operators=hub_admin.operators(ws),
    )  # fmt: skip


@router.get("/admin/users", response_class=HTMLResponse)
def users(request: Request, caller: Page, ws: WS, done: str = "") -> Response:
    caller.actor.require(Permission.ADMIN)
    return _users_page(request, caller, ws, done)


@router.post("/admin/users")
def create_user(
    caller: FormCaller,
    ws: WS,
    operator: Annotated[str, Form(min_length=1, max_length=32)],
    role: Annotated[str, Form(pattern="^(viewer|analyst|signer|admin)$")],
    name: Annotated[str, Form(min_length=1, max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
) -> Response:
    """A user who signs in with a password (an existing user of that operator and role: a new password)."""
    caller.actor.require(Permission.ADMIN)
    made = portal_sign_in.create_user(ws, operator, role, name, password)
    return _back("/admin/users", f"user {made['user']} ({made['role']} of {made['operator']}) made")


@router.post("/admin/users/{user_id}/disable")
def disable_user(user_id: str, caller: FormCaller, ws: WS) -> Response:
    caller.actor.require(Permission.ADMIN)
    if user_id == caller.actor.user_id:
        raise ValidationError("user: you cannot disable the user you are signed in as")
    done = portal_sign_in.disable_user(ws, user_id)
    return _back("/admin/users", f"user {done['user']} disabled")


@router.post("/admin/users/{user_id}/enable")
def enable_user(user_id: str, caller: FormCaller, ws: WS) -> Response:
    """A disabled user enabled again: its password signs in; its earlier tokens and sessions stay refused."""
    caller.actor.require(Permission.ADMIN)
    done = portal_sign_in.enable_user(ws, user_id)
    return _back("/admin/users", portal_sign_in.enabled_message(done))


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
    return _users_page(request, caller, ws, f"token {issued.view.id} made", issued=issued)


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_token(token_id: str, caller: FormCaller, ws: WS) -> Response:
    caller.actor.require(Permission.ADMIN)
    hub_identity.revoke_token(ws, token_id)
    return _back("/admin/users", f"revoked {token_id}")
