"""Ledger entries indexed by (kind, subject, seq): one statement's or round's entries found without a scan.

Revision ID: 0012_ledger_kind_subject
Revises: 0002_ledger (the ledger branch)

Equal to the index on `o2o.store.ledger_tables.ledger_entries`.
"""

from __future__ import annotations

from alembic import op

revision = "0012_ledger_kind_subject"
down_revision = "0002_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ledger_entries_kind_subject_seq", "ledger_entries", ["kind", "subject", "seq"])


def downgrade() -> None:
    op.drop_index("ix_ledger_entries_kind_subject_seq", table_name="ledger_entries")
