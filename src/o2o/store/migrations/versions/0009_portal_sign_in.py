"""The portal's sign-in: passwords of hub users (Argon2id hashes) and the hub's secrets (session key).

Revision ID: 0009_portal_sign_in
Revises: 0008_hub_jobs

Explicit columns, equal to `o2o.store.portal_tables`; later changes come with migrations of their own.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from o2o.store.types import UtcDateTime

revision = "0009_portal_sign_in"
down_revision = "0008_hub_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_passwords",
        sa.Column("user_id", sa.String(40), sa.ForeignKey("hub_users.id"), primary_key=True),
        sa.Column("hash", sa.String(200), nullable=False),
        sa.Column("set_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "hub_secrets",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("hub_secrets")
    op.drop_table("portal_passwords")
