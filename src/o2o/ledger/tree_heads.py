"""Signed tree heads and the proofs handed to auditors, as values that travel as JSON.

Invariants:
- a tree head says "the first `tree_size` entries have Merkle root `root_hash`", signed by the hub over
  `HEAD_CONTEXT + canonical {tree_size, root_hash, timestamp, signer, key_id}`;
- an operator who keeps a head can later check any larger head with a consistency proof, and any entry with an
  inclusion proof, without the hub's database.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from o2o.domain.errors import NotFoundError, ValidationError
from o2o.ledger.entries import canonical_json
from o2o.ledger.keys import PublicKeyRing, Signer
from o2o.ledger.merkle import verify_consistency, verify_inclusion

HEAD_CONTEXT = b"o2o-ledger/tree-head/v1\n"


@dataclass(frozen=True, slots=True)
class SignedTreeHead:
    tree_size: int
    root_hash: str
    timestamp: str
    signer: str
    key_id: str
    signature: str

    def signed_part(self) -> dict[str, Any]:
        return {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "timestamp": self.timestamp,
            "signer": self.signer,
            "key_id": self.key_id,
        }

    def message(self) -> bytes:
        return HEAD_CONTEXT + canonical_json(self.signed_part())

    def verify(self, keys: PublicKeyRing) -> bool:
        return keys.verify(self.signer, self.key_id, self.signature, self.message())

    def to_dict(self) -> dict[str, Any]:
        return {**self.signed_part(), "signature": self.signature}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SignedTreeHead:
        try:
            size = data["tree_size"]
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise ValidationError(f"tree head size {size!r} is not a count")
            return cls(
                tree_size=size,
                root_hash=str(data["root_hash"]),
                timestamp=str(data["timestamp"]),
                signer=str(data["signer"]),
                key_id=str(data["key_id"]),
                signature=str(data["signature"]),
            )
        except KeyError as exc:
            raise ValidationError(f"tree head lacks {exc.args[0]!r}") from exc

    @classmethod
    def read(cls, path: Path) -> SignedTreeHead:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise NotFoundError(f"no tree head file at {path}") from exc
        except json.JSONDecodeError as exc:
            raise ValidationError(f"tree head file {path} is not JSON: {exc}") from exc
        if isinstance(data, dict) and "tree_head" in data:
            data = data["tree_head"]
        if not isinstance(data, dict):
            raise ValidationError(f"tree head file {path}: expected an object")
        return cls.from_dict(data)


def sign_tree_head(signer: Signer, tree_size: int, root: bytes, timestamp: str) -> SignedTreeHead:
    unsigned = SignedTreeHead(tree_size, root.hex(), timestamp, signer.operator, signer.key_id, "")
    return SignedTreeHead(
        tree_size, root.hex(), timestamp, signer.operator, signer.key_id, signer.sign(unsigned.message())
    )


def _hashes(values: list[str]) -> list[bytes]:
    try:
        return [bytes.fromhex(v) for v in values]
    except ValueError as exc:
        raise ValidationError(f"proof hash is not hex: {exc}") from exc


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """Entry `seq` (leaf index) with leaf hash `leaf_hash` is in the tree of `tree_size` entries."""

    seq: int
    tree_size: int
    leaf_hash: str
    path: list[str]

    def verify(self, root_hash: str) -> bool:
        leaf = bytes.fromhex(self.leaf_hash)
        return verify_inclusion(self.seq, self.tree_size, leaf, _hashes(self.path), bytes.fromhex(root_hash))

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "tree_size": self.tree_size, "leaf_hash": self.leaf_hash, "path": self.path}


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """The tree of `new_size` entries extends the tree of `old_size` entries without changing them."""

    old_size: int
    new_size: int
    path: list[str]

    def verify(self, old_root: str, new_root: str) -> bool:
        return verify_consistency(
            self.old_size, self.new_size, bytes.fromhex(old_root), bytes.fromhex(new_root), _hashes(self.path)
        )

    def to_dict(self) -> dict[str, Any]:
        return {"old_size": self.old_size, "new_size": self.new_size, "path": self.path}
