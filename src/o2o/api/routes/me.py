"""Who the caller is, its agreements and its cycles."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from o2o.api.auth import Reader
from o2o.api.deps import WS
from o2o.api.models import AgreementDetail, AgreementSummary, CycleStatus, Me
from o2o.api.problems import responses
from o2o.services import hub_cycle

router = APIRouter(tags=["operator"], responses=responses(401, 403))

PeriodQuery = Query(default=None, description="A settlement period YYYY-MM.", max_length=7)


@router.get("/me", response_model=Me)
def me(actor: Reader, ws: WS) -> Any:
    """The caller: user, operator, role and what it may do, and the agreements it is a party to."""
    return hub_cycle.me(ws, actor)


@router.get("/agreements", response_model=list[AgreementSummary])
def agreements(actor: Reader, ws: WS) -> Any:
    """The agreements the caller's operator is a party to."""
    return hub_cycle.agreements(ws, actor)


@router.get("/agreements/{agreement_id}", response_model=AgreementDetail, responses=responses(404))
def agreement(agreement_id: str, actor: Reader, ws: WS) -> Any:
    """One of the caller's agreements, with its validated document."""
    return hub_cycle.agreement(ws, actor, agreement_id)


@router.get("/cycles", response_model=list[CycleStatus], responses=responses(422))
def cycles(actor: Reader, ws: WS, period: str | None = PeriodQuery) -> Any:
    """The state of each of the caller's cycles (of `period`), with who it waits for."""
    return hub_cycle.cycles(ws, actor, period)
