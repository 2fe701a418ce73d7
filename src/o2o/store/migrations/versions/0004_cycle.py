"""Settlement cycle: cycles, statements, lines, signatures, disputes, proposals, obligations, rounds,
set-offs and payment instructions.

Revision ID: 0004_cycle
Revises: 0001

Frozen to explicit columns, equal to the tables this revision first created from the live definitions
in `o2o.store.cycle_tables` (so databases made then are unchanged); later changes to those tables come
with migrations of their own (0005 adds `payment_instructions.confirmed_by`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from o2o.store.types import ExactDecimal, UtcDateTime

revision = "0004_cycle"
down_revision = "0001"
branch_labels = ("cycle",)
depends_on = None


def _version() -> sa.Column[int]:
    """The optimistic-lock counter every aggregate two people can change at once carries."""
    return sa.Column("version", sa.Integer, nullable=False, server_default="1")


def upgrade() -> None:
    op.create_table(
        "cycles",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("agreement_id", sa.String(64), sa.ForeignKey("agreements.id"), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        _version(),
    )
    op.create_index("ix_cycles_period", "cycles", ["period"])
    op.create_table(
        "statements",
        sa.Column("id", sa.String(96), primary_key=True),
        sa.Column("cycle_id", sa.String(80), sa.ForeignKey("cycles.id"), nullable=False),
        sa.Column("agreement_id", sa.String(64), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        _version(),
    )
    op.create_index("ix_statements_cycle_id", "statements", ["cycle_id"])
    op.create_table(
        "statement_lines",
        sa.Column("statement_id", sa.String(96), sa.ForeignKey("statements.id"), primary_key=True),
        sa.Column("service", sa.String(64), primary_key=True),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("customer", sa.String(32), nullable=False),
        sa.Column("provider_amount", ExactDecimal(), nullable=False),
        sa.Column("customer_amount", ExactDecimal(), nullable=False),
        sa.Column("agreed_amount", ExactDecimal(), nullable=False),
        sa.Column("disputed_amount", ExactDecimal(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
    )
    op.create_table(
        "statement_signatures",
        sa.Column("statement_id", sa.String(96), sa.ForeignKey("statements.id"), primary_key=True),
        sa.Column("operator", sa.String(32), primary_key=True),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(256), nullable=False),
        sa.Column("signed_at", UtcDateTime(), nullable=False),
    )
    _disputes()
    _settlement()


def _disputes() -> None:
    op.create_table(
        "disputes",
        sa.Column("id", sa.String(112), primary_key=True),
        sa.Column("statement_id", sa.String(96), sa.ForeignKey("statements.id"), nullable=False),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("customer", sa.String(32), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("provider_amount", ExactDecimal(), nullable=False),
        sa.Column("customer_amount", ExactDecimal(), nullable=False),
        sa.Column("contested_amount", ExactDecimal(), nullable=False),
        sa.Column("resolved_amount", ExactDecimal()),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("deadline", sa.Date, nullable=False),
        sa.Column("opened_at", UtcDateTime(), nullable=False),
        _version(),
    )
    op.create_index("ix_disputes_statement_id", "disputes", ["statement_id"])
    op.create_table(
        "dispute_proposals",
        sa.Column("dispute_id", sa.String(112), sa.ForeignKey("disputes.id"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("by_operator", sa.String(32), nullable=False),
        sa.Column("amount", ExactDecimal(), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )


def _settlement() -> None:
    op.create_table(
        "obligations",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("statement_id", sa.String(96), sa.ForeignKey("statements.id"), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("debtor", sa.String(32), nullable=False),
        sa.Column("creditor", sa.String(32), nullable=False),
        sa.Column("amount", ExactDecimal(), nullable=False),
        sa.Column("remaining", ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("dispute_id", sa.String(112)),
        _version(),
    )
    op.create_index("ix_obligations_statement_id", "obligations", ["statement_id"])
    op.create_index("ix_obligations_period", "obligations", ["period"])
    op.create_table(
        "netting_rounds",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("figures", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        _version(),
    )
    op.create_index("ix_netting_rounds_period", "netting_rounds", ["period"])
    op.create_table(
        "setoffs",
        sa.Column("round_id", sa.String(64), sa.ForeignKey("netting_rounds.id"), primary_key=True),
        sa.Column("obligation_id", sa.String(128), sa.ForeignKey("obligations.id"), primary_key=True),
        sa.Column("amount", ExactDecimal(), nullable=False),
    )
    op.create_table(
        "payment_instructions",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("round_id", sa.String(64), sa.ForeignKey("netting_rounds.id"), nullable=False),
        sa.Column("payer", sa.String(32), nullable=False),
        sa.Column("payee", sa.String(32), nullable=False),
        sa.Column("amount", ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("confirmed_at", UtcDateTime()),
        sa.Column("reference", sa.String(200)),
        _version(),
    )
    op.create_index("ix_payment_instructions_round_id", "payment_instructions", ["round_id"])


_TABLES = (
    "cycles",
    "statements",
    "statement_lines",
    "statement_signatures",
    "disputes",
    "dispute_proposals",
    "obligations",
    "netting_rounds",
    "setoffs",
    "payment_instructions",
)


def downgrade() -> None:
    for table in reversed(_TABLES):
        op.drop_table(table)
