"""The SQL implementation of the ledger's `LedgerRepository` port, on a unit of work's connection.

Invariants: it never commits; an append at a `seq` someone else already wrote fails with `ConcurrencyError`
(the primary key decides); payloads are stored as canonical JSON text and read back to equal values, so a
stored entry re-hashes to its `hash`; reading entries streams in `seq` order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, insert, select
from sqlalchemy.exc import IntegrityError

from o2o.domain.errors import ConcurrencyError
from o2o.ledger.entries import Cosignature, LedgerEntry, canonical_json
from o2o.ledger.key_history import KEY_KINDS
from o2o.ledger.keys import PublicKeyRecord
from o2o.ledger.tree_heads import SignedTreeHead
from o2o.store.ledger_tables import ledger_entries as le
from o2o.store.ledger_tables import ledger_public_keys as lk
from o2o.store.ledger_tables import ledger_tree_heads as lh

_STREAM_BATCH = 2000
_IN_BATCH = 500


def _entry(row: Any) -> LedgerEntry:
    return LedgerEntry(
        seq=row.seq,
        time=row.time,
        kind=row.kind,
        subject=row.subject,
        payload=json.loads(row.payload),
        actor=row.actor,
        prev_hash=row.prev_hash,
        hash=row.hash,
        key_id=row.key_id,
        signature=row.signature,
        cosignatures=tuple(Cosignature(**c) for c in json.loads(row.cosignatures)),
    )


def _row(entry: LedgerEntry, leaf_hash: bytes) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "time": entry.time,
        "kind": entry.kind,
        "subject": entry.subject,
        "actor": entry.actor,
        "payload": canonical_json(entry.payload).decode(),
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
        "key_id": entry.key_id,
        "signature": entry.signature,
        "cosignatures": json.dumps([c.to_dict() for c in entry.cosignatures]),
        "leaf_hash": leaf_hash.hex(),
    }


def _head(row: Any) -> SignedTreeHead:
    return SignedTreeHead(row.tree_size, row.root_hash, row.timestamp, row.signer, row.key_id, row.signature)


class SqlLedgerRepository:
    """Ledger rows through SQLAlchemy Core on one connection (SQLite or PostgreSQL)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        # Appending is the hot path: the INSERT is compiled once for the dialect and sent as driver SQL
        # (every column is a plain string or integer, so no type processing is skipped).
        compiled = insert(le).compile(dialect=conn.dialect, column_keys=[c.name for c in le.columns])
        self._insert_sql = str(compiled)
        self._positions = list(compiled.positiontup or []) if compiled.positional else None

    def last_entry(self) -> LedgerEntry | None:
        row = self.conn.execute(select(le).order_by(le.c.seq.desc()).limit(1)).first()
        return _entry(row) if row else None

    def add_entries(self, entries: Sequence[tuple[LedgerEntry, bytes]]) -> None:
        if not entries:
            return
        rows = [_row(entry, leaf) for entry, leaf in entries]
        params: list[Any] = rows
        if self._positions is not None:
            params = [tuple(row[k] for k in self._positions) for row in rows]
        try:
            self.conn.exec_driver_sql(self._insert_sql, params[0] if len(params) == 1 else params)
        except IntegrityError as exc:
            first = entries[0][0].seq
            raise ConcurrencyError(f"ledger entry {first} was written by someone else first") from exc

    def entry(self, seq: int) -> LedgerEntry | None:
        row = self.conn.execute(select(le).where(le.c.seq == seq)).first()
        return _entry(row) if row else None

    def entries(self, start: int = 0) -> Iterator[LedgerEntry]:
        query = select(le).where(le.c.seq >= start).order_by(le.c.seq)
        result = self.conn.execution_options(yield_per=_STREAM_BATCH).execute(query)
        for row in result:
            yield _entry(row)

    def entries_page(self, start: int, count: int) -> list[LedgerEntry]:
        """At most `count` entries from `start`, in seq order, read at once (a page: nothing left open)."""
        query = select(le).where(le.c.seq >= start).order_by(le.c.seq).limit(count)
        return [_entry(row) for row in self.conn.execute(query)]

    def newest(self, limit: int, subjects: Sequence[str] | None = None) -> list[LedgerEntry]:
        """The newest `limit` entries (about any of `subjects`, if given), newest first: read backwards
        from the end of the ledger in SQL, which stops once it has them, never the whole ledger in Python."""
        if subjects is None:
            query = select(le).order_by(le.c.seq.desc()).limit(limit)
            return [_entry(row) for row in self.conn.execute(query)]
        wanted = sorted(set(subjects))
        found: list[LedgerEntry] = []
        for i in range(0, len(wanted), _IN_BATCH):  # a bounded IN list, each batch's newest, merged
            batch = wanted[i : i + _IN_BATCH]
            query = select(le).where(le.c.subject.in_(batch)).order_by(le.c.seq.desc()).limit(limit)
            found.extend(_entry(row) for row in self.conn.execute(query))
        return sorted(found, key=lambda e: -e.seq)[:limit]

    def latest_by_subject(
        self, kinds: Sequence[str], subjects: Sequence[str] | None = None
    ) -> dict[str, LedgerEntry]:
        """The latest entry of any of `kinds` per subject (of these subjects only, if given), in one query."""
        scope = [le.c.kind.in_(list(kinds))]
        if subjects is not None:
            scope.append(le.c.subject.in_(list(subjects)))
        latest = select(func.max(le.c.seq)).where(*scope).group_by(le.c.subject)
        rows = self.conn.execute(select(le).where(le.c.seq.in_(latest)))
        return {row.subject: _entry(row) for row in rows}

    def entries_of(
        self,
        kinds: Sequence[str],
        subject: str | None = None,
        *,
        subjects: Sequence[str] | None = None,
        before: int | None = None,
    ) -> list[LedgerEntry]:
        """Every entry of any of `kinds` (about `subject`, or about any of `subjects`, if given; below seq
        `before`, if given), in seq order: read through the (kind, subject, seq) index, never by a scan."""
        scope: list[ColumnElement[bool]] = [le.c.kind.in_(list(kinds))]
        if before is not None:
            scope.append(le.c.seq < before)
        if subjects is None:
            if subject is not None:
                scope.append(le.c.subject == subject)
            return [_entry(row) for row in self.conn.execute(select(le).where(*scope).order_by(le.c.seq))]
        if subject is not None:
            raise ValueError("entries_of: give `subject` or `subjects`, not both")
        wanted = sorted(set(subjects))
        found: list[LedgerEntry] = []
        for i in range(0, len(wanted), _IN_BATCH):  # a bounded IN list (SQLite caps bound parameters)
            query = select(le).where(*scope, le.c.subject.in_(wanted[i : i + _IN_BATCH]))
            found.extend(_entry(row) for row in self.conn.execute(query))
        return sorted(found, key=lambda e: e.seq)

    def key_entries(self) -> Iterator[LedgerEntry]:
        # few rows (a handful per party), read once per unit of work that appends
        query = select(le).where(le.c.kind.in_(KEY_KINDS)).order_by(le.c.seq)
        return iter([_entry(row) for row in self.conn.execute(query)])

    def leaf_hashes(self) -> list[bytes]:
        rows = self.conn.execute(select(le.c.leaf_hash).order_by(le.c.seq)).scalars()
        return [bytes.fromhex(h) for h in rows]

    def add_public_key(self, record: PublicKeyRecord) -> None:
        self.conn.execute(insert(lk).values(**record.to_dict(), created_at=datetime.now(UTC)))

    def public_keys(self) -> list[PublicKeyRecord]:
        rows = self.conn.execute(select(lk).order_by(lk.c.operator, lk.c.created_at, lk.c.key_id))
        return [PublicKeyRecord(r.operator, r.key_id, r.public_key) for r in rows]

    def add_tree_head(self, head: SignedTreeHead) -> None:
        self.conn.execute(insert(lh).values(**head.to_dict()))

    def tree_heads(self) -> list[SignedTreeHead]:
        rows = self.conn.execute(select(lh).order_by(lh.c.tree_size, lh.c.id))
        return [_head(r) for r in rows]
