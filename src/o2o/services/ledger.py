"""Ledger use cases: generate keys, register facts, sign tree heads, give proofs, export and verify.

`append_entry(uow, …)` runs inside the caller's unit of work (the settlement cycle registers its facts in the
same transaction as the state change they record); the other use cases own their unit of work.
Invariants: private keys live in `$O2O_HOME/keys/OP.pem` (mode 0600, optionally passphrase-encrypted) and are
registered on the ledger by a `key.registered` entry signed with themselves; tree heads are signed by `HUB`.
A party's key is replaced only by `rotate_key` (the old key signs the new one, the hub co-signs) or, after the
hub's `revoke_key`, by a new `generate_key`; the key file it replaces moves to `keys/retired/OP.KEYID.pem`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from o2o.bootstrap import Workspace
from o2o.domain.errors import NotFoundError, O2OError, RecordMismatchError, SignatureError, ValidationError
from o2o.ledger.chain import Fact, Ledger, format_time
from o2o.ledger.entries import Cosignature, LedgerEntry
from o2o.ledger.export import verify_export, write_export
from o2o.ledger.keys import (
    HUB,
    PublicKeyRecord,
    PublicKeyRing,
    Signer,
    check_signer_id,
    read_passphrase,
    read_private_key,
    write_private_key,
)
from o2o.ledger.tree_heads import ConsistencyProof, InclusionProof, SignedTreeHead
from o2o.ledger.verification import TamperingDetected, VerificationReport
from o2o.store.repositories import now_utc
from o2o.store.uow import UnitOfWork

if TYPE_CHECKING:
    from o2o.services.store_audit import StoreAudit


def ledger_of(uow: UnitOfWork) -> Ledger:
    """The ledger the unit of work holds (one per unit of work, so appends keep their place in memory)."""
    return uow.ledger


def append_entry(
    uow: UnitOfWork,
    kind: str,
    subject: str,
    payload: Mapping[str, Any],
    actor: str,
    signer: Signer,
    cosignatures: Sequence[Cosignature] = (),
) -> LedgerEntry:
    """Register a fact signed by `actor` inside the caller's transaction (the caller commits)."""
    if signer.operator != actor:
        raise SignatureError(
            f"an entry by {actor} must be signed with {actor}'s key, not {signer.operator}'s"
        )
    return ledger_of(uow).append(kind, subject, payload, signer, cosignatures)


def append_entries(uow: UnitOfWork, facts: Sequence[Fact]) -> list[LedgerEntry]:
    """Register several facts at once inside the caller's transaction (one insert round trip)."""
    return ledger_of(uow).append_many(facts)


def key_path(ws: Workspace, operator: str) -> Path:
    return ws.settings.keys_dir / f"{check_signer_id(operator)}.pem"


def load_signer(ws: Workspace, operator: str, passphrase: bytes | None = None) -> Signer:
    """The signer of `operator` from the workspace's key file (the hub's passphrase may come from settings)."""
    hub_file = ws.settings.hub_passphrase_file
    if passphrase is None and operator == HUB and hub_file is not None:
        passphrase = read_passphrase(hub_file, "O2O_HUB_PASSPHRASE_FILE")
    return read_private_key(key_path(ws, operator), operator, passphrase)


def generate_key(
    ws: Workspace, operator: str, passphrase: bytes | None = None
) -> tuple[PublicKeyRecord, Path]:
    """Make a key pair, keep the private key in the workspace (0600) and register the public key."""
    path = key_path(ws, operator)
    if path.exists():
        raise ValidationError(
            f"{operator} already has a key at {path}; replace it with `o2o keys rotate {operator}`"
        )
    signer = Signer.generate(operator)
    with ws.uow() as uow:
        if operator != HUB and uow.operators.find(operator) is None:
            raise NotFoundError(f"unknown operator {operator!r} (add it with `o2o operator add`)")
        ledger_of(uow).register_key(signer)
        write_private_key(path, signer, passphrase)
        try:
            uow.commit()
        except Exception:
            path.unlink(missing_ok=True)
            raise
    return signer.record, path


