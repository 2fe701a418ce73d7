"""The caller's books: its statement of account with a counterparty, and the reconciliation of its books
with the extract the counterparty gave it."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile

from o2o.api.auth import Analyst, Reader
from o2o.api.deps import WS
from o2o.api.models import Open
from o2o.api.problems import responses
from o2o.domain.errors import ValidationError
from o2o.services import hub_cycle

router = APIRouter(tags=["accounts"], responses=responses(401, 403))

# A partner's extract is a CSV of its book lines with us: small; a larger upload is refused.
MAX_EXTRACT_BYTES = 32 * 1024 * 1024


@router.get("/accounts/statement", response_model=Open, responses=responses(404, 422))
def statement(
    actor: Reader,
    ws: WS,
    counterparty: Annotated[str, Query(min_length=1, max_length=32)],
    date_from: Annotated[date, Query(alias="from")],
    date_to: Annotated[date, Query(alias="to")],
) -> Any:
    """The statement of account between the caller and `counterparty` over [from, to], per currency."""
    return hub_cycle.account_statement(ws, actor, counterparty, date_from, date_to)


@router.post("/accounts/reconcile", response_model=Open, responses=responses(400, 404, 422))
def reconcile(
    actor: Analyst,
    ws: WS,
    counterparty: Annotated[str, Form(min_length=1, max_length=32)],
    as_of: Annotated[date, Form()],
    extract: Annotated[UploadFile, File(description="The counterparty's extract (CSV).")],
    tolerance_days: Annotated[int, Form(ge=0, le=366)] = 5,
) -> Any:
    """Match the counterparty's extract of its books against the caller's books as of `as_of`."""
    name = Path(extract.filename or "extract.csv").name or "extract.csv"
    with tempfile.TemporaryDirectory(prefix="o2o-extract-") as folder:
        path = Path(folder) / name
        size = 0
        with path.open("wb") as out:
            while chunk := extract.file.read(1024 * 1024):
                size += len(chunk)
                if size > MAX_EXTRACT_BYTES:
                    raise ValidationError(f"extract: larger than {MAX_EXTRACT_BYTES} bytes")
                out.write(chunk)
        return hub_cycle.reconcile_extract(ws, actor, counterparty, path, as_of, tolerance_days)
