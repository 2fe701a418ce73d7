"""The tamper-evident ledger engine: signed, hash-chained entries under an RFC 9162 Merkle tree.

Pure computation over a `LedgerRepository` port (in memory here, SQL in `o2o.store`): canonical JSON
(RFC 8785), SHA-256 chain, Ed25519 signatures and co-signatures, signed tree heads, inclusion and consistency
proofs, JSONL export and its verification with only the export and trusted public keys.
"""

from o2o.ledger.chain import Fact, Ledger, format_time
from o2o.ledger.entries import Cosignature, LedgerEntry, cosign
from o2o.ledger.export import verify_export, write_export
from o2o.ledger.keys import HUB, PublicKeyRecord, PublicKeyRing, Signer
from o2o.ledger.repository import InMemoryLedgerRepository, LedgerRepository
from o2o.ledger.tree_heads import ConsistencyProof, InclusionProof, SignedTreeHead
from o2o.ledger.verification import FINDING_KINDS, Finding, VerificationReport

__all__ = [
    "FINDING_KINDS",
    "HUB",
    "ConsistencyProof",
    "Cosignature",
    "Fact",
    "Finding",
    "InMemoryLedgerRepository",
    "InclusionProof",
    "Ledger",
    "LedgerEntry",
    "LedgerRepository",
    "PublicKeyRecord",
    "PublicKeyRing",
    "SignedTreeHead",
    "Signer",
    "VerificationReport",
    "cosign",
    "format_time",
    "verify_export",
    "write_export",
]
