"""Tables of the hub's identity: users (of one operator, or of the hub itself), their API tokens, the
public keys operators submit for the hub admin's approval, and the log of every request.

Invariants: a token is stored only as the SHA-256 of its secret (`token_hash`, unique), never in clear;
`hub_users.operator` is NULL for the hub's own users (role `admin`); the request log is only appended to.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, String, Table

from o2o.store.schema import metadata
from o2o.store.types import UtcDateTime

hub_users = Table(
    "hub_users",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("operator", String(32), ForeignKey("operators.id"), index=True),  # NULL: the hub's own
    Column("role", String(16), nullable=False),  # viewer | analyst | signer | admin
    Column("created_at", UtcDateTime(), nullable=False),
    Column("disabled_at", UtcDateTime()),
    Column("version", Integer, nullable=False, server_default="1"),
)

hub_tokens = Table(
    "hub_tokens",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("user_id", String(40), ForeignKey("hub_users.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 hex of the token
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime()),
    Column("revoked_at", UtcDateTime()),
    Column("last_used_at", UtcDateTime()),
)

hub_key_requests = Table(
    "hub_key_requests",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("operator", String(32), ForeignKey("operators.id"), nullable=False, index=True),
    Column("key_id", String(16), nullable=False),
    Column("public_key", String(64), nullable=False),  # raw Ed25519 public key, hex
    Column("possession", String(128)),  # the key's signature over its registration message (0010)
    Column("state", String(16), nullable=False),  # pending | approved | rejected
    Column("requested_by", String(40), nullable=False),
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("decided_by", String(40)),
    Column("decided_at", UtcDateTime()),
    Column("reason", String(500)),
    Column("version", Integer, nullable=False, server_default="1"),
)

hub_request_log = Table(
    "hub_request_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("time", UtcDateTime(), nullable=False, index=True),
    Column("method", String(8), nullable=False),
    Column("path", String(500), nullable=False),
    Column("operator", String(32)),
    Column("user_id", String(40)),
    Column("token_id", String(40)),
    Column("status", Integer, nullable=False),
    Column("outcome", String(200), nullable=False),
)
