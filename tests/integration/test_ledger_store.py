"""The ledger through the store, on SQLite and PostgreSQL: append, reload, proofs, rollback, concurrency."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from o2o.domain.errors import ConcurrencyError, SignatureError
from o2o.ledger import HUB, Fact, Signer, cosign
from o2o.ledger.export import verify_export, write_export
from o2o.services.ledger import append_entries, append_entry, ledger_of
from o2o.store.database import make_engine, migrate
from o2o.store.ledger_repository import SqlLedgerRepository
from o2o.store.ledger_tables import ledger_entries
from o2o.store.uow import UnitOfWork


@pytest.fixture
def engine(store_url: str) -> Engine:
    eng = make_engine(store_url)
    migrate(eng)
    return eng


@pytest.fixture(scope="module")
def keys() -> dict[str, Signer]:
    return {name: Signer.generate(name) for name in (HUB, "ALFA", "BETA")}


def _seed(engine: Engine, keys: dict[str, Signer], facts: int = 20) -> None:
    with UnitOfWork(engine) as uow:
        book = ledger_of(uow)
        for signer in keys.values():
            book.register_key(signer)
        for i in range(facts):
            actor = "ALFA" if i % 2 else "BETA"
            payload = {"amount": Decimal(f"{i}.50"), "currency": "EUR", "note": "Зачёт ✓"}
            cosigs = (
                [cosign(keys["ALFA"], "obligation.created", f"O-{i}", payload)] if actor == "BETA" else []
            )
            append_entry(uow, "obligation.created", f"O-{i}", payload, actor, keys[actor], cosigs)
        book.sign_head(keys[HUB])
        uow.commit()


def test_entries_survive_the_round_trip_and_verify(engine: Engine, keys: dict[str, Signer]) -> None:
    _seed(engine, keys)
    with UnitOfWork(engine) as uow:
        book = ledger_of(uow)
        assert book.size == 23
        report = book.verify()
        assert report.ok, report.findings
        head = book.latest_head()
        assert head is not None and head.tree_size == 23
        assert head.root_hash == report.root_hash
        entry = SqlLedgerRepository(uow.connection).entry(10)
        assert entry is not None
        assert entry.payload["note"] == "Зачёт ✓"
        assert book.inclusion_proof(10).verify(head.root_hash)


def test_appending_continues_after_reopening(engine: Engine, keys: dict[str, Signer]) -> None:
    _seed(engine, keys, facts=3)
    with UnitOfWork(engine) as uow:
        old = ledger_of(uow).latest_head()
        entry = append_entry(uow, "cycle.closed", "AGR-1/2026-10", {}, "ALFA", keys["ALFA"])
        new = ledger_of(uow).sign_head(keys[HUB])
        uow.commit()
    assert old is not None
    assert entry.seq == 6
    with UnitOfWork(engine) as uow:
        book = ledger_of(uow)
        assert book.consistency_proof(old.tree_size, new.tree_size).verify(old.root_hash, new.root_hash)
        assert book.verify(older_head=old).ok


def test_nothing_is_written_without_commit(engine: Engine, keys: dict[str, Signer]) -> None:
    _seed(engine, keys, facts=2)
    with UnitOfWork(engine) as uow:
        append_entry(uow, "cycle.closed", "AGR-1/2026-10", {}, "ALFA", keys["ALFA"])
    with UnitOfWork(engine) as uow:
        assert ledger_of(uow).size == 5


def test_actor_must_sign_its_own_entry(engine: Engine, keys: dict[str, Signer]) -> None:
    _seed(engine, keys, facts=0)
    with UnitOfWork(engine) as uow, pytest.raises(SignatureError, match="ALFA's key"):
        append_entry(uow, "cycle.closed", "AGR-1/2026-10", {}, "ALFA", keys["BETA"])


def test_two_writers_of_the_same_position_conflict(engine: Engine, keys: dict[str, Signer]) -> None:
    _seed(engine, keys, facts=1)
    with UnitOfWork(engine) as first, UnitOfWork(engine) as second:
        assert ledger_of(first).size == ledger_of(second).size == 4  # both read the same tip
        append_entry(first, "a", "S-1", {}, "ALFA", keys["ALFA"])
        first.commit()
        with pytest.raises(ConcurrencyError):
            append_entry(second, "b", "S-2", {}, "BETA", keys["BETA"])
    with UnitOfWork(engine) as uow:
        assert ledger_of(uow).size == 5
        assert ledger_of(uow).verify().ok


def test_a_row_changed_in_the_database_is_found(engine: Engine, keys: dict[str, Signer]) -> None:
    _seed(engine, keys, facts=4)
    with UnitOfWork(engine) as uow:
        uow.connection.execute(
            update(ledger_entries).where(ledger_entries.c.seq == 5).values(payload='{"amount":"9.99"}')
        )
        uow.commit()
    with UnitOfWork(engine) as uow:
        report = ledger_of(uow).verify()
    assert "content_changed" in report.kinds()


def test_an_export_verifies_alone_and_names_a_changed_byte(
    engine: Engine, keys: dict[str, Signer], tmp_path: Path
) -> None:
    _seed(engine, keys, facts=6)
    out = tmp_path / "ledger.jsonl"
    with UnitOfWork(engine) as uow:
        repo = SqlLedgerRepository(uow.connection)
        book = ledger_of(uow)
        write_export(out, repo.entries(), repo.tree_heads(), book.size, "2026-11-25T00:00:00Z")
        ring = book.keyring()
    assert verify_export(out, ring).ok
    lines = out.read_text(encoding="utf-8").splitlines()
    lines[5] = lines[5].replace('"amount":"1.50"', '"amount":"1.51"')
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = verify_export(out, ring)
    assert [f.seq for f in report.findings if f.kind == "content_changed"] == [4]


def test_many_facts_in_one_round_trip(engine: Engine, keys: dict[str, Signer]) -> None:
    _seed(engine, keys, facts=2)
    facts = [Fact("usage.declared", f"D-{i}", {"rows": i}, keys["BETA"]) for i in range(50)]
    with UnitOfWork(engine) as uow:
        entries = append_entries(uow, facts)
        uow.commit()
    assert [e.seq for e in entries] == list(range(5, 55))
    with UnitOfWork(engine) as uow:
        report = ledger_of(uow).verify()
    assert report.ok, report.findings
    assert report.entries == 55


def test_unreadable_lines_and_a_missing_header_are_named(
    engine: Engine, keys: dict[str, Signer], tmp_path: Path
) -> None:
    _seed(engine, keys, facts=3)
    out = tmp_path / "ledger.jsonl"
    with UnitOfWork(engine) as uow:
        repo = SqlLedgerRepository(uow.connection)
        write_export(out, repo.entries(), repo.tree_heads(), ledger_of(uow).size, "2026-11-25T00:00:00Z")
        ring = ledger_of(uow).keyring()
    lines = out.read_text(encoding="utf-8").splitlines()
    out.write_text("\n".join([*lines[:3], "{not json", *lines[3:]]) + "\n", encoding="utf-8")
    report = verify_export(out, ring)
    assert any(f.kind == "malformed" and f.message.startswith("line 4") for f in report.findings)
    out.write_text("\n".join(lines[1:]) + "\n", encoding="utf-8")
    report = verify_export(out, ring)
    assert report.kinds() == {"malformed"}


def _append_in_small_batches(engine: Engine, facts: list[Fact], monkeypatch: pytest.MonkeyPatch) -> None:
    """`facts` on the ledger, and the repository's IN lists cut to two subjects (several batches, merged)."""
    monkeypatch.setattr("o2o.store.ledger_repository._IN_BATCH", 2)
    with UnitOfWork(engine) as uow:
        append_entries(uow, facts)
        uow.commit()


