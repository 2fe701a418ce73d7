"""The portal's sessions: one row per sign-in, ended by signing out (a copied cookie then no longer works).

Revision ID: 0011_portal_sessions
Revises: 0010_hub_key_possession

Explicit columns, equal to `o2o.store.portal_tables.portal_sessions`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from o2o.store.types import UtcDateTime

revision = "0011_portal_sessions"
down_revision = "0010_hub_key_possession"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(40), sa.ForeignKey("hub_users.id"), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("ended_at", UtcDateTime()),
    )
    op.create_index("ix_portal_sessions_user_id", "portal_sessions", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_portal_sessions_user_id", table_name="portal_sessions")
    op.drop_table("portal_sessions")
