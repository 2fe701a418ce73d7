"""The hub's identity: users, API tokens (hashes only), operators' key requests and the request log.

Revision ID: 0006_hub_identity
Revises: 0001

Explicit columns, equal to `o2o.store.hub_tables`; later changes to those tables come with migrations of
their own.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from o2o.store.types import UtcDateTime

revision = "0006_hub_identity"
down_revision = "0001"
branch_labels = ("hub",)
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "hub_users",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("operator", sa.String(32), sa.ForeignKey("operators.id")),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("disabled_at", UtcDateTime()),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.UniqueConstraint("name", name="uq_hub_users_name"),
    )
    op.create_index("ix_hub_users_operator", "hub_users", ["operator"])
    op.create_table(
        "hub_tokens",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("user_id", sa.String(40), sa.ForeignKey("hub_users.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime()),
        sa.Column("revoked_at", UtcDateTime()),
        sa.Column("last_used_at", UtcDateTime()),
        sa.UniqueConstraint("token_hash", name="uq_hub_tokens_token_hash"),
    )
    op.create_index("ix_hub_tokens_user_id", "hub_tokens", ["user_id"])
    op.create_table(
        "hub_key_requests",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("operator", sa.String(32), sa.ForeignKey("operators.id"), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(40), nullable=False),
        sa.Column("requested_at", UtcDateTime(), nullable=False),
        sa.Column("decided_by", sa.String(40)),
        sa.Column("decided_at", UtcDateTime()),
        sa.Column("reason", sa.String(500)),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_index("ix_hub_key_requests_operator", "hub_key_requests", ["operator"])
    op.create_table(
        "hub_request_log",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("time", UtcDateTime(), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("operator", sa.String(32)),
        sa.Column("user_id", sa.String(40)),
        sa.Column("token_id", sa.String(40)),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(200), nullable=False),
    )
    op.create_index("ix_hub_request_log_time", "hub_request_log", ["time"])


def downgrade() -> None:
    op.drop_index("ix_hub_request_log_time", "hub_request_log")
    op.drop_table("hub_request_log")
    op.drop_index("ix_hub_key_requests_operator", "hub_key_requests")
    op.drop_table("hub_key_requests")
    op.drop_index("ix_hub_tokens_user_id", "hub_tokens")
    op.drop_table("hub_tokens")
    op.drop_index("ix_hub_users_operator", "hub_users")
    op.drop_table("hub_users")
