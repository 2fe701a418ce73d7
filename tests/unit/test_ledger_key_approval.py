"""A key the party made on its own side and the hub approved (`key.approved`): the engine registers it only
with the key's proof of possession, for a party without a valid key, by the hub; the verifier names an
approval written past the engine that breaks one of those rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from o2o.domain.errors import AlreadyExistsError, SignatureError
from o2o.ledger import HUB, InMemoryLedgerRepository, Ledger, PublicKeyRing, Signer
from o2o.ledger.entries import make_entry
from o2o.ledger.key_history import KEY_APPROVED, registration_message
from o2o.ledger.merkle import leaf_hash


class StepClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def _proof(signer: Signer) -> str:
    return signer.sign(registration_message(signer.operator, signer.key_id, signer.public_key))


@pytest.fixture
def hub() -> Signer:
    return Signer.generate(HUB)


@pytest.fixture
def book(hub: Signer) -> Ledger:
    ledger = Ledger(InMemoryLedgerRepository(), clock=StepClock())
    ledger.register_key(hub)
    return ledger


def test_an_approved_key_signs_and_the_ledger_verifies(book: Ledger, hub: Signer) -> None:
    alfa = Signer.generate("ALFA")
    entry = book.approve_key(hub, alfa.record, _proof(alfa))
    assert (entry.kind, entry.actor, entry.payload["key_id"]) == (KEY_APPROVED, HUB, alfa.key_id)
    book.append("statement.signed", "S-1", {"amount": "1.00"}, alfa)
    report = book.verify(PublicKeyRing([hub.record, alfa.record]))
    assert report.ok, report.findings
    assert report.key_changes[-1]["change"] == "approved"
    # after a revocation, the party's next key may be approved too
    book.revoke_key(hub, "ALFA", "lost")
    alfa2 = Signer.generate("ALFA")
    book.approve_key(hub, alfa2.record, _proof(alfa2))
    book.append("statement.signed", "S-2", {}, alfa2)
    assert book.verify(PublicKeyRing([hub.record, alfa.record, alfa2.record])).ok


def test_the_engine_refuses_an_approval_that_breaks_the_rules(book: Ledger, hub: Signer) -> None:
    alfa, other = Signer.generate("ALFA"), Signer.generate("ALFA")
    with pytest.raises(SignatureError, match="did not sign its registration"):
        book.approve_key(hub, alfa.record, _proof(other))
    with pytest.raises(SignatureError, match="approved by HUB, not by ALFA"):
        book.approve_key(alfa, alfa.record, _proof(alfa))
    book.approve_key(hub, alfa.record, _proof(alfa))
    with pytest.raises(AlreadyExistsError, match="o2o keys rotate ALFA"):
        book.approve_key(hub, other.record, _proof(other))
    with pytest.raises(SignatureError, match="generated where it runs"):
        hub2 = Signer.generate(HUB)
        book.approve_key(hub, hub2.record, _proof(hub2))


@pytest.mark.parametrize("flaw", ["not the hub", "no possession", "over a valid key"])
def test_an_approval_written_past_the_engine_is_named(hub: Signer, flaw: str) -> None:
    repo = InMemoryLedgerRepository()
    book = Ledger(repo, clock=StepClock())
    book.register_key(hub)
    alfa, beta = Signer.generate("ALFA"), Signer.generate("BETA")
    book.register_key(beta)
    keys = [hub.record, alfa.record, beta.record]
    if flaw == "over a valid key":
        book.register_key(alfa)
        alfa = Signer.generate("ALFA")
        keys.append(alfa.record)
    payload = {**alfa.record.to_dict(), "possession": _proof(alfa)}
    signer = hub
    if flaw == "not the hub":
        signer = beta
    if flaw == "no possession":
        payload["possession"] = _proof(Signer.generate("ALFA"))
    last = repo.last_entry()
    assert last is not None
    entry = make_entry(last.seq + 1, "2026-11-30T00:00:00.000000Z", KEY_APPROVED, "ALFA", payload, signer,
                       last.hash)  # fmt: skip
    repo.add_entries([(entry, leaf_hash(entry.leaf_input()))])
    report = Ledger(repo).verify(PublicKeyRing(keys))
    assert [(f.kind, f.seq) for f in report.findings] == [("key_change_unauthorised", entry.seq)]
    said = {"not the hub": "approved by BETA", "no possession": "did not sign its registration",
            "over a valid key": "without a rotation or a revocation"}[flaw]  # fmt: skip
    assert said in report.findings[0].message
