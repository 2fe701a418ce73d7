"""Foundation: operators, agreements and their revisions, declarations, events.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from o2o.store.types import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("country_code", sa.String(8), nullable=False),
        sa.Column("trunk_prefix", sa.String(8), nullable=False),
        sa.Column("international_prefix", sa.String(8), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_table(
        "agreements",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("party_a", sa.String(32), sa.ForeignKey("operators.id"), nullable=False),
        sa.Column("party_b", sa.String(32), sa.ForeignKey("operators.id"), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("source_name", sa.String(500), nullable=False),
        sa.Column("loaded_at", UtcDateTime(), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_table(
        "agreement_revisions",
        sa.Column("agreement_id", sa.String(64), sa.ForeignKey("agreements.id"), primary_key=True),
        sa.Column("revision", sa.Integer, primary_key=True),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("source_name", sa.String(500), nullable=False),
        sa.Column("loaded_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "declarations",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("agreement_id", sa.String(64), sa.ForeignKey("agreements.id"), nullable=False),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("declarer", sa.String(32), sa.ForeignKey("operators.id"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("source_name", sa.String(500), nullable=False),
        sa.Column("lake_path", sa.String(500), nullable=False),
        sa.Column("rejects_path", sa.String(500)),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("rejected", sa.BigInteger, nullable=False),
        sa.Column("duration_s", sa.BigInteger, nullable=False),
        sa.Column("volume", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("supersedes", sa.String(40)),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index(
        "uq_declarations_active",
        "declarations",
        ["agreement_id", "service", "period", "declarer"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("time", UtcDateTime(), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("actor", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("events", "declarations", "agreement_revisions", "agreements", "operators"):
        op.drop_table(table)