def test_entries_of_reads_only_the_kinds_and_subjects_asked_for(
    engine: Engine, keys: dict[str, Signer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The indexed query answers as a scan of the whole ledger filtered by kind, subject and seq would,
    with entries of other kinds about the same subject, and of the same kinds about other subjects, around."""
    _seed(engine, keys, facts=2)
    facts = []
    for i in range(4):
        facts += [
            Fact("statement.chain_signed", "ST-1", {"i": i}, keys[HUB]),
            Fact("statement.chain_signed", "ST-2", {"i": i}, keys[HUB]),
            Fact("round.chain_accepted", "ST-1", {"i": i}, keys[HUB]),
            Fact("obligation.created", f"O-{i}", {"id": f"O-{i}"}, keys[HUB]),
            Fact("obligation.changed", f"O-{i % 2}", {"id": f"O-{i % 2}", "i": i}, keys[HUB]),
        ]
    _append_in_small_batches(engine, facts, monkeypatch)
    with UnitOfWork(engine) as uow:
        repo = SqlLedgerRepository(uow.connection)
        everything = list(repo.entries())

        def scan(kinds: set[str], subjects: set[str] | None, before: int | None = None) -> list[int]:
            return [
                e.seq
                for e in everything
                if e.kind in kinds and (subjects is None or e.subject in subjects)
                and (before is None or e.seq < before)
            ]  # fmt: skip

        signed = repo.entries_of(["statement.chain_signed"], "ST-1")
        assert [e.seq for e in signed] == scan({"statement.chain_signed"}, {"ST-1"})
        assert [e.payload["i"] for e in signed] == [0, 1, 2, 3]
        assert [e.seq for e in repo.entries_of(["round.chain_accepted"], "ST-1")] == scan(
            {"round.chain_accepted"}, {"ST-1"}
        )
        assert repo.entries_of(["round.chain_accepted"], "ST-2") == []
        assert [e.seq for e in repo.entries_of(["statement.chain_signed"])] == scan(
            {"statement.chain_signed"}, None
        )
        obligations = ["obligation.created", "obligation.changed"]
        cut = everything[-3].seq
        for wanted in (["O-0", "O-2", "O-3"], ["O-1"], ["O-3", "O-0", "O-3"], []):
            assert [e.seq for e in repo.entries_of(obligations, subjects=wanted)] == scan(
                set(obligations), set(wanted)
            )
            assert [e.seq for e in repo.entries_of(obligations, subjects=wanted, before=cut)] == scan(
                set(obligations), set(wanted), cut
            )
        assert [e.seq for e in repo.entries_of(["statement.chain_signed"], "ST-2", before=cut)] == scan(
            {"statement.chain_signed"}, {"ST-2"}, cut
        )
        with pytest.raises(ValueError, match="not both"):
            repo.entries_of(obligations, "O-1", subjects=["O-2"])


def test_newest_entries_are_the_tail_of_a_filtered_scan(
    engine: Engine, keys: dict[str, Signer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the portal's ledger page shows: the newest entries (about the caller's subjects), newest
    first, as the tail of the whole ledger filtered by subject would give them."""
    _seed(engine, keys, facts=2)
    facts = [Fact("usage.declared", f"D-{i % 7}", {"i": i}, keys["BETA"]) for i in range(40)]
    _append_in_small_batches(engine, facts, monkeypatch)
    with UnitOfWork(engine) as uow:
        repo = SqlLedgerRepository(uow.connection)
        everything = list(repo.entries())
        for limit in (1, 5, 200):
            assert [e.seq for e in repo.newest(limit)] == [e.seq for e in everything][::-1][:limit]
            for wanted in (["D-0", "D-3", "D-6"], ["D-2"], ["D-5", "D-1", "D-5", "D-4"], ["nothing"], []):
                tail = [e.seq for e in everything if e.subject in wanted][::-1][:limit]
                assert [e.seq for e in repo.newest(limit, wanted)] == tail, (limit, wanted)
        assert repo.newest(3)[0] == everything[-1]


def test_entries_of_one_kind_and_subject_reads_the_index(engine: Engine) -> None:
    """The plan of the query reads `ix_ledger_entries_kind_subject_seq` and sorts nothing (PostgreSQL told
    not to scan the table, which on an empty one it would rather do)."""
    query = "SELECT * FROM ledger_entries WHERE kind IN ('statement.chain_signed') AND subject = 'ST-1' ORDER BY seq"
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = " ".join(str(row[0]) for row in conn.exec_driver_sql("EXPLAIN " + query))
        else:
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + query))
    assert "ix_ledger_entries_kind_subject_seq" in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan  # seq ends the index: no sort
