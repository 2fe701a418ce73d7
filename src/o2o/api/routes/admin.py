"""The hub's own administration (role admin): operators, agreements, periods, tokens and the request log."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, File, Query, UploadFile

from o2o.api.auth import Admin
from o2o.api.deps import WS
from o2o.api.models import (
    AgreementLoaded,
    AgreementSummary,
    OperatorIn,
    OperatorOut,
    PeriodChange,
    RequestLogLine,
    TokenOut,
)
from o2o.api.problems import responses
from o2o.domain.errors import ValidationError
from o2o.services import hub_admin

router = APIRouter(prefix="/admin", tags=["admin"], responses=responses(401, 403))

MAX_AGREEMENT_BYTES = 64 * 1024 * 1024  # an agreement's or an operators file's TOML


T = TypeVar("T")


def _with_uploaded(file: UploadFile, default: str, use: Callable[[Path], T]) -> T:
    """`use` given the uploaded file, kept under the name the admin sent (errors name it so), then removed."""
    name = Path(file.filename or default).name or default
    data = file.file.read(MAX_AGREEMENT_BYTES + 1)
    if len(data) > MAX_AGREEMENT_BYTES:
        raise ValidationError(f"{name}: larger than {MAX_AGREEMENT_BYTES} bytes")
    with tempfile.TemporaryDirectory(prefix="o2o-admin-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        return use(path)


@router.get("/operators", response_model=list[OperatorOut])
def operators(actor: Admin, ws: WS) -> Any:
    """Every operator of the hub."""
    return hub_admin.operators(ws)


@router.post("/operators", response_model=OperatorOut, status_code=201, responses=responses(409, 422))
def add_operator(body: OperatorIn, actor: Admin, ws: WS) -> Any:
    """Add an operator."""
    return hub_admin.add_operator(ws, actor, **body.model_dump())


@router.post(
    "/operators/file", response_model=list[OperatorOut], status_code=201, responses=responses(409, 422)
)
def add_operators_file(
    actor: Admin,
    ws: WS,
    file: Annotated[UploadFile, File(description="An operators file (TOML, as `o2o operator add --file`).")],
) -> Any:
    """Add every operator of an operators file, with its numbering plan and legal data: all or none."""
    return _with_uploaded(file, "operators.toml", lambda path: hub_admin.add_operators_file(ws, actor, path))


@router.get("/agreements", response_model=list[AgreementSummary])
def agreements(actor: Admin, ws: WS) -> Any:
    """Every agreement of the hub."""
    return hub_admin.agreements(ws, actor)


@router.post("/agreements", response_model=AgreementLoaded, status_code=201, responses=responses(404, 422))
def load_agreement(
    actor: Admin, ws: WS, file: Annotated[UploadFile, File(description="An agreement TOML file.")]
) -> Any:
    """Validate and store an agreement; a changed file becomes a new revision."""
    return _with_uploaded(file, "agreement.toml", lambda path: hub_admin.load_agreement(ws, actor, path))


@router.post("/periods/{period}/open", response_model=PeriodChange, responses=responses(422))
def open_period(period: str, actor: Admin, ws: WS) -> Any:
    """Open the period's cycle of every agreement."""
    return hub_admin.open_period(ws, actor, period)


@router.post("/periods/{period}/close", response_model=PeriodChange, responses=responses(404, 409, 422))
def close_period(period: str, actor: Admin, ws: WS) -> Any:
    """Close every settled cycle of the period."""
    return hub_admin.close_period(ws, actor, period)


@router.get("/tokens", response_model=list[TokenOut])
def tokens(actor: Admin, ws: WS) -> Any:
    """Every API token (never its secret)."""
    return hub_admin.tokens(ws)


@router.get("/requests", response_model=list[RequestLogLine])
def request_log(actor: Admin, ws: WS, limit: int = Query(default=100, ge=1, le=1000)) -> Any:
    """The latest requests to the hub, newest first: who, what, and how it ended."""
    return hub_admin.request_log(ws, limit)
