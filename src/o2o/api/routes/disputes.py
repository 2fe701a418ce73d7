"""Disputes of the caller's statements: read them, propose an amount, accept or reject the other's."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from o2o.api.auth import Analyst, Reader
from o2o.api.deps import WS
from o2o.api.models import ConcessionIn, DisputeDetail, DisputeSummary, ProposalIn
from o2o.api.problems import responses
from o2o.services import hub_cycle

router = APIRouter(tags=["disputes"], responses=responses(401, 403))
_ACT = responses(404, 409, 422)


@router.get("/disputes", response_model=list[DisputeSummary], responses=responses(422))
def disputes(
    actor: Reader, ws: WS, state: str | None = Query(default=None, max_length=16, description="open, …")
) -> Any:
    """The disputes between the caller and its counterparties (in `state`)."""
    return hub_cycle.list_disputes(ws, actor, state)


@router.get("/disputes/{dispute_id}", response_model=DisputeDetail, responses=responses(404))
def dispute(dispute_id: str, actor: Reader, ws: WS) -> Any:
    """The dispute with its figures and proposals."""
    return hub_cycle.show_dispute(ws, actor, dispute_id)


@router.post(
    "/disputes/{dispute_id}/proposals", response_model=DisputeDetail, status_code=201, responses=_ACT
)
def propose(dispute_id: str, body: ProposalIn, actor: Analyst, ws: WS) -> Any:
    """Propose the amount for the line (none given: split the difference)."""
    return hub_cycle.propose(ws, actor, dispute_id, body.amount, body.note)


@router.post(
    "/disputes/{dispute_id}/concessions", response_model=DisputeDetail, status_code=201, responses=_ACT
)
def concede(dispute_id: str, body: ConcessionIn, actor: Analyst, ws: WS) -> Any:
    """Split the contested amount: give up `amount` of it and keep contesting the rest."""
    return hub_cycle.concede(ws, actor, dispute_id, body.amount, body.note)


@router.post("/disputes/{dispute_id}/accept", response_model=DisputeDetail, responses=_ACT)
def accept(dispute_id: str, actor: Analyst, ws: WS) -> Any:
    """Accept the counterparty's latest proposal: the dispute is resolved at its amount."""
    return hub_cycle.accept(ws, actor, dispute_id)


@router.post("/disputes/{dispute_id}/reject", response_model=DisputeDetail, responses=_ACT)
def reject(dispute_id: str, actor: Analyst, ws: WS) -> Any:
    """Reject the counterparty's latest proposal."""
    return hub_cycle.reject(ws, actor, dispute_id)
