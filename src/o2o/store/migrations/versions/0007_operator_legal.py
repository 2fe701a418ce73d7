"""Operators' legal data for documents: legal name, address, tax id and bank details (IBAN, BIC, bank name).

Revision ID: 0007_operator_legal
Revises: 0001 (a branch of its own, like each area's tables)

All nullable: an operator loaded before this revision, or from a file without legal data, has none; the
documents then show a dash, and the payment file (pain.001) refuses a round whose payer or payee lacks bank data.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_operator_legal"
down_revision = "0001"
branch_labels = ("operator_legal",)
depends_on = None

_COLUMNS = (
    ("legal_name", 300),
    ("address", 500),
    ("tax_id", 64),
    ("iban", 34),
    ("bic", 11),
    ("bank_name", 200),
)


def upgrade() -> None:
    with op.batch_alter_table("operators") as batch:
        for name, size in _COLUMNS:
            batch.add_column(sa.Column(name, sa.String(size)))


def downgrade() -> None:
    with op.batch_alter_table("operators") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
