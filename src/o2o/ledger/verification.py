"""Verification of a ledger (stored or exported) with only its entries, tree heads and trusted public keys.

Every kind of tampering is named by a finding kind (see `FINDING_KINDS`). Invariants of the check:
- one pass over the entries, O(n): each entry's hash is recomputed, its signature checked with a trusted
  key that the ledger itself registered before (or in) that entry and that was still valid there (not rotated
  out or revoked before it, see `key_history`), its link to the previous hash followed,
  and its leaf appended to an incremental Merkle tree;
- afterwards every signed tree head is checked (signature, root of its size, size not beyond the entries),
  and an older head kept by an operator is checked with an RFC 9162 consistency proof to the ledger.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from o2o.domain.errors import O2OError
from o2o.ledger.entries import (
    FACT_CONTEXT,
    GENESIS_HASH,
    KEY_REGISTERED,
    LedgerEntry,
    entry_hash,
    entry_message,
    fact_digest,
)
from o2o.ledger.key_history import KEY_KINDS, KEY_REVOKED, KeyHistory, KeySpan
from o2o.ledger.keys import HUB, PublicKeyRing
from o2o.ledger.merkle import MerkleTree, leaf_hash, verify_consistency
from o2o.ledger.tree_heads import SignedTreeHead

FINDING_KINDS = {
    "malformed": "a line or entry that cannot be read",
    "content_changed": "an entry's content does not match its hash",
    "bad_signature": "a signature or co-signature that does not verify",
    "unknown_key": "signed by a key that is neither trusted nor registered on the ledger",
    "untrusted_key": "signed by a key registered on the ledger but not among the trusted keys",
    "key_substituted": "a trusted key the ledger never registered for that party, or registered differently",
    "chain_broken": "an entry whose prev_hash is not the hash of the entry before it",
    "reordered": "entries out of sequence order",
    "deleted": "sequence numbers missing from the ledger",
    "duplicated": "a sequence number that occurs twice",
    "truncated": "a signed tree head covers more entries than the ledger holds",
    "root_mismatch": "a signed tree head whose root is not the root of the entries it covers",
    "bad_head_signature": "a tree head whose signature does not verify with the hub's trusted key",
    "missing_tree_head": "an export without a signed tree head (its end could be cut unnoticed)",
    "history_rewritten": "entries covered by an older tree head were changed (consistency proof fails)",
    "key_retired": "signed after the signing key was rotated out or revoked",
    "key_change_unauthorised": "a key replaced without the old key's rotation or the hub's revocation",
}


class TamperingDetected(O2OError):
    """A ledger or export that does not verify; the message names the kinds of tampering found."""


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    seq: int | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "seq": self.seq, "message": self.message}


@dataclass
class VerificationReport:
    entries: int = 0
    root_hash: str = ""
    heads_checked: int = 0
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    key_changes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def kinds(self) -> set[str]:
        return {f.kind for f in self.findings}

    def add(self, kind: str, seq: int | None, message: str) -> None:
        self.findings.append(Finding(kind, seq, message))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "root_hash": self.root_hash,
            "heads_checked": self.heads_checked,
            "findings": [f.to_dict() for f in self.findings],
            "notes": self.notes,
            "key_changes": self.key_changes,
        }


class _EntryChecker:
    """The per-entry part of the pass; holds the keys registered so far on the ledger."""

    def __init__(self, keys: PublicKeyRing, report: VerificationReport) -> None:
        self.keys = keys
        self.report = report
        self.registered: dict[tuple[str, str], str] = {}
        self.history = KeyHistory()

    def register(self, entry: LedgerEntry) -> None:
        payload = entry.payload
        operator, key_id, public = payload.get("operator"), payload.get("key_id"), payload.get("public_key")
        if entry.kind == KEY_REGISTERED and (
            operator != entry.actor or key_id != entry.key_id or not isinstance(public, str)
        ):
            self.report.add(
                "malformed", entry.seq, f"entry {entry.seq}: a key registration not signed by its key"
            )
            return
        if entry.kind != KEY_REVOKED and isinstance(operator, str) and isinstance(key_id, str):
            # a registration or a rotation states the new key; it is checked against the trusted one
            self.registered[(operator, key_id)] = str(public)
        problem = self.history.apply(entry)
        if problem is not None:
            self.report.add("key_change_unauthorised", entry.seq, problem)

    def signing_key_ok(self, seq: int, signer: str, key_id: str) -> bool:
        """Whether (signer, key_id) is a key to check signatures with; names what is wrong if not."""
        ended = self.history.ended(signer, key_id, seq)
        if ended is not None:
            self.report.add(
                "key_retired",
                seq,
                f"entry {seq}: key {key_id} of {signer} was {ended.ended_by} at entry {ended.until}",
            )
            return False
        trusted = self.keys.get(signer, key_id)
        registered = self.registered.get((signer, key_id))
        if trusted is not None and registered is not None:
            if trusted.public_key == registered:
                return True
            self.report.add(
                "key_substituted",
                seq,
                f"entry {seq}: key {key_id} of {signer} differs from the one registered",
            )
            return False
        if trusted is not None:
            self.report.add(
                "key_substituted",
                seq,
                f"entry {seq}: key {key_id} of {signer} is trusted but the ledger never registered it",
            )
        elif registered is not None:
            self.report.add(
                "untrusted_key", seq, f"entry {seq}: key {key_id} of {signer} is registered but not trusted"
            )
        else:
            self.report.add("unknown_key", seq, f"entry {seq}: key {key_id} of {signer} is unknown")
        return False

    def check(self, entry: LedgerEntry) -> None:
        seq = entry.seq
        if entry_hash(entry.body()) != entry.hash:
            self.report.add("content_changed", seq, f"entry {seq}: content does not match its hash")
        if entry.kind in KEY_KINDS:
            self.register(entry)
        if self.signing_key_ok(seq, entry.actor, entry.key_id) and not self.keys.verify(
            entry.actor, entry.key_id, entry.signature, entry_message(entry.hash)
        ):
            self.report.add(
                "bad_signature", seq, f"entry {seq}: the signature of {entry.actor} does not verify"
            )
        if entry.cosignatures:
            message = FACT_CONTEXT + fact_digest(entry.kind, entry.subject, entry.payload)
            for cosig in entry.cosignatures:
                if self.signing_key_ok(seq, cosig.signer, cosig.key_id) and not self.keys.verify(
                    cosig.signer, cosig.key_id, cosig.value, message
                ):
                    self.report.add(
                        "bad_signature",
                        seq,
                        f"entry {seq}: the co-signature of {cosig.signer} does not verify",
                    )


def _check_sequence(seqs: list[int], report: VerificationReport) -> None:
    if all(s == i for i, s in enumerate(seqs)):
        return
    counts = Counter(seqs)
    dups = sorted(s for s, c in counts.items() if c > 1)
    if dups:
        report.add("duplicated", dups[0], f"sequence numbers occur twice: {_some(dups)}")
    top = max(seqs)
    missing = sorted(set(range(top + 1)) - counts.keys())
    if missing:
        report.add("deleted", missing[0], f"entries missing: {_some(missing)}")
    out_of_order = [i for i in range(1, len(seqs)) if seqs[i] < seqs[i - 1]]
    if out_of_order:
        first = out_of_order[0]
        report.add(
            "reordered",
            seqs[first],
            f"entry {seqs[first]} stands after entry {seqs[first - 1]} (line {first + 1})",
        )


def _some(values: list[int]) -> str:
    shown = ", ".join(str(v) for v in values[:10])
    return shown + (f" … ({len(values)} in all)" if len(values) > 10 else "")


def _check_heads(
    heads: Iterable[SignedTreeHead],
    tree: MerkleTree,
    keys: PublicKeyRing,
    report: VerificationReport,
    history: KeyHistory,
) -> int:
    covered = 0
    for head in heads:
        report.heads_checked += 1
        if head.signer != HUB or not head.verify(keys):
            report.add(
                "bad_head_signature", None, f"tree head of size {head.tree_size} is not signed by the hub"
            )
            continue
        # a head of size n covers entries up to n - 1; a hub key that ended there may not sign beyond it
        ended: KeySpan | None = history.ended(HUB, head.key_id, head.tree_size - 1)
        if ended is not None:
            report.add(
                "key_retired",
                None,
                f"tree head of size {head.tree_size} is signed by hub key {head.key_id}, "
                f"{ended.ended_by} at entry {ended.until}",
            )
            continue
        if head.tree_size > tree.size:
            report.add(
                "truncated",
                tree.size,
                f"a signed tree head covers {head.tree_size} entries; the ledger holds {tree.size}",
            )
            continue
        if tree.root(head.tree_size).hex() != head.root_hash:
            report.add(
                "root_mismatch",
                None,
                f"tree head of size {head.tree_size}: its root is not the entries' root",
            )
            continue
        covered = max(covered, head.tree_size)
    return covered


def check_older_head(
    older: SignedTreeHead, tree: MerkleTree, keys: PublicKeyRing, report: VerificationReport
) -> None:
    """Prove from a head an operator kept that the ledger only grew since (RFC 9162 consistency)."""
    if older.signer != HUB or not older.verify(keys):
        report.add(
            "bad_head_signature", None, f"the older tree head (size {older.tree_size}) is not the hub's"
        )
        return
    if older.tree_size > tree.size:
        report.add(
            "truncated",
            tree.size,
            f"the older head covers {older.tree_size} entries; the ledger holds {tree.size}",
        )
        return
    proof = tree.consistency_proof(older.tree_size)
    if not verify_consistency(older.tree_size, tree.size, bytes.fromhex(older.root_hash), tree.root(), proof):
        report.add(
            "history_rewritten",
            None,
            f"the first {older.tree_size} entries are not those of the older head signed {older.timestamp}",
        )
    else:
        report.notes.append(
            f"consistent with the older head of {older.tree_size} entries ({older.timestamp})"
        )


def verify_ledger(
    entries: Iterable[LedgerEntry],
    heads: Iterable[SignedTreeHead],
    keys: PublicKeyRing,
    older_head: SignedTreeHead | None = None,
    *,
    require_head: bool = False,
    report: VerificationReport | None = None,
) -> VerificationReport:
    """Check entries in the order given, then the heads (read after the entries: they may stream in last)."""
    report = report if report is not None else VerificationReport()
    checker = _EntryChecker(keys, report)
    tree = MerkleTree()
    seqs: list[int] = []
    prev = GENESIS_HASH
    for entry in entries:
        if entry.prev_hash != prev:
            report.add("chain_broken", entry.seq, f"entry {entry.seq}: prev_hash is not the hash before it")
        checker.check(entry)
        seqs.append(entry.seq)
        tree.append(leaf_hash(entry.leaf_input()))
        prev = entry.hash
    _check_sequence(seqs, report)
    report.entries = tree.size
    report.root_hash = tree.root().hex()
    head_list = list(heads)
    covered = _check_heads(head_list, tree, keys, report, checker.history)
    for change in checker.history.changes:
        report.key_changes.append(change.to_dict())
        report.notes.append("key change: " + change.describe())
    if not head_list and require_head:
        report.add("missing_tree_head", None, "no signed tree head: a cut at the end would go unnoticed")
    elif covered < tree.size:
        report.notes.append(f"entries {covered}..{tree.size - 1} are not yet covered by a signed tree head")
    if older_head is not None:
        check_older_head(older_head, tree, keys, report)
    return report
