"""Ledger entries: canonical JSON (RFC 8785), the SHA-256 hash chain, signatures and co-signatures.

An entry is `{seq, time, kind, subject, payload, actor, prev_hash, hash, signature, cosignatures}`.
Invariants:
- `hash` is SHA-256 over the RFC 8785 canonical JSON of the body `{seq, time, kind, subject, payload, actor,
  prev_hash, cosignatures}`; `prev_hash` is the previous entry's `hash` (64 zeros for seq 0);
- `signature` is the actor's Ed25519 signature over `ENTRY_CONTEXT + hash bytes`, so it covers the whole body,
  including the co-signatures;
- a co-signature is another party's signature over `FACT_CONTEXT + fact digest`, the digest being SHA-256
  of the canonical `{kind, subject, payload}`: a counterparty can sign the fact before the hub gives it a
  place in the chain;
- the Merkle leaf of an entry is the canonical `{hash, signature}`, so the tree commits to the signatures too;
- payloads are JSON objects of str, int, bool, None, lists and objects (Decimal and dates become strings;
  float is refused: money is never a float).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import rfc8785

from o2o.domain.errors import ValidationError
from o2o.ledger.keys import Signer, check_signer_id

GENESIS_HASH = "0" * 64
KEY_REGISTERED = "key.registered"
ENTRY_CONTEXT = b"o2o-ledger/entry/v1\n"
FACT_CONTEXT = b"o2o-ledger/fact/v1\n"

JsonValue = Any


_MAX_SAFE_INT = 2**53 - 1
_dumps = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False, check_circular=False
).encode


def _plain(value: JsonValue) -> bool:
    """Whether the stdlib encoder's output is exactly RFC 8785 for this value.

    It is when there is no float (ES6 number form differs), every int is within ±(2**53 - 1) and no object key
    leaves the Basic Multilingual Plane (RFC 8785 sorts keys by UTF-16 code units, Python by code points).
    """
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return True
    if kind is int:
        return bool(-_MAX_SAFE_INT <= value <= _MAX_SAFE_INT)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or (not key.isascii() and max(key) > "\uffff"):
                return False
            if type(item) is not str and not _plain(item):
                return False
        return True
    if kind is list or kind is tuple:
        return all(type(item) is str or _plain(item) for item in value)
    return False  # floats, subclasses and anything else: the reference decides


def canonical_json(value: JsonValue) -> bytes:
    """RFC 8785 canonical bytes of a JSON value.

    `rfc8785` defines the result; values for which the C encoder provably gives the same bytes (see `_plain`)
    take that faster road, and a property test holds the two equal.
    """
    if _plain(value):
        try:
            return _dumps(value).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: let rfc8785 decide
    return canonical_json_reference(value)


def canonical_json_reference(value: JsonValue) -> bytes:
    """RFC 8785 canonical bytes by the `rfc8785` package."""
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as exc:
        raise ValidationError(f"not canonicalisable as JSON: {exc}") from exc


def json_value(value: Any) -> JsonValue:
    """A payload value made plain JSON: Decimal, dates and enums as strings; float refused."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        raise ValidationError("ledger payloads take no float (write money as Decimal or string)")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return json_value(value.value)
    if isinstance(value, Mapping):
        out: dict[str, JsonValue] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(f"ledger payload keys must be strings, not {type(key).__name__}")
            out[key] = json_value(item)
        return out
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    raise ValidationError(f"ledger payloads take no {type(value).__name__}")


def fact_digest(kind: str, subject: str, payload: Mapping[str, JsonValue]) -> bytes:
    return hashlib.sha256(canonical_json({"kind": kind, "subject": subject, "payload": payload})).digest()


@dataclass(frozen=True, slots=True)
class Cosignature:
    """A counterparty's signature over the fact digest of an entry."""

    signer: str
    key_id: str
    value: str

    def to_dict(self) -> dict[str, str]:
        return {"signer": self.signer, "key_id": self.key_id, "value": self.value}


