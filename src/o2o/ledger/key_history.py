"""The key history a ledger carries: which key of each party was valid over which entries, and why it ended.

Three kinds of entry change a party's keys:
- `key.registered` `{operator, key_id, public_key}`, signed by the new key itself (proof of possession): the
  party's first key, or a new one after its last was revoked;
- `key.rotated` `{operator, old_key_id, key_id, public_key, possession}`, signed by the OLD key (so the old
  key vouches for the new key's id and public key), with `possession` the new key's signature over
  `rotation_message(...)` and a co-signature of the hub (unless the hub rotates its own key);
- `key.revoked` `{operator, key_id, reason}`, signed by the hub, with a reason.
- `key.approved` `{operator, key_id, public_key, possession}`, signed by the hub: a party's first key (or its
  next after a revocation) that the party submitted to the hub (which never holds the private key) and the
  hub's admin approved; `possession` is the new key's signature over `registration_message(...)`.

Invariants:
- a party has at most one valid key at a time; a second `key.registered` while one is valid is unauthorised;
- a key is valid from the entry that registers it up to and including the entry that ends it (the rotation is
  signed by the old key at that entry), so what it signed before stays valid and anything it signs after is not;
- the history is derived from the entries alone, so an export carries it and an auditor needs no other file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from o2o.domain.errors import ValidationError
from o2o.ledger.entries import KEY_REGISTERED, LedgerEntry, canonical_json
from o2o.ledger.keys import HUB, PublicKeyRecord, PublicKeyRing

KEY_ROTATED = "key.rotated"
KEY_REVOKED = "key.revoked"
KEY_APPROVED = "key.approved"
KEY_KINDS = (KEY_REGISTERED, KEY_ROTATED, KEY_REVOKED, KEY_APPROVED)
ROTATION_CONTEXT = b"o2o-ledger/key-rotation/v1\n"
REGISTRATION_CONTEXT = b"o2o-ledger/key-registration/v1\n"


def registration_message(operator: str, key_id: str, public_key: str) -> bytes:
    """What a new key signs when its party submits it to the hub: that it is this party's key."""
    return REGISTRATION_CONTEXT + canonical_json(
        {"operator": operator, "key_id": key_id, "public_key": public_key}
    )


def possession_problem(operator: str, key_id: str, public_key: str, possession: str) -> str | None:
    """Why `possession` does not prove that the key (operator, key_id, public_key) signed its registration."""
    try:
        ring = PublicKeyRing([PublicKeyRecord(operator, key_id, public_key)])
    except (ValidationError, ValueError):
        return f"the public key of {operator} does not match its key id {key_id}"
    if not ring.verify(operator, key_id, possession, registration_message(operator, key_id, public_key)):
        return f"the key {key_id} of {operator} did not sign its registration"
    return None


def rotation_message(operator: str, old_key_id: str, key_id: str, public_key: str) -> bytes:
    """What the new key signs in a rotation: that it takes over from the old key of this party."""
    fields = {"operator": operator, "old_key_id": old_key_id, "key_id": key_id, "public_key": public_key}
    return ROTATION_CONTEXT + canonical_json(fields)


@dataclass(frozen=True, slots=True)
class KeySpan:
    """The entries over which one key was valid: `since` to `until` inclusive (`until` None: still valid)."""

    operator: str
    key_id: str
    since: int
    until: int | None = None
    ended_by: str | None = None


@dataclass(frozen=True, slots=True)
class KeyChange:
    """One change of a party's keys, as `ledger verify` lists it."""

    change: str
    operator: str
    key_id: str
    seq: int
    old_key_id: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "change": self.change,
            "operator": self.operator,
            "key_id": self.key_id,
            "old_key_id": self.old_key_id,
            "seq": self.seq,
            "reason": self.reason,
        }

    def describe(self) -> str:
        if self.change == "rotated":
            return f"entry {self.seq}: key of {self.operator} rotated from {self.old_key_id} to {self.key_id}"
        if self.change == "approved":
            return f"entry {self.seq}: key {self.key_id} of {self.operator} approved by the hub"
        if self.change == "revoked":
            return f"entry {self.seq}: key {self.key_id} of {self.operator} revoked by the hub: {self.reason}"
        return f"entry {self.seq}: key {self.key_id} of {self.operator} registered"


