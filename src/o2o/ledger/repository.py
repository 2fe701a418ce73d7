"""The ledger's storage port (`LedgerRepository`) and an in-memory implementation for tests and files.

Invariants every implementation keeps:
- entries are append-only and kept in `seq` order; `seq` is unique (a second writer of the same seq fails);
- the leaf hash stored beside each entry is `leaf_hash(entry.leaf_input())`;
- tree heads and public keys are only added, never changed;
- a repository never commits: the unit of work around it does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from o2o.domain.errors import ConcurrencyError
from o2o.ledger.entries import LedgerEntry
from o2o.ledger.key_history import KEY_KINDS
from o2o.ledger.keys import PublicKeyRecord
from o2o.ledger.tree_heads import SignedTreeHead


class LedgerRepository(Protocol):
    def last_entry(self) -> LedgerEntry | None: ...

    def add_entries(self, entries: Sequence[tuple[LedgerEntry, bytes]]) -> None:
        """Append entries (each with its leaf hash) in seq order."""
        ...

    def entry(self, seq: int) -> LedgerEntry | None: ...

    def entries(self, start: int = 0) -> Iterator[LedgerEntry]: ...

    def key_entries(self) -> Iterator[LedgerEntry]:
        """The entries that change keys (`KEY_KINDS`), in seq order."""
        ...

    def leaf_hashes(self) -> list[bytes]: ...

    def add_public_key(self, record: PublicKeyRecord) -> None: ...

    def public_keys(self) -> list[PublicKeyRecord]: ...

    def add_tree_head(self, head: SignedTreeHead) -> None: ...

    def tree_heads(self) -> list[SignedTreeHead]: ...


class InMemoryLedgerRepository:
    """Keeps everything in lists; the same contract as the SQL repository."""

    def __init__(self) -> None:
        self._entries: list[LedgerEntry] = []
        self._leaves: list[bytes] = []
        self._keys: dict[tuple[str, str], PublicKeyRecord] = {}
        self._heads: list[SignedTreeHead] = []

    def last_entry(self) -> LedgerEntry | None:
        return self._entries[-1] if self._entries else None

    def add_entries(self, entries: Sequence[tuple[LedgerEntry, bytes]]) -> None:
        for entry, leaf in entries:
            if entry.seq != len(self._entries):
                raise ConcurrencyError(f"ledger entry {entry.seq} was written by someone else first")
            self._entries.append(entry)
            self._leaves.append(leaf)

    def entry(self, seq: int) -> LedgerEntry | None:
        return self._entries[seq] if 0 <= seq < len(self._entries) else None

    def entries(self, start: int = 0) -> Iterator[LedgerEntry]:
        return iter(self._entries[start:])

    def key_entries(self) -> Iterator[LedgerEntry]:
        return (entry for entry in self._entries if entry.kind in KEY_KINDS)

    def leaf_hashes(self) -> list[bytes]:
        return list(self._leaves)

    def add_public_key(self, record: PublicKeyRecord) -> None:
        self._keys[(record.operator, record.key_id)] = record

    def public_keys(self) -> list[PublicKeyRecord]:
        return list(self._keys.values())

    def add_tree_head(self, head: SignedTreeHead) -> None:
        self._heads.append(head)

    def tree_heads(self) -> list[SignedTreeHead]:
        return sorted(self._heads, key=lambda h: (h.tree_size, h.timestamp))