def cosign(signer: Signer, kind: str, subject: str, payload: Mapping[str, Any]) -> Cosignature:
    """Sign a fact as its counterparty, before (or independently of) its registration."""
    plain = json_value(payload)
    return Cosignature(
        signer.operator, signer.key_id, signer.sign(FACT_CONTEXT + fact_digest(kind, subject, plain))
    )


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One signed, hash-chained registration."""

    seq: int
    time: str
    kind: str
    subject: str
    payload: dict[str, JsonValue]
    actor: str
    prev_hash: str
    hash: str
    key_id: str
    signature: str
    cosignatures: tuple[Cosignature, ...] = field(default=())

    def body(self) -> dict[str, JsonValue]:
        return entry_body(
            self.seq,
            self.time,
            self.kind,
            self.subject,
            self.payload,
            self.actor,
            self.prev_hash,
            self.cosignatures,
        )

    def leaf_input(self) -> bytes:
        return leaf_input(self.hash, self.key_id, self.signature)

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "seq": self.seq,
            "time": self.time,
            "kind": self.kind,
            "subject": self.subject,
            "payload": self.payload,
            "actor": self.actor,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
            "signature": {"key_id": self.key_id, "value": self.signature},
            "cosignatures": [c.to_dict() for c in self.cosignatures],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LedgerEntry:
        """Read an entry as exported; only its shape is checked here, its truth by the verifier."""
        try:
            signature = data["signature"]
            cosigs = tuple(
                Cosignature(str(c["signer"]), str(c["key_id"]), str(c["value"])) for c in data["cosignatures"]
            )
            seq = data["seq"]
            if not isinstance(seq, int) or isinstance(seq, bool):
                raise ValidationError(f"ledger entry seq {seq!r} is not an integer")
            payload = data["payload"]
            if not isinstance(payload, dict):
                raise ValidationError(f"ledger entry {seq}: payload is not an object")
            return cls(
                seq=seq,
                time=str(data["time"]),
                kind=str(data["kind"]),
                subject=str(data["subject"]),
                payload=payload,
                actor=str(data["actor"]),
                prev_hash=str(data["prev_hash"]),
                hash=str(data["hash"]),
                key_id=str(signature["key_id"]),
                signature=str(signature["value"]),
                cosignatures=cosigs,
            )
        except (KeyError, TypeError) as exc:
            raise ValidationError(f"malformed ledger entry: missing or wrong field {exc}") from exc


def entry_body(
    seq: int,
    time: str,
    kind: str,
    subject: str,
    payload: Mapping[str, JsonValue],
    actor: str,
    prev_hash: str,
    cosignatures: Sequence[Cosignature],
) -> dict[str, JsonValue]:
    return {
        "seq": seq,
        "time": time,
        "kind": kind,
        "subject": subject,
        "payload": payload,
        "actor": actor,
        "prev_hash": prev_hash,
        "cosignatures": [c.to_dict() for c in cosignatures],
    }


def entry_hash(body: Mapping[str, JsonValue]) -> str:
    return hashlib.sha256(canonical_json(body)).hexdigest()


def entry_message(hash_hex: str) -> bytes:
    """What the actor signs: a context label and the entry hash."""
    return ENTRY_CONTEXT + bytes.fromhex(hash_hex)


def leaf_input(hash_hex: str, key_id: str, signature: str) -> bytes:
    return canonical_json({"hash": hash_hex, "signature": {"key_id": key_id, "value": signature}})


def check_entry_fields(kind: str, subject: str, actor: str) -> None:
    if not kind or not kind.strip():
        raise ValidationError("a ledger entry needs a kind")
    if not subject or not subject.strip():
        raise ValidationError(f"ledger entry of kind {kind!r} needs a subject")
    check_signer_id(actor)


def make_entry(
    seq: int,
    time: str,
    kind: str,
    subject: str,
    payload: Mapping[str, Any],
    signer: Signer,
    prev_hash: str,
    cosignatures: Sequence[Cosignature] = (),
) -> LedgerEntry:
    """Build, hash and sign the entry at `seq`; the signer is the acting party."""
    check_entry_fields(kind, subject, signer.operator)
    plain = json_value(payload)
    if not isinstance(plain, dict):
        raise ValidationError("a ledger payload is a JSON object")
    cosigs = tuple(cosignatures)
    body = entry_body(seq, time, kind, subject, plain, signer.operator, prev_hash, cosigs)
    digest = entry_hash(body)
    return LedgerEntry(
        seq=seq,
        time=time,
        kind=kind,
        subject=subject,
        payload=plain,
        actor=signer.operator,
        prev_hash=prev_hash,
        hash=digest,
        key_id=signer.key_id,
        signature=signer.sign(entry_message(digest)),
        cosignatures=cosigs,
    )
