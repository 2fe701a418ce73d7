"""The ledger: appends signed entries to the hash chain and the Merkle tree, signs tree heads, gives proofs.

Invariants:
- entry `seq` n is leaf n of the Merkle tree; `prev_hash` of entry n is the hash of entry n-1;
- a key signs entries only after it is registered: `register_key` records the public key and appends a
  `key.registered` entry signed by that very key (proof of possession), so the ledger carries its key history;
- a party has one valid key at a time: a second key comes only by `rotate_key` (signed by the old key,
  co-signed by the hub) or after `revoke_key` (by the hub, with a reason); a party without a valid key may
  also have one the hub approves (`approve_key`: the hub signs, the key's proof of possession in the entry);
  a rotated-out or revoked key signs nothing more (see `key_history`);
- co-signatures are checked against registered keys before an entry is appended;
- appending costs one canonicalisation, one signature and amortised O(1) hashes (the tree is loaded once);
- nothing here commits: the repository's unit of work does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from o2o.domain.errors import AlreadyExistsError, NotFoundError, SignatureError, ValidationError
from o2o.ledger.entries import (
    FACT_CONTEXT,
    GENESIS_HASH,
    KEY_REGISTERED,
    Cosignature,
    LedgerEntry,
    cosign,
    fact_digest,
    json_value,
    make_entry,
)
from o2o.ledger.key_history import (
    KEY_APPROVED,
    KEY_KINDS,
    KEY_REVOKED,
    KEY_ROTATED,
    KeyHistory,
    KeySpan,
    possession_problem,
    rotation_message,
)
from o2o.ledger.keys import HUB, PublicKeyRecord, PublicKeyRing, Signer
from o2o.ledger.merkle import MerkleTree, leaf_hash
from o2o.ledger.repository import LedgerRepository
from o2o.ledger.tree_heads import ConsistencyProof, InclusionProof, SignedTreeHead, sign_tree_head
from o2o.ledger.verification import VerificationReport, verify_ledger

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Fact:
    """A fact to register: what, about what, its content, who acts, and counterparties' co-signatures."""

    kind: str
    subject: str
    payload: Mapping[str, Any]
    signer: Signer
    cosignatures: Sequence[Cosignature] = ()


