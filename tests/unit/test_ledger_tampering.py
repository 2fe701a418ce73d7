"""Every kind of tampering is detected and named (on entries as an auditor receives them)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from o2o.ledger import HUB, InMemoryLedgerRepository, Ledger, PublicKeyRing, Signer, cosign
from o2o.ledger.entries import LedgerEntry, entry_hash, entry_message
from o2o.ledger.merkle import MerkleTree, leaf_hash
from o2o.ledger.tree_heads import SignedTreeHead, sign_tree_head
from o2o.ledger.verification import FINDING_KINDS, VerificationReport, verify_ledger


def _clock() -> Any:
    state = {"now": datetime(2026, 11, 1, tzinfo=UTC)}

    def tick() -> datetime:
        state["now"] += timedelta(seconds=1)
        return state["now"]

    return tick


@dataclass
class World:
    keys: dict[str, Signer]
    ring: PublicKeyRing
    entries: list[dict[str, Any]]
    heads: list[SignedTreeHead]
    older: SignedTreeHead


def build(keys: dict[str, Signer], rewrite_seq: int | None = None) -> World:
    """A ledger of 3 key registrations and 9 facts; optionally with fact `rewrite_seq` told differently."""
    repo = InMemoryLedgerRepository()
    book = Ledger(repo, clock=_clock())
    for signer in keys.values():
        book.register_key(signer)
    for i in range(9):
        seq = book.size
        actor = keys["ALFA"] if i % 2 else keys["BETA"]
        amount = "999.00" if seq == rewrite_seq else f"{100 + i}.00"
        payload = {"amount": amount, "currency": "EUR"}
        cosigs = (
            [cosign(keys["ALFA"], "statement.signed", f"S-{i}", payload)] if actor is keys["BETA"] else []
        )
        book.append("statement.signed", f"S-{i}", payload, actor, cosigs)
        if book.size == 6:
            older = book.sign_head(keys[HUB])
    book.sign_head(keys[HUB])
    return World(
        keys,
        PublicKeyRing(s.record for s in keys.values()),
        [e.to_dict() for e in repo.entries()],
        repo.tree_heads(),
        older,
    )


@pytest.fixture(scope="module")
def keys() -> dict[str, Signer]:
    return {name: Signer.generate(name) for name in (HUB, "ALFA", "BETA")}


@pytest.fixture
def world(keys: dict[str, Signer]) -> World:
    return build(keys)


def check(
    world: World,
    entries: list[dict[str, Any]] | None = None,
    heads: list[SignedTreeHead] | None = None,
    ring: PublicKeyRing | None = None,
    older: SignedTreeHead | None = None,
) -> VerificationReport:
    rows = world.entries if entries is None else entries
    return verify_ledger(
        [LedgerEntry.from_dict(r) for r in rows],
        world.heads if heads is None else heads,
        world.ring if ring is None else ring,
        older,
        require_head=True,
    )


def resign(entry: dict[str, Any], signer: Signer) -> None:
    """What an attacker holding `signer` does after changing an entry: rehash and sign again."""
    parsed = LedgerEntry.from_dict(entry)
    entry["hash"] = entry_hash(parsed.body())
    entry["signature"] = {"key_id": signer.key_id, "value": signer.sign(entry_message(entry["hash"]))}


def test_untouched_ledger_passes(world: World) -> None:
    report = check(world, older=world.older)
    assert report.ok, report.findings
    assert report.entries == 12


def test_every_finding_kind_is_described() -> None:
    assert all(FINDING_KINDS.values())


def test_a_changed_payload_byte(world: World) -> None:
    rows = copy.deepcopy(world.entries)
    rows[5]["payload"]["amount"] = rows[5]["payload"]["amount"].replace("1", "7", 1)
    report = check(world, rows)
    assert "content_changed" in report.kinds()
    assert [f.seq for f in report.findings if f.kind == "content_changed"] == [5]


def test_a_changed_payload_rehashed_breaks_signature_and_chain(world: World) -> None:
    rows = copy.deepcopy(world.entries)
    rows[5]["payload"]["amount"] = "1.00"
    parsed = LedgerEntry.from_dict(rows[5])
    rows[5]["hash"] = entry_hash(parsed.body())
    report = check(world, rows)
    assert {"bad_signature", "chain_broken"} <= report.kinds()
    assert "content_changed" not in report.kinds()


def test_reordered_entries(world: World) -> None:
    rows = copy.deepcopy(world.entries)
    rows[6], rows[7] = rows[7], rows[6]
    report = check(world, rows)
    assert "reordered" in report.kinds()
    assert "deleted" not in report.kinds()


def test_a_deleted_entry(world: World) -> None:
    rows = copy.deepcopy(world.entries)
    del rows[7]
    report = check(world, rows)
    assert "deleted" in report.kinds()
    assert next(f for f in report.findings if f.kind == "deleted").seq == 7
    assert "chain_broken" in report.kinds()


def test_a_duplicated_entry(world: World) -> None:
    rows = copy.deepcopy(world.entries)
    rows.insert(8, copy.deepcopy(rows[7]))
    assert "duplicated" in check(world, rows).kinds()


def test_truncated_entries(world: World) -> None:
    report = check(world, copy.deepcopy(world.entries[:-2]))
    assert "truncated" in report.kinds()
    assert "deleted" not in report.kinds()


def test_truncation_with_the_heads_removed_is_named(world: World) -> None:
    assert "missing_tree_head" in check(world, world.entries[:-2], heads=[]).kinds()


def test_a_forged_signature(world: World) -> None:
    rows = copy.deepcopy(world.entries)
    sig = rows[4]["signature"]["value"]
    rows[4]["signature"]["value"] = ("0" if sig[0] != "0" else "1") + sig[1:]
    report = check(world, rows)
    assert [f.kind for f in report.findings if f.seq == 4] == ["bad_signature"]
    rows = copy.deepcopy(world.entries)
    rows[4]["signature"]["value"] = "00" * 64
    assert "bad_signature" in check(world, rows).kinds()


def test_a_forged_cosignature(world: World) -> None:
    rows = copy.deepcopy(world.entries)
    idx = next(i for i, r in enumerate(rows) if r["cosignatures"])
    rows[idx]["cosignatures"][0]["value"] = "11" * 64
    resign(rows[idx], world.keys[rows[idx]["actor"]])  # even with the actor's help
    report = check(world, rows)
    assert any(f.kind == "bad_signature" and "co-signature" in f.message for f in report.findings)


def test_a_key_substituted_in_the_trusted_keys(world: World) -> None:
    impostor = Signer.generate("ALFA")
    rows = copy.deepcopy(world.entries)
    target = next(i for i, r in enumerate(rows) if r["actor"] == "ALFA" and r["kind"] != "key.registered")
    rows[target]["payload"]["amount"] = "1.00"
    resign(rows[target], impostor)
    ring = PublicKeyRing([world.keys[HUB].record, world.keys["BETA"].record, impostor.record])
    report = check(world, rows, ring=ring)
    assert "key_substituted" in report.kinds()
    assert any(f.seq == target for f in report.findings if f.kind == "key_substituted")


def test_an_entry_signed_by_an_unknown_key(world: World) -> None:
    impostor = Signer.generate("ALFA")
    rows = copy.deepcopy(world.entries)
    target = next(i for i, r in enumerate(rows) if r["actor"] == "ALFA" and r["kind"] != "key.registered")
    resign(rows[target], impostor)
    assert "unknown_key" in check(world, rows).kinds()


def test_a_key_registered_on_the_ledger_but_not_trusted(world: World) -> None:
    ring = PublicKeyRing([world.keys[HUB].record, world.keys["BETA"].record])
    assert "untrusted_key" in check(world, ring=ring).kinds()


def test_a_forged_tree_head(world: World) -> None:
    fake_hub = Signer.generate(HUB)
    tree = MerkleTree(leaf_hash(LedgerEntry.from_dict(r).leaf_input()) for r in world.entries[:-2])
    forged = sign_tree_head(fake_hub, tree.size, tree.root(), "2026-11-02T00:00:00Z")
    report = check(world, world.entries[:-2], heads=[forged])
    assert "bad_head_signature" in report.kinds()
    tampered = replace(world.heads[-1], root_hash="00" * 32)
    assert "bad_head_signature" in check(world, heads=[tampered]).kinds()


def test_history_rewritten_against_an_older_head(keys: dict[str, Signer], world: World) -> None:
    # The hub rebuilds the whole ledger with entry 4 told differently: with every party's key, everything
    # re-signs and re-chains cleanly; only a head kept from before shows the rewrite.
    rewritten = build(keys, rewrite_seq=4)
    assert check(rewritten).ok
    report = check(rewritten, older=world.older)
    assert report.kinds() == {"history_rewritten"}
    assert check(world, older=world.older).ok


def test_an_older_head_beyond_the_ledger_means_truncation(world: World) -> None:
    short = world.entries[:5]
    tree = MerkleTree(leaf_hash(LedgerEntry.from_dict(r).leaf_input()) for r in short)
    head = sign_tree_head(world.keys[HUB], 5, tree.root(), "2026-11-03T00:00:00Z")
    report = check(world, short, heads=[head], older=world.older)
    assert report.kinds() == {"truncated"}
