"""Tables of the settlement cycle: cycles, statements and their lines and signatures, disputes and
proposals, obligations, netting rounds with their set-offs and payments.

Aggregates two people can change at once (cycles, statements, disputes, obligations, payments) carry a
`version` column for optimistic locking. Amounts are exact (`ExactDecimal`).
"""

from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, Integer, String, Table, Text

from o2o.store.schema import metadata
from o2o.store.types import ExactDecimal, UtcDateTime

cycles = Table(
    "cycles",
    metadata,
    Column("id", String(80), primary_key=True),  # AGREEMENT/PERIOD
    Column("agreement_id", String(64), ForeignKey("agreements.id"), nullable=False),
    Column("period", String(7), nullable=False, index=True),
    Column("state", String(16), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
)

statements = Table(
    "statements",
    metadata,
    Column("id", String(96), primary_key=True),
    Column("cycle_id", String(80), ForeignKey("cycles.id"), nullable=False, index=True),
    Column("agreement_id", String(64), nullable=False),
    Column("period", String(7), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("state", String(16), nullable=False),  # agreed | disputed | signed
    Column("digest", String(64), nullable=False),  # sha256 of the canonical statement document
    Column("document", Text, nullable=False),  # canonical JSON that the parties sign
    Column("evidence", Text, nullable=False),  # reconciliation figures and file paths (JSON)
    Column("created_at", UtcDateTime(), nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
)

statement_lines = Table(
    "statement_lines",
    metadata,
    Column("statement_id", String(96), ForeignKey("statements.id"), primary_key=True),
    Column("service", String(64), primary_key=True),
    Column("provider", String(32), nullable=False),
    Column("customer", String(32), nullable=False),
    Column("provider_amount", ExactDecimal(), nullable=False),
    Column("customer_amount", ExactDecimal(), nullable=False),
    Column("agreed_amount", ExactDecimal(), nullable=False),
    Column("disputed_amount", ExactDecimal(), nullable=False),
    Column("outcome", String(16), nullable=False),
)

signatures = Table(
    "statement_signatures",
    metadata,
    Column("statement_id", String(96), ForeignKey("statements.id"), primary_key=True),
    Column("operator", String(32), primary_key=True),
    Column("key_id", String(64), nullable=False),
    Column("signature", String(256), nullable=False),
    Column("signed_at", UtcDateTime(), nullable=False),
)

disputes = Table(
    "disputes",
    metadata,
    Column("id", String(112), primary_key=True),
    Column("statement_id", String(96), ForeignKey("statements.id"), nullable=False, index=True),
    Column("service", String(64), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("customer", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("provider_amount", ExactDecimal(), nullable=False),
    Column("customer_amount", ExactDecimal(), nullable=False),
    Column("contested_amount", ExactDecimal(), nullable=False),
    Column("resolved_amount", ExactDecimal()),
    Column("state", String(16), nullable=False),  # open | resolved | escalated
    Column("evidence", Text, nullable=False),
    Column("deadline", Date, nullable=False),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
)

proposals = Table(
    "dispute_proposals",
    metadata,
    Column("dispute_id", String(112), ForeignKey("disputes.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("by_operator", String(32), nullable=False),
    Column("amount", ExactDecimal(), nullable=False),
    Column("note", String(500), nullable=False),
    Column("status", String(16), nullable=False),  # pending | accepted | rejected | superseded
    Column("created_at", UtcDateTime(), nullable=False),
)

obligations = Table(
    "obligations",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("statement_id", String(96), ForeignKey("statements.id"), nullable=False, index=True),
    Column("period", String(7), nullable=False, index=True),
    Column("debtor", String(32), nullable=False),
    Column("creditor", String(32), nullable=False),
    Column("amount", ExactDecimal(), nullable=False),
    Column("remaining", ExactDecimal(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("due_date", Date, nullable=False),
    Column("status", String(16), nullable=False),  # open | withheld | netted | settled | cancelled
    Column("dispute_id", String(112)),
    Column("version", Integer, nullable=False, server_default="1"),
)

rounds = Table(
    "netting_rounds",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("period", String(7), nullable=False, index=True),
    Column("mode", String(16), nullable=False),
    Column("state", String(16), nullable=False),  # issued | settled
    Column("figures", Text, nullable=False),  # per-currency figures (JSON)
    Column("created_at", UtcDateTime(), nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
)

setoffs = Table(
    "setoffs",
    metadata,
    Column("round_id", String(64), ForeignKey("netting_rounds.id"), primary_key=True),
    Column("obligation_id", String(128), ForeignKey("obligations.id"), primary_key=True),
    Column("amount", ExactDecimal(), nullable=False),
)

payments = Table(
    "payment_instructions",
    metadata,
    Column("id", String(80), primary_key=True),
    Column("round_id", String(64), ForeignKey("netting_rounds.id"), nullable=False, index=True),
    Column("payer", String(32), nullable=False),
    Column("payee", String(32), nullable=False),
    Column("amount", ExactDecimal(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),  # pending | confirmed
    Column("confirmed_at", UtcDateTime()),
    Column("reference", String(200)),  # the bank's reference, required to confirm
    Column("version", Integer, nullable=False, server_default="1"),
    Column("confirmed_by", String(32)),  # the payee (creditor) or HUB; added by migration 0005
)
