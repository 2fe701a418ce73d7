"""Obligations and payment instructions of the caller; the payee confirms a payment arrived."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from o2o.api.auth import Reader, SignerRole
from o2o.api.deps import WS
from o2o.api.models import Confirmed, ConfirmIn, ObligationOut, PaymentOut
from o2o.api.problems import responses
from o2o.services import hub_cycle

router = APIRouter(tags=["settlement"], responses=responses(401, 403))


@router.get("/obligations", response_model=list[ObligationOut], responses=responses(422))
def obligations(
    actor: Reader,
    ws: WS,
    period: str | None = Query(default=None, max_length=7, description="YYYY-MM"),
    status: str | None = Query(default=None, max_length=16),
) -> Any:
    """The obligations the caller owes or is owed."""
    return hub_cycle.list_obligations(ws, actor, period, status)


@router.get("/payments", response_model=list[PaymentOut], responses=responses(422))
def payments(actor: Reader, ws: WS, status: str | None = Query(default=None, max_length=16)) -> Any:
    """The payment instructions the caller pays or receives."""
    return hub_cycle.list_payments(ws, actor, status)


@router.post("/payments/{payment_id}/confirm", response_model=Confirmed, responses=responses(404, 409, 422))
def confirm(payment_id: str, body: ConfirmIn, actor: SignerRole, ws: WS) -> Any:
    """The payee confirms the money arrived, with the bank's reference; the last of a round settles it."""
    return hub_cycle.confirm_payment(ws, actor, payment_id, body.reference)