@dataclass(frozen=True, slots=True)
class KeyChangeResult:
    """A key change done: the entry that registered it, the keys before and after, where the files are."""

    entry: LedgerEntry
    old: PublicKeyRecord
    new: PublicKeyRecord | None
    private_key: Path | None
    retired_to: Path | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "change": self.entry.kind.removeprefix("key."),
            "operator": self.old.operator,
            "seq": self.entry.seq,
            "old_key_id": self.old.key_id,
            "key_id": self.new.key_id if self.new else None,
            "reason": self.entry.payload.get("reason"),
            "private_key": str(self.private_key) if self.private_key else None,
            "retired_to": str(self.retired_to) if self.retired_to else None,
        }


def rotate_key(ws: Workspace, operator: str, passphrase: bytes | None = None) -> KeyChangeResult:
    """Replace `operator`'s key: a new key, registered in an entry signed by the old one and the hub.

    The new key is encrypted with the same passphrase as the old one (none if the old had none).
    """
    path = key_path(ws, operator)
    old = load_signer(ws, operator, passphrase)
    hub = None if operator == HUB else _required_hub(ws, None, "the hub co-registers a key rotation")
    new = Signer.generate(operator)
    staged = path.with_name(f"{operator}.{new.key_id}.new.pem")
    with ws.uow() as uow:
        entry = ledger_of(uow).rotate_key(old, new, hub)
        write_private_key(staged, new, passphrase)
        try:
            uow.commit()
        except Exception:
            staged.unlink(missing_ok=True)
            raise
    retired = _retire(ws, operator, old.key_id)
    os.replace(staged, path)
    return KeyChangeResult(entry, old.record, new.record, path, retired)


def revoke_key(ws: Workspace, operator: str, reason: str, passphrase: bytes | None = None) -> KeyChangeResult:
    """The hub revokes `operator`'s valid key with a reason; `passphrase` is the hub's."""
    operator = check_signer_id(operator)
    hub = _required_hub(ws, passphrase, "a revocation is signed by the hub")
    with ws.uow() as uow:
        book = ledger_of(uow)
        entry = book.revoke_key(hub, operator, reason)
        old = book.keyring().get(operator, str(entry.payload["key_id"]))
        uow.commit()
    if old is None:
        raise NotFoundError(f"the revoked key of {operator} is not among the stored public keys")
    return KeyChangeResult(entry, old, None, None, _retire(ws, operator, old.key_id))


def _retire(ws: Workspace, operator: str, key_id: str) -> Path | None:
    """Move a replaced key file out of the way (kept, 0600, in a 0700 folder): it signs nothing more."""
    path = key_path(ws, operator)
    if not path.exists():
        return None
    folder = ws.settings.keys_dir / "retired"
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    target = folder / f"{operator}.{key_id}.pem"
    os.replace(path, target)
    return target


def _hub_signer(ws: Workspace, passphrase: bytes | None) -> Signer | None:
    path = key_path(ws, HUB)
    return load_signer(ws, HUB, passphrase) if path.exists() else None


def _required_hub(ws: Workspace, passphrase: bytes | None, why: str) -> Signer:
    """The hub's signer, or a NotFoundError saying `why` the hub's key is needed."""
    hub = _hub_signer(ws, passphrase)
    if hub is None:
        raise NotFoundError(f"{why}: it has no key here (`o2o keys generate HUB`)")
    return hub


def current_head(ws: Workspace, passphrase: bytes | None = None) -> SignedTreeHead:
    """A head covering the whole ledger, signed now if the hub's key is here; else the latest stored one."""
    hub = _hub_signer(ws, passphrase)
    with ws.uow() as uow:
        book = ledger_of(uow)
        if hub is None:
            head = book.latest_head()
            if head is None:
                raise NotFoundError("no signed tree head yet: the hub needs a key (`o2o keys generate HUB`)")
            return head
        head = book.sign_head(hub)
        uow.commit()
        return head


