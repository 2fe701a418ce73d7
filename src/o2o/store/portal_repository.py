"""The portal's sign-in in the store: users by id (disabled and enabled again), their password hashes, the
hub's named secrets and the sessions signed in.
Reads and writes rows, never commits (the caller's unit of work does)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from o2o.domain.identity import Role
from o2o.store import hub_tables as h
from o2o.store import portal_tables as t
from o2o.store.hub_repository import HubUser


def _user(row: Any) -> HubUser:
    return HubUser(
        row["id"], row["name"], row["operator"], Role(row["role"]), row["created_at"], row["disabled_at"]
    )


class PortalRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def user(self, user_id: str) -> HubUser | None:
        row = self.conn.execute(select(h.hub_users).where(h.hub_users.c.id == user_id)).mappings().first()
        return _user(row) if row else None

    def users(self) -> list[HubUser]:
        rows = self.conn.execute(select(h.hub_users).order_by(h.hub_users.c.name)).mappings()
        return [_user(r) for r in rows]

    def password_hash(self, user_id: str) -> str | None:
        found = self.conn.execute(
            select(t.portal_passwords.c.hash).where(t.portal_passwords.c.user_id == user_id)
        ).scalar_one_or_none()
        return None if found is None else str(found)

    def users_with_password(self) -> set[str]:
        return {str(u) for u in self.conn.execute(select(t.portal_passwords.c.user_id)).scalars()}

    def set_password(self, user_id: str, hash_: str, when: datetime) -> None:
        self.conn.execute(delete(t.portal_passwords).where(t.portal_passwords.c.user_id == user_id))
        self.conn.execute(insert(t.portal_passwords).values(user_id=user_id, hash=hash_, set_at=when))

    def secret(self, name: str) -> str | None:
        found = self.conn.execute(
            select(t.hub_secrets.c.value).where(t.hub_secrets.c.name == name)
        ).scalar_one_or_none()
        return None if found is None else str(found)

    def add_secret(self, name: str, value: str, when: datetime) -> None:
        self.conn.execute(insert(t.hub_secrets).values(name=name, value=value, created_at=when))

    def add_session(self, session_id: str, user_id: str, created: datetime, expires: datetime) -> None:
        """A new session; those that expired before `created` are removed (nothing honours them)."""
        self.conn.execute(delete(t.portal_sessions).where(t.portal_sessions.c.expires_at < created))
        self.conn.execute(
            insert(t.portal_sessions).values(
                id=session_id, user_id=user_id, created_at=created, expires_at=expires
            )
        )

    def session_live(self, session_id: str, user_id: str, now: datetime) -> bool:
        """Whether the session exists for that user, has not ended and has not expired."""
        s = t.portal_sessions.c
        found = self.conn.execute(
            select(s.id).where(
                s.id == session_id, s.user_id == user_id, s.ended_at.is_(None), s.expires_at > now
            )
        ).first()
        return found is not None

    def end_session(self, session_id: str, when: datetime) -> bool:
        s = t.portal_sessions.c
        done = self.conn.execute(
            update(t.portal_sessions).where(s.id == session_id, s.ended_at.is_(None)).values(ended_at=when)
        )
        return bool(done.rowcount)

    def disable_user(self, user_id: str, when: datetime) -> bool:
        """Disable a user (its tokens and sessions stop working); false if it was disabled already."""
        u = h.hub_users.c
        done = self.conn.execute(
            update(h.hub_users).where(u.id == user_id, u.disabled_at.is_(None)).values(disabled_at=when)
        )
        return bool(done.rowcount)

    def enable_user(self, user_id: str) -> bool:
        """Enable a disabled user again; false if it was not disabled."""
        u = h.hub_users.c
        done = self.conn.execute(
            update(h.hub_users).where(u.id == user_id, u.disabled_at.is_not(None)).values(disabled_at=None)
        )
        return bool(done.rowcount)

    def revoke_tokens_made_by(self, user_id: str, until: datetime, when: datetime) -> list[str]:
        """Revoke the user's live tokens made at or before `until`; their ids."""
        k = h.hub_tokens.c
        live = (k.user_id == user_id, k.created_at <= until, k.revoked_at.is_(None))
        ids = sorted(str(i) for i in self.conn.execute(select(k.id).where(*live)).scalars())
        if ids:
            self.conn.execute(update(h.hub_tokens).where(k.id.in_(ids)).values(revoked_at=when))
        return ids

    def end_user_sessions(self, user_id: str, when: datetime) -> None:
        """End every session of the user still open (its cookies, wherever copied, sign in no more)."""
        s = t.portal_sessions.c
        self.conn.execute(
            update(t.portal_sessions).where(s.user_id == user_id, s.ended_at.is_(None)).values(ended_at=when)
        )
