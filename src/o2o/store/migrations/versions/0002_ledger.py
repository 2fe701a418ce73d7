"""Ledger: entries, public keys, signed tree heads.

Revision ID: 0002_ledger
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from o2o.store.types import UtcDateTime

revision = "0002_ledger"
down_revision = "0001"
branch_labels = ("ledger",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("time", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("actor", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.Column("cosignatures", sa.Text, nullable=False),
        sa.Column("leaf_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_ledger_entries"),
        sa.UniqueConstraint("hash", name="uq_ledger_entries_hash"),
    )
    op.create_table(
        "ledger_public_keys",
        sa.Column("operator", sa.String(32), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("operator", "key_id", name="pk_ledger_public_keys"),
    )
    op.create_table(
        "ledger_tree_heads",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tree_size", sa.BigInteger, nullable=False),
        sa.Column("root_hash", sa.String(64), nullable=False),
        sa.Column("timestamp", sa.String(40), nullable=False),
        sa.Column("signer", sa.String(32), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_tree_heads"),
    )
    op.create_index("ix_ledger_tree_heads_tree_size", "ledger_tree_heads", ["tree_size"])


def downgrade() -> None:
    op.drop_index("ix_ledger_tree_heads_tree_size", table_name="ledger_tree_heads")
    for table in ("ledger_tree_heads", "ledger_public_keys", "ledger_entries"):
        op.drop_table(table)
