"""Declarations (`/declarations`): an analyst uploads its operator's usage file (CSV or Parquet, the canonical
usage columns) for an agreement, period and service, and sees what it declared with the rows rejected
(`/declarations/{id}`).

The upload goes through the same use cases as `POST /api/v1/declarations`: the file is copied from the form a
megabyte at a time into a folder of the workspace's `uploads/` (`uploads.Upload`, removed after, swept if the
process dies), then imported by `uploads.declare_upload` (atomic, idempotent by content hash; a replacement
with rejects or far fewer rows needs "replace" ticked). A roaming agreement's BWRP usage report (.json) is
uploaded the same way to `POST /declarations/roaming` and declared by `uploads.declare_roaming_upload` (as
`POST /api/v1/roaming-declarations`: both directions in one step); the answer is the first direction's
declaration page, linking the other. Only the caller's operator's agreements are offered and accepted; another
pair's agreement answers as unknown, and the hub's admin declares for nobody."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final

import anyio
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URL

from o2o.api.deps import workspace
from o2o.bootstrap import Workspace
from o2o.domain.errors import O2OError, ValidationError
from o2o.domain.identity import Permission
from o2o.portal.web import Caller, Page, form_caller, render
from o2o.services import portal_views
from o2o.services.uploads import (
    Upload,
    declare_roaming_upload,
    declare_upload,
    show_declaration,
    upload_name,
)

router = APIRouter(include_in_schema=False)
WS = Annotated[Workspace, Depends(workspace)]
FormCaller = Annotated[Caller, Depends(form_caller)]
_CHUNK: Final = 1 << 20
_FORMATS: Final = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


@router.get("/declarations", response_class=HTMLResponse)
def declarations(
    request: Request, caller: Page, ws: WS, period: Annotated[str, Query(max_length=7)] = ""
) -> Response:
    per = period or portal_views.default_period(ws, caller.actor)
    return render(
        request, caller, "declarations.html", period=per,
        declared=portal_views.declarations(ws, caller.actor, per),
        choices=portal_views.declarable(ws, caller.actor) if caller.actor.operator else [],
    )  # fmt: skip


@router.get("/declarations/{declaration_id}", response_class=HTMLResponse)
def declaration(
    request: Request,
    declaration_id: str,
    caller: Page,
    ws: WS,
    done: str = "",
    also: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """One declaration with its rejects; `also`: the other direction's declaration of the same roaming report."""
    view = show_declaration(ws, caller.actor, declaration_id, 200)
    return render(request, caller, "declaration.html", view=view, d=view.declaration, done=done, also=also)


def _format(filename: str) -> str:
    for suffix, kind in _FORMATS.items():
        if filename.lower().endswith(suffix):
            return kind
    raise ValidationError(f"file: {filename or 'no file'}: a usage file ending .csv or .parquet")


async def _spool(file: UploadFile, path: Path) -> None:
    """The form's file copied to `path` a megabyte at a time: the file is never held in memory."""
    with path.open("wb") as out:
        while chunk := await file.read(_CHUNK):
            await anyio.to_thread.run_sync(out.write, chunk)


@router.post("/declarations")
async def declare(
    caller: FormCaller,
    ws: WS,
    file: Annotated[UploadFile, File(description="The usage file (CSV or Parquet).")],
    agreement: Annotated[str, Form(min_length=1, max_length=64)],
    period: Annotated[str, Form(min_length=7, max_length=7)],
    service: Annotated[str, Form(max_length=64)] = "",
    replace: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """The file declared as the caller's operator's usage of `agreement`, `period` and `service`."""
    caller.actor.require(Permission.ANALYSE)
    kind = _format(file.filename or "")
    with Upload(ws, upload_name(file.filename, kind)) as path:
        await _spool(file, path)
        try:
            result = await run_in_threadpool(
                declare_upload, ws, caller.actor, path, agreement, period, service.strip() or None, kind,
                bool(replace),
            )  # fmt: skip
        except O2OError as exc:  # the page's words for the command line's option
            raise type(exc)(str(exc).replace("pass --replace", "tick the Replace box")) from None
    done = "already imported" if result.already_imported else "declared"
    if result.replaced is not None:
        done += f", replacing {result.replaced.id}"
    url = URL(f"/declarations/{result.declaration.id}").include_query_params(done=done)
    return RedirectResponse(str(url), status_code=303)


@router.post("/declarations/roaming")
async def declare_roaming(
    caller: FormCaller,
    ws: WS,
    file: Annotated[UploadFile, File(description="The BWRP usage report (JSON).")],
    agreement: Annotated[str, Form(min_length=1, max_length=64)],
    period: Annotated[str, Form(min_length=7, max_length=7)],
) -> Response:
    """The report declared as the caller's operator's usage of roaming `agreement` and `period`: one
    declaration per direction, both or neither."""
    caller.actor.require(Permission.ANALYSE)
    name = file.filename or ""
    if not name.lower().endswith(".json"):
        raise ValidationError(f"file: {name or 'no file'}: a BWRP usage report ending .json")
    with Upload(ws, upload_name(name, "json")) as path:
        await _spool(file, path)
        results = await run_in_threadpool(declare_roaming_upload, ws, caller.actor, path, agreement, period)
    done = "already imported" if all(r.already_imported for r in results) else "declared"
    done += " (" + ", ".join(f"{r.declaration.service}: {r.declaration.id}" for r in results) + ")"
    replaced = [r.replaced.id for r in results if r.replaced is not None]
    if replaced:
        done += f", replacing {', '.join(replaced)}"
    first, *others = (r.declaration.id for r in results)
    url = URL(f"/declarations/{first}").include_query_params(done=done)
    if others:
        url = url.include_query_params(also=others[0])
    return RedirectResponse(str(url), status_code=303)
