"""Declarations by upload: `POST /declarations` takes the usage file as the request body (streamed to disk
in chunks, never held in memory) and imports it as `o2o usage import` does; `POST /roaming-declarations`
takes a roaming agreement's BWRP usage report (JSON) likewise and declares both its directions, as
`o2o usage import --format bwrp` does; `GET /declarations/{id}` shows one of the caller's declarations with
its rejected rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from o2o.api.auth import Analyst, Reader
from o2o.api.deps import WS
from o2o.api.integration_models import DeclarationDetail, Declared, RoamingDeclared
from o2o.api.problems import responses
from o2o.bootstrap import Workspace
from o2o.domain.declarations import Declaration
from o2o.domain.errors import O2OError, ValidationError
from o2o.domain.identity import Actor
from o2o.services.uploads import (
    Upload,
    declare_roaming_upload,
    declare_upload,
    show_declaration,
    upload_name,
)

router = APIRouter(tags=["declarations"], responses=responses(401, 403))
_ANSWERS = responses(404, 409, 422)
_ANSWERS[200] = {"description": "The same file was already the active declaration", "model": Declared}
_ROAMING_ANSWERS = responses(404, 409, 422)
_ROAMING_ANSWERS[200] = {
    "description": "The same report was already declared (both directions)",
    "model": RoamingDeclared,
}
_ROAMING = "a BWRP usage report (JSON) is declared with POST /api/v1/roaming-declarations"

_PARQUET_TYPES = ("application/vnd.apache.parquet", "application/x-parquet", "application/parquet")
# Writes go to the file in pieces of this size (a thread's write each), so the body never sits in memory.
_WRITE_BYTES = 4 << 20
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_BODY = {
    "requestBody": {
        "required": True,
        "description": "The usage file itself (CSV or Parquet, canonical usage columns), as the body.",
        "content": {
            "text/csv": _BINARY,
            "application/vnd.apache.parquet": _BINARY,
            "application/octet-stream": _BINARY,
        },
    }
}
_ROAMING_BODY = {
    "requestBody": {
        "required": True,
        "description": "The BWRP usage report itself (JSON: `{inbound, outbound}`, a flat list, or a "
        "calculation request whose `usage` it takes), as the body.",
        "content": {"application/json": _BINARY, "application/octet-stream": _BINARY},
    }
}


def _format(fmt: str | None, filename: str | None, content_type: str | None) -> str | None:
    """The file's format: `format` if given, else its name's suffix, else the body's content type."""
    if fmt == "bwrp" or (not fmt and Path(filename or "").suffix.lower() == ".json"):
        raise ValidationError(f"format: {_ROAMING}")
    if fmt:
        return fmt
    suffix = Path(filename or "").suffix.lower()
    if suffix in (".csv", ".parquet", ".pq"):
        return "csv" if suffix == ".csv" else "parquet"
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind == "text/csv":
        return "csv"
    if kind in _PARQUET_TYPES:
        return "parquet"
    if kind == "application/json":
        raise ValidationError(f"format: {_ROAMING}")
    raise ValidationError(
        "format: give ?format=csv|parquet, a filename ending .csv|.parquet, or Content-Type text/csv"
    )


async def _spool(request: Request, path: Path) -> None:
    """The request body into `path`, a few megabytes at a time."""
    pending: list[bytes] = []
    size = 0
    with path.open("wb") as fh:
        async for chunk in request.stream():
            pending.append(chunk)
            size += len(chunk)
            if size >= _WRITE_BYTES:
                await anyio.to_thread.run_sync(fh.write, b"".join(pending))
                pending, size = [], 0
        if pending:
            await anyio.to_thread.run_sync(fh.write, b"".join(pending))


def _row(d: Declaration) -> dict[str, Any]:
    return {
        "id": d.id, "agreement": d.agreement_id, "service": d.service, "period": d.period,
        "declarer": d.declarer, "role": d.role.value, "rows": d.totals.rows, "rejected": d.totals.rejected,
        "duration_s": d.totals.duration_s, "volume": d.totals.volume, "sha256": d.sha256,
        "source": d.source_name, "status": d.status.value, "supersedes": d.supersedes,
        "created_at": d.created_at.isoformat(),
    }  # fmt: skip


