"""Tables of the mutual-settlement books on the shared MetaData: the journal of transfers.

One row per balanced transfer (debit `debit_party`'s account with `credit_party`, credit the mirror).
Rows are never updated or deleted; a correction is a new row with `reverses` set. `amount` is the exact
Decimal (NUMERIC / text); `amount_minor` is the same amount in integer minor units so that SQL sums are
exact on every backend (SQLite would sum decimal text as float). `pair_key` ("LO|HI") is shared by both
parties' accounts with each other; the covering index on (pair_key, value_date, id, currency,
debit_party, amount_minor) serves statements (a range of one pair) and balances (an index-only sum).
`(key, posting_no)` is unique: a source document is booked once, again only after its reversal.
The migration `0003_accounts` creates these; Alembic's env never imports this module.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from o2o.store.schema import metadata
from o2o.store.types import ExactDecimal, UtcDateTime

account_transfers = Table(
    "account_transfers",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("key", String(300), nullable=False),
    Column("posting_no", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("document", String(200), nullable=False),
    Column("description", String(500), nullable=False),
    Column("pair_key", String(65), nullable=False),
    Column("debit_party", String(32), ForeignKey("operators.id"), nullable=False),
    Column("credit_party", String(32), ForeignKey("operators.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", ExactDecimal(), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("booking_date", Date, nullable=False),
    Column("value_date", Date, nullable=False),
    Column("due_date", Date),
    Column("actor", String(32), nullable=False),
    Column("reverses", BigInteger().with_variant(Integer, "sqlite"), ForeignKey("account_transfers.id")),
    Column("refs", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("key", "posting_no", name="uq_account_transfers_key_posting_no"),
    CheckConstraint("amount_minor > 0", name="positive_amount"),
    CheckConstraint("debit_party <> credit_party", name="two_parties"),
    Index(
        "ix_account_transfers_pair_value_date",
        "pair_key",
        "value_date",
        "id",
        "currency",
        "debit_party",
        "amount_minor",
    ),
    Index("uq_account_transfers_reverses", "reverses", unique=True),
)
