"""Key rotation and revocation in the ledger engine (in memory): what the engine refuses, and what the verifier
names when the same thing is written past the engine, straight into the repository."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from o2o.domain.errors import AlreadyExistsError, NotFoundError, SignatureError, ValidationError
from o2o.ledger import HUB, Cosignature, InMemoryLedgerRepository, Ledger, PublicKeyRing, Signer, cosign
from o2o.ledger.entries import LedgerEntry, make_entry
from o2o.ledger.key_history import KEY_ROTATED, rotation_message
from o2o.ledger.merkle import leaf_hash
from o2o.ledger.tree_heads import sign_tree_head


class StepClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def keys() -> dict[str, Signer]:
    return {name: Signer.generate(name) for name in (HUB, "ALFA", "BETA")}


@pytest.fixture
def repo() -> InMemoryLedgerRepository:
    return InMemoryLedgerRepository()


@pytest.fixture
def book(repo: InMemoryLedgerRepository, keys: dict[str, Signer]) -> Ledger:
    ledger = Ledger(repo, clock=StepClock())
    for signer in keys.values():
        ledger.register_key(signer)
    return ledger


def _force(
    repo: InMemoryLedgerRepository,
    kind: str,
    subject: str,
    payload: Mapping[str, Any],
    signer: Signer,
    cosignatures: Sequence[Cosignature] = (),
) -> LedgerEntry:
    """Write an entry as someone with the database would: no check of the engine's."""
    last = repo.last_entry()
    assert last is not None
    entry = make_entry(last.seq + 1, "2026-11-30T00:00:00.000000Z", kind, subject, payload, signer, last.hash,
                       cosignatures)  # fmt: skip
    repo.add_entries([(entry, leaf_hash(entry.leaf_input()))])
    return entry


def _ring(*signers: Signer) -> PublicKeyRing:
    return PublicKeyRing(s.record for s in signers)


def test_rotation_ends_the_old_key_and_keeps_what_it_signed(book: Ledger, keys: dict[str, Signer]) -> None:
    old, new = keys["ALFA"], Signer.generate("ALFA")
    before = book.append("statement.signed", "S-1", {"amount": "1.00"}, old)
    rotation = book.rotate_key(old, new, keys[HUB])
    assert (rotation.kind, rotation.key_id) == (KEY_ROTATED, old.key_id)
    assert rotation.payload["key_id"] == new.key_id
    with pytest.raises(SignatureError, match=f"rotated out at entry {rotation.seq}"):
        book.append("statement.signed", "S-2", {"amount": "2.00"}, old)
    with pytest.raises(SignatureError, match="rotated out"):
        book.append("statement.signed", "S-2", {}, keys["BETA"], [cosign(old, "statement.signed", "S-2", {})])
    book.append("statement.signed", "S-2", {"amount": "2.00"}, new)
    report = book.verify()
    assert report.ok, report.findings
    assert before.seq < rotation.seq
    assert report.key_changes[-1] == {"change": "rotated", "operator": "ALFA", "key_id": new.key_id,
                                      "old_key_id": old.key_id, "seq": rotation.seq, "reason": None}  # fmt: skip
    # The hub rotates its own key alone; heads are then signed by the new hub key.
    hub2 = Signer.generate(HUB)
    book.rotate_key(keys[HUB], hub2, None)
    book.sign_head(hub2)
    assert book.verify().ok


