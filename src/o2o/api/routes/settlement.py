"""Obligations and payment instructions of the caller; the payee confirms a payment arrived; on an evm hub,
a netting round's participants send their EIP-712 acceptances of it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from o2o.api.auth import Reader, SignerRole
from o2o.api.deps import WS
from o2o.api.models import (
    ChainSignatureIn,
    Confirmed,
    ConfirmIn,
    ObligationOut,
    PaymentOut,
    RoundAcceptanceOut,
    RoundTypedData,
)
from o2o.api.problems import responses
from o2o.services import hub_cycle, registry_signatures

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


@router.get(
    "/netting-rounds/{round_id}/chain-typed-data", response_model=RoundTypedData, responses=responses(404)
)
def round_typed_data(round_id: str, actor: Reader, ws: WS) -> Any:
    """On an evm hub: the EIP-712 `RoundAcceptance` typed data the caller's operator signs with its chain key
    to accept the netting round on the settlement contract (404 for a round it has no part in, or when the
    hub's registry is not evm)."""
    return registry_signatures.round_typed_data(ws, actor, round_id)


@router.post(
    "/netting-rounds/{round_id}/chain-signatures",
    response_model=RoundAcceptanceOut,
    status_code=201,
    responses=responses(404, 409, 422),
)
def round_accept(round_id: str, body: ChainSignatureIn, actor: SignerRole, ws: WS) -> Any:
    """The caller's operator's EIP-712 acceptance of the round, made on its side: kept when it recovers to
    the operator's chain address registered on the ledger; the publisher relays it to the contract."""
    return registry_signatures.submit_round_acceptance(ws, actor, round_id, body.signature)