def _utc_now() -> datetime:
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValidationError("ledger times must carry a time zone")
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class Ledger:
    """The append-only, signed, hash-chained log over a `LedgerRepository`."""

    def __init__(self, repository: LedgerRepository, clock: Clock = _utc_now) -> None:
        self._repo = repository
        self._clock = clock
        self._next: tuple[int, str] | None = None
        self._tree: MerkleTree | None = None
        self._keys: PublicKeyRing | None = None
        self._history: KeyHistory | None = None

    # --- appending -------------------------------------------------------------------------------

    def _tip(self) -> tuple[int, str]:
        if self._next is None:
            last = self._repo.last_entry()
            self._next = (0, GENESIS_HASH) if last is None else (last.seq + 1, last.hash)
        return self._next

    def keyring(self) -> PublicKeyRing:
        """The keys registered in this ledger's store."""
        if self._keys is None:
            self._keys = PublicKeyRing(self._repo.public_keys())
        return self._keys

    def key_history(self) -> KeyHistory:
        """Which key of each party is valid, from the key entries of this ledger."""
        if self._history is None:
            self._history = KeyHistory()
            for entry in self._repo.key_entries():
                self._history.apply(entry)
        return self._history

    def _check_valid(self, operator: str, key_id: str) -> None:
        span = self.key_history().span(operator, key_id)
        if span is not None and span.until is not None:
            raise SignatureError(
                f"the key {key_id} of {operator} was {span.ended_by} at entry {span.until}: it signs no more"
            )

    def append(
        self,
        kind: str,
        subject: str,
        payload: Mapping[str, Any],
        signer: Signer,
        cosignatures: Sequence[Cosignature] = (),
    ) -> LedgerEntry:
        """Register a fact signed by its acting party (and co-signed by counterparties)."""
        return self.append_many([Fact(kind, subject, payload, signer, cosignatures)])[0]

    def append_many(self, facts: Sequence[Fact]) -> list[LedgerEntry]:
        """Register several facts in order, written to the repository at once (one round trip)."""
        keys = self.keyring()
        for fact in facts:
            signer = fact.signer
            if keys.get(signer.operator, signer.key_id) is None:
                raise SignatureError(
                    f"the key {signer.key_id} of {signer.operator} is not registered (run `o2o keys generate`)"
                )
            self._check_valid(signer.operator, signer.key_id)
            for cosig in fact.cosignatures:
                self._check_valid(cosig.signer, cosig.key_id)
            if fact.cosignatures:
                self._check_cosignatures(fact.kind, fact.subject, fact.payload, fact.cosignatures, keys)
        return self._write(facts)

    def _write(self, facts: Sequence[Fact]) -> list[LedgerEntry]:
        seq, prev = self._tip()
        made: list[tuple[LedgerEntry, bytes]] = []
        for f in facts:
            moment = format_time(self._clock())
            entry = make_entry(seq, moment, f.kind, f.subject, f.payload, f.signer, prev, f.cosignatures)
            made.append((entry, leaf_hash(entry.leaf_input())))
            seq, prev = seq + 1, entry.hash
        self._repo.add_entries(made)
        self._next = (seq, prev)
        if self._history is not None:
            for entry, _ in made:
                if entry.kind in KEY_KINDS:
                    self._history.apply(entry)
        if self._tree is not None:
            for _, leaf in made:
                self._tree.append(leaf)
        return [entry for entry, _ in made]

    @staticmethod
    def _check_cosignatures(
        kind: str,
        subject: str,
        payload: Mapping[str, Any],
        cosignatures: Sequence[Cosignature],
        keys: PublicKeyRing,
    ) -> None:
        plain = json_value(payload)
        message = FACT_CONTEXT + fact_digest(kind, subject, plain)
        for cosig in cosignatures:
            if not keys.verify(cosig.signer, cosig.key_id, cosig.value, message):
                raise SignatureError(
                    f"the co-signature of {cosig.signer} on {kind} {subject} does not verify"
                )

    def register_key(self, signer: Signer) -> LedgerEntry:
        """Record a party's first key (or its next after a revocation), registered signed by the key itself."""
        record = signer.record
        history = self.key_history()
        active = history.active(record.operator)
        if active is not None:
            raise AlreadyExistsError(_replace_hint(active))
        if history.span(record.operator, record.key_id) is not None:
            raise SignatureError(f"the key {record.key_id} of {record.operator} was retired: make a new one")
        self._add_key(record)
        return self._write([Fact(KEY_REGISTERED, record.operator, record.to_dict(), signer)])[0]

    def rotate_key(self, old: Signer, new: Signer, hub: Signer | None) -> LedgerEntry:
        """Replace a party's valid key: the old key signs the entry naming the new one, the hub co-signs."""
        if old.operator != new.operator:
            raise SignatureError(f"a key of {old.operator} cannot be rotated to a key of {new.operator}")
        active = self.key_history().active(old.operator)
        if active is None or active.key_id != old.key_id:
            raise SignatureError(
                f"the key {old.key_id} of {old.operator} is not its valid registered key: it cannot rotate"
            )
        payload = {
            "operator": new.operator,
            "old_key_id": old.key_id,
            "key_id": new.key_id,
            "public_key": new.public_key,
            "possession": new.sign(rotation_message(new.operator, old.key_id, new.key_id, new.public_key)),
        }
        cosignatures = []
        if old.operator != HUB:
            if hub is None or hub.operator != HUB:
                raise SignatureError(f"the hub co-registers a key rotation: its key is needed ({HUB})")
            cosignatures.append(cosign(hub, KEY_ROTATED, old.operator, payload))
        fact = Fact(KEY_ROTATED, old.operator, payload, old, cosignatures)
        entry = self.append_many([fact])[0]  # checks the old key and the hub's co-signature, then writes
        self._add_key(new.record)
        return entry

    def revoke_key(self, hub: Signer, operator: str, reason: str) -> LedgerEntry:
        """The hub ends a party's valid key, with a reason; the party may then register a new one."""
        if hub.operator != HUB:
            raise SignatureError(f"keys are revoked by {HUB}, not by {hub.operator}")
        if not reason.strip():
            raise ValidationError("a revocation needs a reason (--reason TEXT)")
        active = self.key_history().active(operator)
        if active is None:
            raise NotFoundError(f"{operator} has no valid key to revoke")
        payload = {"operator": operator, "key_id": active.key_id, "reason": reason.strip()}
        return self.append(KEY_REVOKED, operator, payload, hub)

    def approve_key(self, hub: Signer, record: PublicKeyRecord, possession: str) -> LedgerEntry:
        """Record a party's first key (or its next after a revocation) that the party submitted with a proof
        of possession and the hub approved: the hub signs the entry, which carries the proof."""
        if hub.operator != HUB:
            raise SignatureError(f"keys are approved by {HUB}, not by {hub.operator}")
        if record.operator == HUB:
            raise SignatureError("the hub's own key is generated where it runs, not approved")
        history = self.key_history()
        active = history.active(record.operator)
        if active is not None:
            raise AlreadyExistsError(_replace_hint(active))
        if history.span(record.operator, record.key_id) is not None:
            raise SignatureError(f"the key {record.key_id} of {record.operator} was retired: make a new one")
        problem = possession_problem(record.operator, record.key_id, record.public_key, possession)
        if problem is not None:
            raise SignatureError(problem)
        payload = {**record.to_dict(), "possession": possession}
        entry = self.append_many([Fact(KEY_APPROVED, record.operator, payload, hub)])[0]
        self._add_key(record)
        return entry

    def _add_key(self, record: PublicKeyRecord) -> None:
        keys = self.keyring()
        if keys.get(record.operator, record.key_id) is None:
            self._repo.add_public_key(record)
            keys.add(record)

    def add_public_key(self, record: PublicKeyRecord) -> None:
        """Record a public key without a ledger entry (a verifier's trusted copy)."""
        self._repo.add_public_key(record)
        self.keyring().add(record)

    # --- the tree --------------------------------------------------------------------------------

    def tree(self) -> MerkleTree:
        if self._tree is None:
            self._tree = MerkleTree(self._repo.leaf_hashes())
        return self._tree

    @property
    def size(self) -> int:
        return self._tip()[0]

    def latest_head(self) -> SignedTreeHead | None:
        heads = self._repo.tree_heads()
        return heads[-1] if heads else None

    def sign_head(self, hub: Signer) -> SignedTreeHead:
        """A signed head of the whole ledger: the latest stored one if nothing was appended since."""
        if hub.operator != HUB:
            raise SignatureError(f"tree heads are signed by {HUB}, not {hub.operator}")
        size = self.size
        latest = self.latest_head()
        if latest is not None and latest.tree_size == size and latest.key_id == hub.key_id:
            return latest
        head = sign_tree_head(hub, size, self.tree().root(size), format_time(self._clock()))
        self._repo.add_tree_head(head)
        return head

    def inclusion_proof(self, seq: int, tree_size: int | None = None) -> InclusionProof:
        tree = self.tree()
        size = tree.size if tree_size is None else tree_size
        if not 0 <= seq < size:
            raise NotFoundError(f"entry {seq} is not in the ledger of {size} entries")
        if size > tree.size:
            raise NotFoundError(f"the ledger has {tree.size} entries, not {size}")
        path = [h.hex() for h in tree.inclusion_proof(seq, size)]
        return InclusionProof(seq, size, tree.leaf(seq).hex(), path)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> ConsistencyProof:
        tree = self.tree()
        size = tree.size if new_size is None else new_size
        if not 0 <= old_size <= size <= tree.size:
            raise ValidationError(f"sizes {old_size} and {size} do not fit a ledger of {tree.size} entries")
        return ConsistencyProof(old_size, size, [h.hex() for h in tree.consistency_proof(old_size, size)])

    def root(self, size: int | None = None) -> str:
        return self.tree().root(size).hex()

    # --- checking --------------------------------------------------------------------------------

    def verify(
        self, keys: PublicKeyRing | None = None, older_head: SignedTreeHead | None = None
    ) -> VerificationReport:
        """Check the stored ledger as an auditor would check an export of it."""
        return verify_ledger(
            self._repo.entries(),
            self._repo.tree_heads(),
            keys if keys is not None else self.keyring(),
            older_head,
        )


def _replace_hint(active: KeySpan) -> str:
    op = active.operator
    return (
        f"{op} already has key {active.key_id} registered (entry {active.since}): rotate it with "
        f"`o2o keys rotate {op}` or have the hub revoke it with `o2o keys revoke {op} --reason TEXT`"
    )
