"""Payment instructions record who confirmed them: `confirmed_by` (the payee, i.e. the creditor, or HUB).

Revision ID: 0005_payment_confirmed_by
Revises: 0004_cycle

Instructions confirmed before this revision keep NULL: who confirmed them was never recorded, and the
ledger's `payment.confirmed` entries of that time do not say either.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_payment_confirmed_by"
down_revision = "0004_cycle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payment_instructions") as batch:
        batch.add_column(sa.Column("confirmed_by", sa.String(32)))


def downgrade() -> None:
    with op.batch_alter_table("payment_instructions") as batch:
        batch.drop_column("confirmed_by")
