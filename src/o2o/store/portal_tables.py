"""Tables of the portal's sign-in: a password per hub user (an Argon2id hash, never the password), the
hub's own secrets (the key that signs the portal's session cookies, made once and shared by every process
that serves the same database), and the sessions signed in (a cookie is honoured only while its session's
row says it has not ended: signing out ends it for every copy of the cookie).

Invariants: `portal_passwords.hash` is an encoded Argon2id hash (`$argon2id$…`); a secret, once made, is
never replaced by another process (the first insert wins, the others read it).
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table

from o2o.store.schema import metadata
from o2o.store.types import UtcDateTime

portal_passwords = Table(
    "portal_passwords",
    metadata,
    Column("user_id", String(40), ForeignKey("hub_users.id"), primary_key=True),
    Column("hash", String(200), nullable=False),
    Column("set_at", UtcDateTime(), nullable=False),
)

hub_secrets = Table(
    "hub_secrets",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", String(200), nullable=False),  # hex
    Column("created_at", UtcDateTime(), nullable=False),
)

portal_sessions = Table(
    "portal_sessions",
    metadata,
    Column("id", String(32), primary_key=True),  # the cookie's random nonce
    Column("user_id", String(40), ForeignKey("hub_users.id"), nullable=False, index=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("ended_at", UtcDateTime()),  # signed out
)
