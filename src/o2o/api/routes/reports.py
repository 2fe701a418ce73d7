"""The hub admin's read-back of a run: a statement's reconciliation figures per line, a netting round."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from o2o.api.auth import Admin
from o2o.api.deps import WS
from o2o.api.models import Open
from o2o.api.problems import responses
from o2o.services import hub_reports

router = APIRouter(prefix="/admin", tags=["admin"], responses=responses(401, 403))


@router.get("/statements/{statement_id}/reconciliation", response_model=Open, responses=responses(404))
def reconciliation(statement_id: str, actor: Admin, ws: WS) -> Any:
    """The statement's lines with their reconciliation figures: the record counts of the matching and each
    side's rated amount (no record, no file of the lake)."""
    return hub_reports.statement_reconciliation(ws, actor, statement_id)


@router.get("/netting-rounds/{round_id}", response_model=Open, responses=responses(404))
def netting_round(round_id: str, actor: Admin, ws: WS) -> Any:
    """A netting round: its period, mode, state and registered figures."""
    return hub_reports.netting_round(ws, actor, round_id)
