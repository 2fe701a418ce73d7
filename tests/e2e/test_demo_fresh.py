"""`o2o demo --fresh` empties the database it uses (O2O_DATABASE_URL, on SQLite and PostgreSQL) as well as
the workspace folder, so two demos in a row give the same summary; without `--fresh` a database in use is
refused; a database that holds what is not o2o's is refused and left untouched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

DEMO = ("demo", "--operators", "2", "--cdrs", "2000", "--seed", "7", "--json")


def _comparable(figures: dict[str, Any]) -> dict[str, Any]:
    """The summary without what a second run cannot repeat: timings, and the ledger's root hash (its
    entries carry the time they were made and the keys, generated afresh, that signed them)."""
    kept = {k: v for k, v in figures.items() if k not in ("seconds", "reconciliation_seconds")}
    kept["ledger"] = {k: v for k, v in figures["ledger"].items() if k != "root"}
    return kept


def test_two_fresh_demos_in_a_row_give_the_same_summary(db_cli: Any, workspace: Path) -> None:
    first = db_cli(*DEMO)
    assert first.code == 0, first.err
    # The folder and the database are in use: a demo without --fresh says so, on one line.
    for folder in (workspace, workspace / "keys"):
        assert folder.exists(), folder
    refused = db_cli(*DEMO)
    assert refused.code == 1 and len(refused.err.strip().splitlines()) == 1, refused.err
    assert "not empty; run `o2o demo --fresh`" in refused.err, refused.err
    second = db_cli(*DEMO, "--fresh")
    assert second.code == 0, second.err
    assert _comparable(second.json()) == _comparable(first.json())
    # One network's worth in the database, not two: the operators of a single run.
    operators = db_cli("operator", "list", "--json").json()
    assert len(operators) == first.json()["operators"], operators


def test_a_database_that_is_not_only_o2os_is_refused_and_kept(
    db_cli: Any, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert db_cli("init").code == 0
    engine = create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE invoices_of_another_app (id INTEGER PRIMARY KEY)"))
        conn.execute(text("INSERT INTO invoices_of_another_app VALUES (1)"))
    r = db_cli(*DEMO, "--fresh")
    assert r.code == 1 and len(r.err.strip().splitlines()) == 1, r.err
    assert "holds what is not o2o's (invoices_of_another_app)" in r.err, r.err
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM invoices_of_another_app")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM operators")).scalar_one() == 0  # o2o's still there
    engine.dispose()
