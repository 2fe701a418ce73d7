"""Tables of the foundation (operators, agreements, declarations, events) on the shared MetaData.

Other areas add their tables to `metadata` in modules of their own; Alembic migrations create them.
Every aggregate two people can change at once carries a `version` column (optimistic locking).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

from o2o.store.types import UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

operators = Table(
    "operators",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("country_code", String(8), nullable=False),
    Column("trunk_prefix", String(8), nullable=False),
    Column("international_prefix", String(8), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    # Legal data for documents (migration 0007): all NULL when the operators file gave none.
    Column("legal_name", String(300)),
    Column("address", String(500)),
    Column("tax_id", String(64)),
    Column("iban", String(34)),
    Column("bic", String(11)),
    Column("bank_name", String(200)),
)

agreements = Table(
    "agreements",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("party_a", String(32), ForeignKey("operators.id"), nullable=False),
    Column("party_b", String(32), ForeignKey("operators.id"), nullable=False),
    Column("document", Text, nullable=False),  # the validated agreement as JSON (rate decks expanded)
    Column("sha256", String(64), nullable=False),
    Column("source_name", String(500), nullable=False),
    Column("loaded_at", UtcDateTime(), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
)

agreement_revisions = Table(
    "agreement_revisions",
    metadata,
    Column("agreement_id", String(64), ForeignKey("agreements.id"), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("document", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("source_name", String(500), nullable=False),
    Column("loaded_at", UtcDateTime(), nullable=False),
)

declarations = Table(
    "declarations",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("agreement_id", String(64), ForeignKey("agreements.id"), nullable=False),
    Column("service", String(64), nullable=False),
    Column("period", String(7), nullable=False),
    Column("declarer", String(32), ForeignKey("operators.id"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("source_name", String(500), nullable=False),
    Column("lake_path", String(500), nullable=False),
    Column("rejects_path", String(500)),
    Column("rows", BigInteger, nullable=False),
    Column("rejected", BigInteger, nullable=False),
    Column("duration_s", BigInteger, nullable=False),
    Column("volume", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("supersedes", String(40)),
    Column("created_at", UtcDateTime(), nullable=False),
    Index(
        "uq_declarations_active",
        "agreement_id",
        "service",
        "period",
        "declarer",
        unique=True,
        sqlite_where=text("status = 'active'"),
        postgresql_where=text("status = 'active'"),
    ),
)

events = Table(
    "events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("time", UtcDateTime(), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("actor", String(32), nullable=False),
    Column("payload", Text, nullable=False),
)
