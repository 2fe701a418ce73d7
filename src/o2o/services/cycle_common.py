"""What the cycle's use cases share: the hub's signer, registering facts, canonical documents."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import rfc8785

from o2o.bootstrap import Workspace
from o2o.domain.agreements import Role, SettledAgreement
from o2o.domain.cycle import Cycle, CycleState
from o2o.domain.identity import Actor, PermissionDeniedError
from o2o.ledger.keys import HUB, Signer
from o2o.services.ledger import append_entry, generate_key, key_path, load_signer
from o2o.store.uow import UnitOfWork


def hub_signer(ws: Workspace) -> Signer:
    """The hub's key, made on first use (the hub runs the platform and registers its facts)."""
    if not key_path(ws, HUB).exists():
        generate_key(ws, HUB)
    return load_signer(ws, HUB)


def acting_signer(ws: Workspace, operator: str, passphrase: bytes | None, via: Actor | None) -> Signer:
    """Who signs the ledger entry of `operator`'s action: its own key in the local workspace; through the
    hub (`via` the authenticated caller) the hub, which holds no operator's key, and names the caller."""
    if via is None:
        return load_signer(ws, operator, passphrase)
    if via.operator != operator:
        raise PermissionDeniedError(f"{via.user_name} acts for {via.ledger_name}, not for {operator}")
    return hub_signer(ws)


def provenance(via: Actor | None) -> dict[str, str]:
    """What a ledger entry records of an action taken through the hub: the user, the token, the party."""
    return {} if via is None else via.provenance()


def register(uow: UnitOfWork, signer: Signer, kind: str, subject: str, payload: Mapping[str, Any]) -> None:
    """Record the fact as an event and register it on the ledger, in the caller's transaction."""
    plain = json.loads(json.dumps(payload, default=_plain))
    uow.events.record(kind, subject, signer.operator, plain)
    append_entry(uow, kind, subject, plain, signer.operator, signer)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def canonical(document: Mapping[str, Any]) -> bytes:
    """RFC 8785 canonical JSON of a document whose amounts are decimal strings."""
    return bytes(rfc8785.dumps(json.loads(json.dumps(document, default=_plain))))


def digest(document: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(document)).hexdigest()


def move_cycle(uow: UnitOfWork, cycle: Cycle, target: CycleState, signer: Signer) -> Cycle:
    """Move a cycle (optimistic lock on the version read) and register the transition on the ledger."""
    moved = uow.cycles.move(cycle, target)
    register(uow, signer, f"cycle.{target.value}", cycle.id, {"from": cycle.state.value})
    return moved


def missing_declarations(agreement: SettledAgreement, declared: set[tuple[str, Role]]) -> list[str]:
    """Who still has to declare what: `OP (role) for SERVICE`, for every usage service of the agreement
    (every direction of a roaming agreement)."""
    return [
        f"{s.provider if role is Role.PROVIDER else s.customer} ({role.value}) for {s.id}"
        for s in agreement.usage_services
        for role in (Role.PROVIDER, Role.CUSTOMER)
        if (s.id, role) not in declared
    ]
