"""Accounts: the journal of the mutual-settlement books (`account_transfers`), append-only by trigger.

Revision ID: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from o2o.store.types import ExactDecimal, UtcDateTime

revision = "0003"
down_revision = "0001"
branch_labels = ("accounts",)
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "account_transfers",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("posting_no", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("document", sa.String(200), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("pair_key", sa.String(65), nullable=False),
        sa.Column("debit_party", sa.String(32), sa.ForeignKey("operators.id"), nullable=False),
        sa.Column("credit_party", sa.String(32), sa.ForeignKey("operators.id"), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", ExactDecimal(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("booking_date", sa.Date, nullable=False),
        sa.Column("value_date", sa.Date, nullable=False),
        sa.Column("due_date", sa.Date),
        sa.Column("actor", sa.String(32), nullable=False),
        sa.Column("reverses", _ID, sa.ForeignKey("account_transfers.id")),
        sa.Column("refs", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("key", "posting_no", name="uq_account_transfers_key_posting_no"),
        sa.CheckConstraint("amount_minor > 0", name="ck_account_transfers_positive_amount"),
        sa.CheckConstraint("debit_party <> credit_party", name="ck_account_transfers_two_parties"),
    )
    op.create_index(
        "ix_account_transfers_pair_value_date",
        "account_transfers",
        ["pair_key", "value_date", "id", "currency", "debit_party", "amount_minor"],
    )
    op.create_index("uq_account_transfers_reverses", "account_transfers", ["reverses"], unique=True)
    _append_only()


def _append_only() -> None:
    """The journal refuses UPDATE and DELETE in the database itself: corrections are reversing transfers."""
    if op.get_bind().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER account_transfers_no_{action.lower()} BEFORE {action} ON account_transfers "
                "BEGIN SELECT RAISE(ABORT, 'account_transfers is append-only: post a reversal'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION account_transfers_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'account_transfers is append-only: post a reversal'; END $$"
    )
    op.execute(
        "CREATE TRIGGER account_transfers_append_only BEFORE UPDATE OR DELETE ON account_transfers "
        "FOR EACH ROW EXECUTE FUNCTION account_transfers_append_only()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS account_transfers_no_update")
        op.execute("DROP TRIGGER IF EXISTS account_transfers_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS account_transfers_append_only ON account_transfers")
        op.execute("DROP FUNCTION IF EXISTS account_transfers_append_only()")
    op.drop_index("uq_account_transfers_reverses", table_name="account_transfers")
    op.drop_index("ix_account_transfers_pair_value_date", table_name="account_transfers")
    op.drop_table("account_transfers")
