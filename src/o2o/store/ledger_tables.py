"""Tables of the ledger (entries, public keys, signed tree heads) on the shared MetaData.

Invariants: `ledger_entries.seq` is the primary key, so two writers cannot both append the same position;
rows are only inserted, never updated; payloads and co-signatures are stored as the canonical JSON text the
hash was computed over; hashes, keys and signatures are lower-case hex. Entries are found by (kind, subject)
through `ix_ledger_entries_kind_subject_seq` (a request about one statement or round reads its few rows, not
the whole ledger); `seq` ends the index so they come back in ledger order without a sort.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from o2o.store.schema import metadata
from o2o.store.types import UtcDateTime

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("time", String(40), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("actor", String(32), nullable=False),
    Column("payload", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    Column("key_id", String(16), nullable=False),
    Column("signature", String(128), nullable=False),
    Column("cosignatures", Text, nullable=False),
    Column("leaf_hash", String(64), nullable=False),
    Index("ix_ledger_entries_kind_subject_seq", "kind", "subject", "seq"),
)

ledger_public_keys = Table(
    "ledger_public_keys",
    metadata,
    Column("operator", String(32), primary_key=True),
    Column("key_id", String(16), primary_key=True),
    Column("public_key", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

ledger_tree_heads = Table(
    "ledger_tree_heads",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("tree_size", BigInteger, nullable=False, index=True),
    Column("root_hash", String(64), nullable=False),
    Column("timestamp", String(40), nullable=False),
    Column("signer", String(32), nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("signature", String(128), nullable=False),
)
