"""Operators' public keys: an operator submits its new key with a proof of possession; the hub's admin
approves it onto the ledger, or rejects it with a reason. The hub never sees a private key."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from o2o.api.auth import Admin, Reader, SignerRole
from o2o.api.deps import WS
from o2o.api.models import KeyRejectIn, KeyRequestIn, KeyRequestOut
from o2o.api.problems import responses
from o2o.services import hub_keys

router = APIRouter(tags=["keys"], responses=responses(401, 403))

StateQuery = Annotated[str | None, Query(max_length=16, description="pending | approved | rejected")]


@router.post("/keys", response_model=KeyRequestOut, status_code=201, responses=responses(409, 422))
def submit_key(body: KeyRequestIn, actor: SignerRole, ws: WS) -> Any:
    """Submit the caller's operator's new Ed25519 public key (raw, hex) with `possession`: the key's
    signature over the registration message (`o2o.services.hub_keys.registration_message`)."""
    return hub_keys.submit(ws, actor, body.public_key, body.possession).to_dict()


@router.get("/keys", response_model=list[KeyRequestOut], responses=responses(422))
def my_keys(actor: Reader, ws: WS, state: StateQuery = None) -> Any:
    """The caller's operator's key requests and what became of them."""
    return [r.to_dict() for r in hub_keys.list_requests(ws, actor, state)]


@router.get("/admin/keys", response_model=list[KeyRequestOut], tags=["admin"], responses=responses(422))
def key_requests(actor: Admin, ws: WS, state: StateQuery = None) -> Any:
    """Every operator's key requests."""
    return [r.to_dict() for r in hub_keys.list_requests(ws, actor, state)]


@router.post(
    "/admin/keys/{request_id}/approve",
    response_model=KeyRequestOut,
    tags=["admin"],
    responses=responses(404, 409, 422),
)
def approve_key(request_id: str, actor: Admin, ws: WS) -> Any:
    """Approve a key request: the key is registered on the ledger (`key.approved`, signed by the hub)."""
    return hub_keys.approve(ws, actor, request_id).to_dict()


@router.post(
    "/admin/keys/{request_id}/reject",
    response_model=KeyRequestOut,
    tags=["admin"],
    responses=responses(404, 409, 422),
)
def reject_key(request_id: str, body: KeyRejectIn, actor: Admin, ws: WS) -> Any:
    """Reject a key request, with a reason."""
    return hub_keys.reject(ws, actor, request_id, body.reason).to_dict()
