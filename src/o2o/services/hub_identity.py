"""The hub's identity use cases: API tokens for users of an operator (or of the hub), authentication of a
bearer token, the request log, and operators' public keys submitted for the admin's approval.

A token is shown once, when made: the store keeps only the SHA-256 of it (a 256-bit random secret needs no
slow hash). Authentication refuses an unknown, expired or revoked token with the same message, so a caller
learns nothing about which tokens exist; each use records when the token was last used.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from o2o.bootstrap import Workspace
from o2o.domain.errors import ValidationError
from o2o.domain.identity import (
    HUB_NAME,
    Actor,
    AuthenticationError,
    Role,
    check_membership,
)
from o2o.store.database import stored_revisions
from o2o.store.hub_repository import HubUser, TokenRecord
from o2o.store.repositories import now_utc
from o2o.store.uow import UnitOfWork

TOKEN_PREFIX = "o2o_"
MAX_EXPIRY_DAYS = 3650


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenView:
    """A token as listed: who it is for and its life; never its secret."""

    id: str
    user: str
    user_id: str
    operator: str
    role: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now_utc():
            return "expired"
        return "active"

    def to_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "id": self.id,
            "user": self.user,
            "user_id": self.user_id,
            "operator": self.operator,
            "role": self.role,
            "state": self.state,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "revoked_at": iso(self.revoked_at),
            "last_used_at": iso(self.last_used_at),
        }


def _view(rec: TokenRecord) -> TokenView:
    u = rec.user
    return TokenView(
        rec.id, u.name, u.id, u.operator or HUB_NAME, u.role.value, rec.created_at, rec.expires_at,
        rec.revoked_at, rec.last_used_at,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just made: its secret (shown this once) and what it is."""

    token: str
    view: TokenView

    def to_dict(self) -> dict[str, Any]:
        return {"token": self.token, **self.view.to_dict()}


def user_made(
    uow: UnitOfWork, name: str, member: str | None, role: Role, now: datetime, option: str
) -> HubUser:
    """The hub user `name` of `member` (None: of the hub) with `role`, made if it is new; a user of that name
    of another operator or role is refused (`option`: the command's option naming the user)."""
    if member is not None:
        uow.operators.get(member)
    found = uow.hub.user_named(name)
    if found is None:
        found = HubUser(f"usr_{secrets.token_hex(6)}", name, member, role, now)
        uow.hub.add_user(found)
    elif (found.operator, found.role) != (member, role):
        raise ValidationError(
            f"{option} {name} is a {found.role.value} of {found.operator or HUB_NAME}, "
            f"not a {role.value} of {member or HUB_NAME}"
        )
    return found


def _membership(operator: str, role: str) -> tuple[str | None, Role]:
    parsed = Role.parse(role, "--role")
    member = None if operator.strip().upper() == HUB_NAME else operator.strip()
    check_membership(member, parsed)
    return member, parsed


def create_token(
    ws: Workspace, operator: str, role: str, expires_days: int | None = None, user: str | None = None
) -> IssuedToken:
    """A new token for `user` (made on first use: of `operator`, or of the hub with `HUB`, with `role`)."""
    member, parsed = _membership(operator, role)
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRY_DAYS:
        raise ValidationError(f"--expires: {expires_days} days is not between 1 and {MAX_EXPIRY_DAYS}")
    name = (user or f"{(member or HUB_NAME).lower()}-{parsed.value}").strip()
    if not name or len(name) > 200:
        raise ValidationError("--user: a user name of 1 to 200 characters")
    now = now_utc()
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with ws.uow() as uow:
        found = user_made(uow, name, member, parsed, now, "--user")
        token_id = f"tok_{secrets.token_hex(6)}"
        expires = None if expires_days is None else now + timedelta(days=expires_days)
        uow.hub.add_token(token_id, found.id, token_hash(secret), now, expires)
        issued = IssuedToken(secret, _view(uow.hub.token(token_id)))
        uow.commit()
    return issued


def list_tokens(ws: Workspace, operator: str | None = None) -> list[TokenView]:
    """Every token (of `operator`, or the hub's own with `HUB`), oldest first."""
    with ws.uow() as uow:
        if operator is not None and operator.upper() != HUB_NAME:
            uow.operators.get(operator)
            return [_view(r) for r in uow.hub.tokens(operator)]
        found = [_view(r) for r in uow.hub.tokens()]
    return found if operator is None else [v for v in found if v.operator == HUB_NAME]


def revoke_token(ws: Workspace, token_id: str) -> TokenView:
    """Revoke a token: it authenticates no more (revoking it again is refused)."""
    with ws.uow() as uow:
        rec = uow.hub.token(token_id)
        if rec.revoked_at is not None:
            raise ValidationError(f"token {token_id} is already revoked ({rec.revoked_at.isoformat()})")
        uow.hub.revoke_token(token_id, now_utc())
        view = _view(uow.hub.token(token_id))
        uow.commit()
    return view


def authenticate(ws: Workspace, token: str | None) -> Actor:
    """The caller a bearer token names; an unknown, expired or revoked token is refused alike."""
    if not token:
        raise AuthenticationError("authentication required: send `Authorization: Bearer <token>`")
    refused = AuthenticationError("the token is not valid (unknown, expired or revoked)")
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise refused
    now = now_utc()
    with ws.uow() as uow:
        rec = uow.hub.token_by_hash(token_hash(token))
        if rec is None or rec.revoked_at is not None or rec.user.disabled_at is not None:
            raise refused
        if rec.expires_at is not None and rec.expires_at <= now:
            raise refused
        uow.hub.token_used(rec.id, now)
        uow.commit()
    u = rec.user
    return Actor(u.id, u.name, u.operator, u.role, rec.id)


def log_request(
    ws: Workspace, method: str, path: str, actor: Actor | None, status: int, outcome: str
) -> None:
    """Append one request to the hub's request log (who, what, and how it ended)."""
    with ws.uow() as uow:
        uow.hub.log_request(
            time=now_utc(), method=method[:8], path=path[:500],
            operator=None if actor is None else actor.ledger_name,
            user_id=None if actor is None else actor.user_id,
            token_id=None if actor is None else actor.token_id,
            status=status, outcome=outcome[:200],
        )  # fmt: skip
        uow.commit()


def request_log(ws: Workspace, limit: int = 100) -> list[dict[str, Any]]:
    """The latest requests, newest first."""
    with ws.uow() as uow:
        return uow.hub.request_log(limit)


def readiness(ws: Workspace) -> str | None:
    """Why the hub is not ready to serve (its database does not answer, or has no schema), or None."""
    if stored_revisions(ws.engine) is None:
        return "the database does not answer or has no o2o schema (run `o2o init`)"
    return None