def test_the_engine_refuses_replacing_a_key_any_other_way(book: Ledger, keys: dict[str, Signer]) -> None:
    with pytest.raises(AlreadyExistsError, match="o2o keys rotate ALFA"):
        book.register_key(Signer.generate("ALFA"))
    with pytest.raises(SignatureError, match="not its valid registered key"):
        book.rotate_key(Signer.generate("ALFA"), Signer.generate("ALFA"), keys[HUB])
    with pytest.raises(SignatureError, match="hub co-registers"):
        book.rotate_key(keys["ALFA"], Signer.generate("ALFA"), None)
    with pytest.raises(SignatureError, match="revoked by HUB"):
        book.revoke_key(keys["BETA"], "ALFA", "mine now")
    with pytest.raises(ValidationError, match="reason"):
        book.revoke_key(keys[HUB], "ALFA", " ")
    revocation = book.revoke_key(keys[HUB], "ALFA", "key leaked")
    with pytest.raises(NotFoundError, match="no valid key"):
        book.revoke_key(keys[HUB], "ALFA", "again")
    with pytest.raises(SignatureError, match=f"revoked at entry {revocation.seq}"):
        book.append("statement.signed", "S-9", {}, keys["ALFA"])
    with pytest.raises(SignatureError, match="retired"):
        book.register_key(keys["ALFA"])
    fresh = Signer.generate("ALFA")
    book.register_key(fresh)
    book.append("statement.signed", "S-9", {}, fresh)
    report = book.verify()
    assert report.ok, report.findings
    assert [c["change"] for c in report.key_changes if c["operator"] == "ALFA"] == [
        "registered",
        "revoked",
        "registered",
    ]
    assert any("revoked by the hub: key leaked" in note for note in report.notes)


def test_a_second_registration_written_past_the_engine_is_named(
    book: Ledger, repo: InMemoryLedgerRepository, keys: dict[str, Signer]
) -> None:
    impostor = Signer.generate("ALFA")
    entry = _force(repo, "key.registered", "ALFA", impostor.record.to_dict(), impostor)
    report = Ledger(repo).verify(_ring(*keys.values(), impostor))
    assert [(f.kind, f.seq) for f in report.findings] == [("key_change_unauthorised", entry.seq)]
    assert "without a rotation or a revocation" in report.findings[0].message


def test_a_rotation_without_the_hub_or_the_new_keys_signature_is_named(
    book: Ledger, repo: InMemoryLedgerRepository, keys: dict[str, Signer]
) -> None:
    old, new = keys["ALFA"], Signer.generate("ALFA")
    payload = {"operator": "ALFA", "old_key_id": old.key_id, "key_id": new.key_id, "public_key": new.public_key,
               "possession": new.sign(rotation_message("ALFA", old.key_id, new.key_id, new.public_key))}  # fmt: skip
    lone = _force(repo, KEY_ROTATED, "ALFA", payload, old)
    report = Ledger(repo).verify(_ring(*keys.values(), new))
    assert [(f.kind, f.seq) for f in report.findings] == [("key_change_unauthorised", lone.seq)]
    assert "not co-registered by the hub" in report.findings[0].message

    newer = Signer.generate("ALFA")
    unsigned = {**payload, "old_key_id": new.key_id, "key_id": newer.key_id, "public_key": newer.public_key}
    entry = _force(repo, KEY_ROTATED, "ALFA", unsigned, new,
                   [cosign(keys[HUB], KEY_ROTATED, "ALFA", unsigned)])  # fmt: skip
    report = Ledger(repo).verify(_ring(*keys.values(), new, newer))
    assert ("key_change_unauthorised", entry.seq) in [(f.kind, f.seq) for f in report.findings]
    assert "did not sign the rotation" in report.findings[-1].message


def test_a_head_signed_by_a_rotated_out_hub_key_past_its_end_is_named(
    book: Ledger, repo: InMemoryLedgerRepository, keys: dict[str, Signer]
) -> None:
    hub2 = Signer.generate(HUB)
    rotation = book.rotate_key(keys[HUB], hub2, None)
    book.append("statement.signed", "S-1", {}, keys["ALFA"])
    size = book.size
    repo.add_tree_head(sign_tree_head(keys[HUB], size, book.tree().root(size), "2026-12-01T00:00:00.000000Z"))
    report = book.verify(_ring(*keys.values(), hub2))
    assert [f.kind for f in report.findings] == ["key_retired"]
    assert f"rotated out at entry {rotation.seq}" in report.findings[0].message
