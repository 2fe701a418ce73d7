"""Operators' key requests keep the new key's proof of possession (its signature over the registration
message), which the ledger entry that approves the key carries for any auditor to check.

Revision ID: 0010_hub_key_possession
Revises: 0009_portal_sign_in
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_hub_key_possession"
down_revision = "0009_portal_sign_in"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hub_key_requests") as batch:
        batch.add_column(sa.Column("possession", sa.String(128)))


def downgrade() -> None:
    with op.batch_alter_table("hub_key_requests") as batch:
        batch.drop_column("possession")