@dataclass(frozen=True, slots=True)
class ProofBundle:
    entry: LedgerEntry
    inclusion: InclusionProof
    head: SignedTreeHead
    consistency: ConsistencyProof | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "entry": self.entry.to_dict(),
            "inclusion_proof": self.inclusion.to_dict(),
            "tree_head": self.head.to_dict(),
            "consistency_proof": self.consistency.to_dict() if self.consistency else None,
        }


def prove_entry(
    ws: Workspace, seq: int, since_size: int | None = None, passphrase: bytes | None = None
) -> ProofBundle:
    """Entry `seq`, its inclusion proof in the current head, and the head's consistency with an older size."""
    head = current_head(ws, passphrase)
    with ws.uow() as uow:
        book = ledger_of(uow)
        entry = uow.ledger_store.entry(seq)
        if entry is None or seq >= head.tree_size:
            raise NotFoundError(f"entry {seq} is not in the ledger's signed tree of {head.tree_size} entries")
        inclusion = book.inclusion_proof(seq, head.tree_size)
        consistency = None
        if since_size is not None:
            consistency = book.consistency_proof(since_size, head.tree_size)
    return ProofBundle(entry, inclusion, head, consistency)


def stored_keys(ws: Workspace) -> PublicKeyRing:
    with ws.uow() as uow:
        return ledger_of(uow).keyring()


def export_ledger(
    ws: Workspace, out: Path, keys_out: Path | None = None, passphrase: bytes | None = None
) -> dict[str, Any]:
    """Write the JSONL export (entries and signed heads) and, if asked, the public keys an auditor needs."""
    if _hub_signer(ws, passphrase) is not None:
        current_head(ws, passphrase)
    with ws.uow() as uow:
        repo = uow.ledger_store
        book = ledger_of(uow)
        size = book.size
        heads = repo.tree_heads()
        written = write_export(out, repo.entries(), heads, size, format_time(now_utc()))
        keys = book.keyring()
    if keys_out is not None:
        keys_out.parent.mkdir(parents=True, exist_ok=True)
        keys_out.write_text(keys.to_json() + "\n", encoding="utf-8")
    covered = heads[-1].tree_size if heads else 0
    return {"out": str(out), "entries": written, "tree_heads": len(heads), "covered": covered}


def verify(
    ws: Workspace | None,
    export: Path | None = None,
    keys_file: Path | None = None,
    since_head: Path | None = None,
) -> VerificationReport:
    """Audit the workspace's ledger, or an export with only the export and public keys."""
    if keys_file is not None:
        keys = PublicKeyRing.read(keys_file)
    elif ws is not None:
        keys = stored_keys(ws)
    else:
        raise ValidationError("verifying an export without a workspace needs --keys FILE")
    older = SignedTreeHead.read(since_head) if since_head is not None else None
    if export is not None:
        return verify_export(export, keys, older)
    if ws is None:
        raise ValidationError("nothing to verify: give --export FILE or use a workspace")
    with ws.uow() as uow:
        return ledger_of(uow).verify(keys, older)


def verification_failure(report: VerificationReport, audit: StoreAudit | None = None) -> O2OError | None:
    """The one error `ledger verify` ends with when the ledger (or, audited, the store) did not verify."""
    problems: list[O2OError] = []
    if not report.ok:
        kinds = ", ".join(sorted(report.kinds()))
        problems.append(
            TamperingDetected(f"the ledger did not verify ({len(report.findings)} findings: {kinds})")
        )
    if audit is not None and not audit.ok:
        first = audit.findings[0].message
        problems.append(
            RecordMismatchError(
                f"the store differs from what the ledger registered ({len(audit.findings)} findings; {first})"
            )
        )
    return type(problems[0])("; ".join(str(p) for p in problems)) if problems else None


def passphrase_of_file(path: Path) -> bytes:
    """A key's passphrase from `--passphrase-file`: the file's first line."""
    return read_passphrase(path)
