"""Operators register their public keys through the hub, and the hub's admin approves them.

The hub never holds an operator's private key: the operator makes its key pair on its own side and sends
the public key with a proof of possession (the key's signature over `registration_message(operator, key_id,
public_key)`); the request waits for the admin, whose approval registers the key on the ledger in a
`key.approved` entry signed by the hub and carrying the proof (a party with a valid key rotates it instead).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from o2o.bootstrap import Workspace
from o2o.domain.errors import InvalidTransitionError, NotFoundError, SignatureError, ValidationError
from o2o.domain.identity import Actor
from o2o.ledger.key_history import possession_problem, registration_message
from o2o.ledger.keys import PublicKeyRecord, key_id_of
from o2o.services.cycle_common import hub_signer
from o2o.store.hub_repository import KeyRequest
from o2o.store.repositories import now_utc
from o2o.store.uow import UnitOfWork

PENDING: Final = "pending"
APPROVED: Final = "approved"
REJECTED: Final = "rejected"
STATES: Final = (PENDING, APPROVED, REJECTED)

__all__ = ["KeyRequestView", "approve", "list_requests", "registration_message", "reject", "submit"]


@dataclass(frozen=True, slots=True)
class KeyRequestView:
    request: KeyRequest
    ledger_seq: int | None = None

    def to_dict(self) -> dict[str, Any]:
        r = self.request

        def iso(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "id": r.id, "operator": r.operator, "key_id": r.key_id, "public_key": r.public_key,
            "state": r.state, "requested_by": r.requested_by, "requested_at": iso(r.requested_at),
            "decided_by": r.decided_by, "decided_at": iso(r.decided_at), "reason": r.reason,
            "ledger_seq": self.ledger_seq,
        }  # fmt: skip


def _hex(value: str, field: str, size: int) -> str:
    text = value.strip().lower()
    if len(text) != size * 2 or any(c not in "0123456789abcdef" for c in text):
        raise ValidationError(f"{field}: {size * 2} hexadecimal characters expected")
    return text


def submit(ws: Workspace, actor: Actor, public_key: str, possession: str) -> KeyRequestView:
    """The caller's operator submits its new public key (raw Ed25519, hex) with its proof of possession."""
    operator = actor.acting_operator()
    public = _hex(public_key, "public_key", 32)
    proof = _hex(possession, "possession", 64)
    key_id = key_id_of(bytes.fromhex(public))
    problem = possession_problem(operator, key_id, public, proof)
    if problem is not None:
        raise SignatureError(f"possession: {problem} (sign the registration message with the new key)")
    with ws.uow() as uow:
        for other in uow.hub.key_requests(operator, PENDING):
            if other.key_id == key_id:
                raise InvalidTransitionError(f"key {key_id} of {operator} is already waiting ({other.id})")
        req = KeyRequest(
            f"KRQ-{secrets.token_hex(6)}", operator, key_id, public, PENDING, actor.user_id, now_utc(),
            None, None, None, 1, proof,
        )  # fmt: skip
        uow.hub.add_key_request(req)
        uow.events.record("key.requested", operator, operator, {"request": req.id, "key_id": key_id})
        uow.commit()
    return KeyRequestView(req)


def list_requests(ws: Workspace, actor: Actor, state: str | None = None) -> list[KeyRequestView]:
    """The key requests of the caller's operator (every operator's for the hub's admin)."""
    if state is not None and state not in STATES:
        raise ValidationError(f"state {state!r} is not one of: {', '.join(STATES)}")
    with ws.uow() as uow:
        return [KeyRequestView(r) for r in uow.hub.key_requests(actor.operator, state)]


def _pending(uow: UnitOfWork, request_id: str) -> KeyRequest:
    req = uow.hub.key_request(request_id)
    if req.state != PENDING:
        raise InvalidTransitionError(f"key request {request_id} is already {req.state}")
    return req


def approve(ws: Workspace, actor: Actor, request_id: str) -> KeyRequestView:
    """The admin approves: the key is registered on the ledger (signed by the hub, with the proof)."""
    if not actor.is_hub:
        raise NotFoundError(f"unknown key request {request_id!r}")
    hub = hub_signer(ws)
    with ws.uow() as uow:
        req = _pending(uow, request_id)
        record = PublicKeyRecord(req.operator, req.key_id, req.public_key)
        entry = uow.ledger.approve_key(hub, record, req.possession or "")
        uow.hub.decide_key_request(req, APPROVED, actor.user_id, now_utc(), None)
        done = uow.hub.key_request(request_id)
        uow.commit()
    return KeyRequestView(done, entry.seq)


def reject(ws: Workspace, actor: Actor, request_id: str, reason: str) -> KeyRequestView:
    """The admin refuses a key, with a reason (the operator sees it in its requests)."""
    if not actor.is_hub:
        raise NotFoundError(f"unknown key request {request_id!r}")
    if not reason.strip():
        raise ValidationError("reason: a rejection needs a reason")
    with ws.uow() as uow:
        req = _pending(uow, request_id)
        uow.hub.decide_key_request(req, REJECTED, actor.user_id, now_utc(), reason.strip()[:500])
        done = uow.hub.key_request(request_id)
        uow.commit()
    return KeyRequestView(done)
