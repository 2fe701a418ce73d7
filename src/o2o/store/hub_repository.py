"""The hub's identity in the store: users, API tokens (by the hash of their secret), operators' key
requests and the request log. Reads and writes rows, never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from o2o.domain.errors import NotFoundError
from o2o.domain.identity import Role
from o2o.store import hub_tables as t
from o2o.store.versioning import update_versioned


@dataclass(frozen=True, slots=True)
class HubUser:
    id: str
    name: str
    operator: str | None
    role: Role
    created_at: datetime
    disabled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A token as stored: never its secret, only the hash of it."""

    id: str
    user: HubUser
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class KeyRequest:
    id: str
    operator: str
    key_id: str
    public_key: str
    state: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
    version: int
    possession: str | None = None


def _user(row: Any, prefix: str = "") -> HubUser:
    return HubUser(
        row[f"{prefix}id"],
        row[f"{prefix}name"],
        row[f"{prefix}operator"],
        Role(row[f"{prefix}role"]),
        row[f"{prefix}created_at"],
        row[f"{prefix}disabled_at"],
    )


class HubRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- users -------------------------------------------------------------------------------------

    def add_user(self, user: HubUser) -> None:
        self.conn.execute(
            insert(t.hub_users).values(
                id=user.id, name=user.name, operator=user.operator, role=user.role.value,
                created_at=user.created_at,
            )
        )  # fmt: skip

    def user_named(self, name: str) -> HubUser | None:
        row = self.conn.execute(select(t.hub_users).where(t.hub_users.c.name == name)).mappings().first()
        return _user(row) if row else None

    # --- tokens ------------------------------------------------------------------------------------

    def add_token(
        self, token_id: str, user_id: str, token_hash: str, created: datetime, expires: datetime | None
    ) -> None:
        self.conn.execute(
            insert(t.hub_tokens).values(
                id=token_id, user_id=user_id, token_hash=token_hash, created_at=created, expires_at=expires
            )
        )

    def _tokens(self) -> Any:
        u = t.hub_users
        return select(
            t.hub_tokens,
            *(c.label(f"u_{c.name}") for c in u.c),
        ).join(u, u.c.id == t.hub_tokens.c.user_id)

    @staticmethod
    def _token(row: Any) -> TokenRecord:
        return TokenRecord(
            row["id"], _user(row, "u_"), row["created_at"], row["expires_at"], row["revoked_at"],
            row["last_used_at"],
        )  # fmt: skip

    def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        query = self._tokens().where(t.hub_tokens.c.token_hash == token_hash)
        row = self.conn.execute(query).mappings().first()
        return self._token(row) if row else None

    def token(self, token_id: str) -> TokenRecord:
        row = self.conn.execute(self._tokens().where(t.hub_tokens.c.id == token_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"unknown token {token_id!r} (see `o2o hub token list`)")
        return self._token(row)

    def tokens(self, operator: str | None = None) -> list[TokenRecord]:
        query = self._tokens().order_by(t.hub_tokens.c.created_at, t.hub_tokens.c.id)
        if operator is not None:
            query = query.where(t.hub_users.c.operator == operator)
        return [self._token(r) for r in self.conn.execute(query).mappings()]

    def revoke_token(self, token_id: str, when: datetime) -> None:
        self.conn.execute(
            update(t.hub_tokens)
            .where(t.hub_tokens.c.id == token_id, t.hub_tokens.c.revoked_at.is_(None))
            .values(revoked_at=when)
        )

    def token_used(self, token_id: str, when: datetime) -> None:
        self.conn.execute(update(t.hub_tokens).where(t.hub_tokens.c.id == token_id).values(last_used_at=when))

    # --- key requests ------------------------------------------------------------------------------

    def add_key_request(self, req: KeyRequest) -> None:
        self.conn.execute(
            insert(t.hub_key_requests).values(
                id=req.id, operator=req.operator, key_id=req.key_id, public_key=req.public_key,
                possession=req.possession, state=req.state, requested_by=req.requested_by,
                requested_at=req.requested_at,
            )
        )  # fmt: skip

    def key_requests(self, operator: str | None = None, state: str | None = None) -> list[KeyRequest]:
        k = t.hub_key_requests
        query = select(k).order_by(k.c.requested_at, k.c.id)
        if operator is not None:
            query = query.where(k.c.operator == operator)
        if state is not None:
            query = query.where(k.c.state == state)
        return [KeyRequest(**dict(r)) for r in self.conn.execute(query).mappings()]

    def key_request(self, request_id: str) -> KeyRequest:
        k = t.hub_key_requests
        row = self.conn.execute(select(k).where(k.c.id == request_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"unknown key request {request_id!r}")
        return KeyRequest(**dict(row))

    def decide_key_request(
        self, req: KeyRequest, state: str, by: str, when: datetime, reason: str | None
    ) -> None:
        update_versioned(
            self.conn, t.hub_key_requests, req.id, req.version,
            state=state, decided_by=by, decided_at=when, reason=reason,
        )  # fmt: skip

    # --- the request log ---------------------------------------------------------------------------

    def log_request(self, **row: Any) -> None:
        self.conn.execute(insert(t.hub_request_log).values(**row))

    def request_log(self, limit: int = 100) -> list[dict[str, Any]]:
        log = t.hub_request_log
        query = select(log).order_by(log.c.id.desc()).limit(limit)
        return [dict(r) for r in self.conn.execute(query).mappings()]
