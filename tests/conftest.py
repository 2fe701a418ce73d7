"""Shared fixtures: a workspace per test, the CLI run in-process, and store URLs for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from anvil_node import Anvil, free_port
from harness import cli_invoker, postgres_database


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh O2O_HOME (SQLite + lake) for one test."""
    home = tmp_path / "o2o-data"
    monkeypatch.setenv("O2O_HOME", str(home))
    monkeypatch.delenv("O2O_DATABASE_URL", raising=False)
    yield home


@pytest.fixture
def cli(workspace: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    """Run `o2o ARGS…` in-process, as a user would, and return its exit code and output."""
    return cli_invoker(capsys)


# --- store fixtures: every store test runs on SQLite and on PostgreSQL --------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: SQLite in a temp folder, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite'}"
    else:
        yield from postgres_database()


@pytest.fixture
def db_workspace(store_url: str, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace whose database is `store_url` (so CLI tests run on both backends)."""
    monkeypatch.setenv("O2O_DATABASE_URL", store_url)
    return workspace


@pytest.fixture
def db_cli(db_workspace: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    """Like `cli`, on SQLite and on PostgreSQL."""
    return cli_invoker(capsys)


@pytest.fixture
def anvil(tmp_path: Path) -> Iterator[Anvil]:
    """A real EVM node (anvil, which `make anvil` installs) on a free loopback port, its state in `tmp_path`."""
    node = Anvil(free_port(), tmp_path / "anvil-state.json")
    node.start()
    yield node
    node.stop()