class KeyHistory:
    """The key spans and changes of a ledger, built entry by entry in seq order."""

    def __init__(self) -> None:
        self.spans: dict[tuple[str, str], KeySpan] = {}
        self.current: dict[str, str] = {}
        self.changes: list[KeyChange] = []

    def active(self, operator: str) -> KeySpan | None:
        """The party's valid key, if it has one."""
        key_id = self.current.get(operator)
        return None if key_id is None else self.spans[(operator, key_id)]

    def span(self, operator: str, key_id: str) -> KeySpan | None:
        return self.spans.get((operator, key_id))

    def ended(self, operator: str, key_id: str, seq: int) -> KeySpan | None:
        """The span of a key that ended before `seq` (it must not sign there), else None."""
        span = self.span(operator, key_id)
        return span if span is not None and span.until is not None and seq > span.until else None

    def apply(self, entry: LedgerEntry) -> str | None:
        """Take a key entry into the history; returns what is unauthorised about it, if anything.

        The change is taken in even when unauthorised, so later entries are judged by the keys the ledger
        claims; the verifier reports the problem at this entry.
        """
        payload = entry.payload
        operator = str(payload.get("operator", ""))
        if entry.kind == KEY_REGISTERED:
            return self._registered(entry, operator)
        if entry.kind == KEY_ROTATED:
            return self._rotated(entry, operator, payload)
        if entry.kind == KEY_REVOKED:
            return self._revoked(entry, operator, str(payload.get("key_id", "")), payload.get("reason"))
        if entry.kind == KEY_APPROVED:
            return self._approved(entry, operator, payload)
        return None

    def _start(self, operator: str, key_id: str, seq: int) -> None:
        self.spans[(operator, key_id)] = KeySpan(operator, key_id, seq)
        self.current[operator] = key_id

    def _end(self, span: KeySpan, seq: int, how: str) -> None:
        self.spans[(span.operator, span.key_id)] = KeySpan(span.operator, span.key_id, span.since, seq, how)
        if self.current.get(span.operator) == span.key_id:
            del self.current[span.operator]

    def _registered(self, entry: LedgerEntry, operator: str) -> str | None:
        key_id = entry.key_id
        known, active = self.span(operator, key_id), self.active(operator)
        if known is not None and known.until is None:
            return None  # the same key registered again changes nothing
        self._start(operator, key_id, entry.seq)
        self.changes.append(KeyChange("registered", operator, key_id, entry.seq))
        if known is not None:
            return f"entry {entry.seq}: key {key_id} of {operator} was {known.ended_by} and registered again"
        if active is not None:
            return (
                f"entry {entry.seq}: a new key {key_id} registered for {operator} while key {active.key_id} "
                "was valid, without a rotation or a revocation"
            )
        return None

    def _approved(self, entry: LedgerEntry, operator: str, payload: dict[str, Any]) -> str | None:
        fields = [payload.get(name) for name in ("key_id", "public_key", "possession")]
        texts = [value for value in fields if isinstance(value, str)]
        if len(texts) != len(fields):
            return f"entry {entry.seq}: a key approval lacks key_id, public_key or possession"
        key_id, public, possession = texts
        seq, known, active = entry.seq, self.span(operator, key_id), self.active(operator)
        problem: str | None = None
        if entry.actor != HUB:
            problem = f"entry {seq}: key {key_id} of {operator} approved by {entry.actor}, not by the hub"
        elif known is not None:
            problem = f"entry {seq}: key {key_id} of {operator} was registered before"
        elif active is not None:
            problem = (
                f"entry {seq}: a new key {key_id} approved for {operator} while key {active.key_id} "
                "was valid, without a rotation or a revocation"
            )
        elif (why := possession_problem(operator, key_id, public, possession)) is not None:
            problem = f"entry {seq}: {why}"
        if known is None:
            self._start(operator, key_id, seq)
        self.changes.append(KeyChange("approved", operator, key_id, seq))
        return problem

    def _rotated(self, entry: LedgerEntry, operator: str, payload: dict[str, Any]) -> str | None:
        fields = [payload.get(name) for name in ("old_key_id", "key_id", "public_key", "possession")]
        texts = [value for value in fields if isinstance(value, str)]
        if len(texts) != len(fields):
            return f"entry {entry.seq}: a key rotation lacks old_key_id, key_id, public_key or possession"
        old_id, key_id, public, possession = texts
        problem = self._rotation_problem(entry, operator, old_id, key_id, public, possession)
        active = self.active(operator)
        if active is not None and active.key_id == old_id:
            self._end(active, entry.seq, "rotated out")
        if self.span(operator, key_id) is None:
            self._start(operator, key_id, entry.seq)
        self.changes.append(KeyChange("rotated", operator, key_id, entry.seq, old_key_id=old_id))
        return problem

    def _rotation_problem(
        self, entry: LedgerEntry, operator: str, old_id: str, key_id: str, public: str, possession: str
    ) -> str | None:
        seq, active = entry.seq, self.active(operator)
        if entry.actor != operator or entry.key_id != old_id:
            return f"entry {seq}: the rotation of {operator}'s key is not signed by its old key {old_id}"
        if active is None or active.key_id != old_id:
            return f"entry {seq}: key {old_id} of {operator} was not its valid key when rotated"
        if self.span(operator, key_id) is not None:
            return f"entry {seq}: key {key_id} of {operator} was already registered before"
        try:
            ring = PublicKeyRing([PublicKeyRecord(operator, key_id, public)])
        except (ValidationError, ValueError):
            return f"entry {seq}: the new key of {operator} does not match its key id {key_id}"
        if not ring.verify(operator, key_id, possession, rotation_message(operator, old_id, key_id, public)):
            return f"entry {seq}: the new key {key_id} of {operator} did not sign the rotation"
        if operator != HUB and not any(c.signer == HUB for c in entry.cosignatures):
            return f"entry {seq}: the rotation of {operator}'s key is not co-registered by the hub"
        return None

    def _revoked(self, entry: LedgerEntry, operator: str, key_id: str, reason: Any) -> str | None:
        seq, span = entry.seq, self.span(operator, key_id)
        if span is not None and span.until is None:
            self._end(span, seq, "revoked")
        self.changes.append(KeyChange("revoked", operator, key_id, seq, reason=str(reason or "")))
        if entry.actor != HUB:
            return f"entry {seq}: key {key_id} of {operator} revoked by {entry.actor}, not by the hub"
        if span is None or span.until is not None:
            return f"entry {seq}: key {key_id} of {operator} was not a valid key when revoked"
        if not isinstance(reason, str) or not reason.strip():
            return f"entry {seq}: the revocation of {operator}'s key {key_id} gives no reason"
        return None
