"""The ledger engine in memory: appending, keys, co-signatures, heads and proofs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from o2o.domain.errors import NotFoundError, SignatureError, ValidationError
from o2o.ledger import HUB, Fact, InMemoryLedgerRepository, Ledger, Signer, cosign
from o2o.ledger.entries import (
    GENESIS_HASH,
    canonical_json,
    canonical_json_reference,
    entry_hash,
    json_value,
)
from o2o.ledger.merkle import leaf_hash


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
def ledger(keys: dict[str, Signer]) -> Ledger:
    book = Ledger(InMemoryLedgerRepository(), clock=StepClock())
    for signer in keys.values():
        book.register_key(signer)
    return book


def test_canonical_json_is_rfc8785() -> None:
    assert canonical_json({"b": 1, "a": [True, None, "é"], "c": {"z": 0, "y": -1}}) == (
        '{"a":[true,null,"é"],"b":1,"c":{"y":-1,"z":0}}'.encode()
    )
    # RFC 8785 sorts keys by UTF-16 code units: U+1F600 (surrogates D83D…) sorts before U+FB01.
    assert canonical_json({"\ufb01": 1, "\U0001f600": 2}) == '{"\U0001f600":2,"\ufb01":1}'.encode()


def test_payload_values_money_as_strings_float_refused() -> None:
    assert json_value({"amount": Decimal("12.50"), "day": datetime(2026, 1, 2, tzinfo=UTC)}) == {
        "amount": "12.50",
        "day": "2026-01-02T00:00:00+00:00",
    }
    with pytest.raises(ValidationError, match="float"):
        json_value({"amount": 1.5})
    with pytest.raises(ValidationError, match="keys"):
        json_value({1: "x"})


def test_entries_chain_and_hash_their_bodies(ledger: Ledger, keys: dict[str, Signer]) -> None:
    first = ledger.append("statement.signed", "AGR-1/2026-10", {"amount": Decimal("10.00")}, keys["ALFA"])
    second = ledger.append("statement.signed", "AGR-1/2026-11", {"amount": Decimal("11.00")}, keys["BETA"])
    assert (first.seq, second.seq) == (3, 4)  # 0..2 are the key registrations
    assert second.prev_hash == first.hash
    assert first.hash == entry_hash(first.body())
    assert first.payload == {"amount": "10.00"}
    assert first.time == "2026-11-01T09:00:04.000000Z"
    assert ledger.tree().leaf(3) == leaf_hash(first.leaf_input())


def test_first_entry_links_to_genesis(keys: dict[str, Signer]) -> None:
    book = Ledger(InMemoryLedgerRepository(), clock=StepClock())
    entry = book.register_key(keys[HUB])
    assert entry.seq == 0
    assert entry.prev_hash == GENESIS_HASH
    assert entry.kind == "key.registered"
    assert entry.payload == keys[HUB].record.to_dict()


def test_unregistered_key_cannot_sign(ledger: Ledger) -> None:
    stranger = Signer.generate("GAMMA")
    with pytest.raises(SignatureError, match="not registered"):
        ledger.append("statement.signed", "AGR-9", {}, stranger)


def test_cosignatures_are_checked_before_appending(ledger: Ledger, keys: dict[str, Signer]) -> None:
    fact = ("statement.signed", "AGR-1/2026-10", {"amount": Decimal("5.00")})
    good = cosign(keys["BETA"], *fact)
    entry = ledger.append(*fact, keys["ALFA"], [good])
    assert entry.cosignatures == (good,)
    wrong = cosign(keys["BETA"], "statement.signed", "AGR-1/2026-10", {"amount": Decimal("6.00")})
    with pytest.raises(SignatureError, match="co-signature of BETA"):
        ledger.append(*fact, keys["ALFA"], [wrong])
    assert ledger.verify().ok


def test_heads_are_signed_by_the_hub_and_reused_until_the_ledger_grows(
    ledger: Ledger, keys: dict[str, Signer]
) -> None:
    with pytest.raises(SignatureError, match="HUB"):
        ledger.sign_head(keys["ALFA"])
    head = ledger.sign_head(keys[HUB])
    assert head.tree_size == 3
    assert head.root_hash == ledger.root()
    assert head.verify(ledger.keyring())
    assert ledger.sign_head(keys[HUB]) == head
    ledger.append("cycle.opened", "AGR-1/2026-10", {}, keys["ALFA"])
    newer = ledger.sign_head(keys[HUB])
    assert newer.tree_size == 4
    assert ledger.latest_head() == newer


def test_inclusion_and_consistency_proofs_verify_against_heads(
    ledger: Ledger, keys: dict[str, Signer]
) -> None:
    for i in range(10):
        ledger.append("usage.declared", f"AGR-1/2026-{i + 1:02d}", {"n": i}, keys["ALFA"])
    old = ledger.sign_head(keys[HUB])
    for i in range(7):
        ledger.append("usage.declared", f"AGR-2/2026-{i + 1:02d}", {"n": i}, keys["BETA"])
    new = ledger.sign_head(keys[HUB])
    for seq in (0, 5, 12, new.tree_size - 1):
        proof = ledger.inclusion_proof(seq)
        assert proof.verify(new.root_hash)
        assert not proof.verify(old.root_hash)
    assert ledger.inclusion_proof(4, old.tree_size).verify(old.root_hash)
    consistency = ledger.consistency_proof(old.tree_size)
    assert consistency.verify(old.root_hash, new.root_hash)
    assert not consistency.verify(new.root_hash, old.root_hash)
    with pytest.raises(NotFoundError):
        ledger.inclusion_proof(new.tree_size)


def test_a_clean_ledger_verifies(ledger: Ledger, keys: dict[str, Signer]) -> None:
    ledger.append("statement.signed", "AGR-1/2026-10", {"amount": "1.00"}, keys["ALFA"])
    older = ledger.sign_head(keys[HUB])
    ledger.append("statement.signed", "AGR-1/2026-11", {"amount": "2.00"}, keys["BETA"])
    ledger.sign_head(keys[HUB])
    report = ledger.verify(older_head=older)
    assert report.ok, report.findings
    assert report.entries == 5
    assert report.heads_checked == 2
    assert any("consistent with the older head" in n for n in report.notes)


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_fast_canonical_json_equals_the_rfc8785_package(value: object) -> None:
    try:
        expected: bytes | None = canonical_json_reference(value)
    except ValidationError:
        expected = None
    if expected is None:
        with pytest.raises(ValidationError):
            canonical_json(value)
    else:
        assert canonical_json(value) == expected


def test_canonical_json_edge_cases_match_the_package() -> None:
    for value in [
        {"\U0001f600": 1, "\ufb01": 2, "a": 3},
        {"s": '\x00\x1f\x7f\u2028\b\f\n\r\t"\\/é'},
        {"big": 2**53 - 1, "neg": -(2**53 - 1)},
        [1.5, 1e21, -0.0],
    ]:
        assert canonical_json(value) == canonical_json_reference(value)
    with pytest.raises(ValidationError):
        canonical_json({"big": 2**53})


def test_append_many_equals_appending_one_by_one(keys: dict[str, Signer]) -> None:
    one, many = (Ledger(InMemoryLedgerRepository(), clock=StepClock()) for _ in range(2))
    for book in (one, many):
        for signer in keys.values():
            book.register_key(signer)
    payload = {"amount": Decimal("3.00")}
    facts = [
        Fact(
            "obligation.created",
            f"O-{i}",
            payload,
            keys["ALFA"],
            [cosign(keys["BETA"], "obligation.created", f"O-{i}", payload)],
        )
        for i in range(5)
    ]
    singles = [one.append(f.kind, f.subject, f.payload, f.signer, f.cosignatures) for f in facts]
    batch = many.append_many(facts)
    assert batch == singles
    assert many.root() == one.root()
    assert many.verify().ok
    bad = Fact(
        "obligation.created", "O-9", payload, keys["ALFA"], [cosign(keys["BETA"], "x", "O-9", payload)]
    )
    with pytest.raises(SignatureError):
        many.append_many([facts[0], bad])
    assert many.size == 8