def _check_agreement(ws: Workspace, actor: Actor, agreement: str) -> None:
    from o2o.services.hub_policy import agreement_for

    actor.acting_operator()
    with ws.uow() as uow:
        agreement_for(uow, actor, agreement)


@router.post(
    "/declarations",
    response_model=Declared,
    status_code=201,
    responses=_ANSWERS,
    openapi_extra=_BODY,
)
async def declare(
    request: Request,
    response: Response,
    actor: Analyst,
    ws: WS,
    agreement: str = Query(min_length=1, max_length=64),
    period: str = Query(min_length=7, max_length=7, description="YYYY-MM"),
    service: str | None = Query(default=None, max_length=64),
    fmt: str | None = Query(default=None, alias="format", pattern="^(csv|parquet|bwrp)$"),
    filename: str | None = Query(
        default=None, max_length=255, description="Kept as the declaration's source."
    ),
    replace: bool = Query(default=False, description="Confirm a replacement with rejects or far fewer rows."),
) -> Any:
    """Declare the caller's operator's usage of an agreement, period and service: the body is the file."""
    kind = _format(fmt, filename, request.headers.get("content-type"))
    # Refused before the body is read: a foreign or unknown agreement, or the hub's admin (no operator).
    await run_in_threadpool(_check_agreement, ws, actor, agreement)
    with Upload(ws, upload_name(filename, kind)) as path:
        await _spool(request, path)
        try:
            result = await run_in_threadpool(
                declare_upload, ws, actor, path, agreement, period, service, kind, replace
            )
        except O2OError as exc:  # the API's words for the command line's option
            raise type(exc)(str(exc).replace("pass --replace", "send replace=true")) from None
    if result.already_imported:
        response.status_code = 200
    return _row(result.declaration) | {
        "already_imported": result.already_imported,
        "replaced": result.replaced.id if result.replaced else None,
    }


@router.post(
    "/roaming-declarations",
    response_model=RoamingDeclared,
    status_code=201,
    responses=_ROAMING_ANSWERS,
    openapi_extra=_ROAMING_BODY,
)
async def declare_roaming(
    request: Request,
    response: Response,
    actor: Analyst,
    ws: WS,
    agreement: str = Query(min_length=1, max_length=64, description="A roaming agreement's id."),
    period: str = Query(min_length=7, max_length=7, description="YYYY-MM"),
    filename: str | None = Query(
        default=None, max_length=255, description="Kept as the declarations' source."
    ),
) -> Any:
    """Declare the caller's operator's BWRP usage report of a roaming agreement and period: one declaration
    per direction (both or neither), as `o2o usage import --format bwrp` does. The body is the report."""
    await run_in_threadpool(_check_agreement, ws, actor, agreement)
    with Upload(ws, upload_name(filename, "json")) as path:
        await _spool(request, path)
        results = await run_in_threadpool(declare_roaming_upload, ws, actor, path, agreement, period)
    already = all(r.already_imported for r in results)
    if already:
        response.status_code = 200
    first = results[0].declaration
    return {
        "agreement": first.agreement_id, "period": first.period, "declarer": first.declarer,
        "sha256": first.sha256, "source": first.source_name, "already_imported": already,
        "declarations": [
            _row(r.declaration) | {
                "already_imported": r.already_imported, "replaced": r.replaced.id if r.replaced else None,
            }
            for r in results
        ],
    }  # fmt: skip


@router.get("/declarations/{declaration_id}", response_model=DeclarationDetail, responses=responses(404, 422))
def declaration(
    declaration_id: str, actor: Reader, ws: WS, rejects: int = Query(default=1000, ge=0, le=1000)
) -> Any:
    """One of the caller's declarations, with its rejected rows (line, reason, raw text)."""
    view = show_declaration(ws, actor, declaration_id, rejects)
    return _row(view.declaration) | {"rejects": view.rejects, "rejects_total": view.rejects_total}
