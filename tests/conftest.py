"""Shared fixtures: a workspace per test, the CLI run in-process, and store URLs for SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh O2O_HOME (SQLite + lake) for one test."""
    home = tmp_path / "o2o-data"
    monkeypatch.setenv("O2O_HOME", str(home))
    monkeypatch.delenv("O2O_DATABASE_URL", raising=False)
    yield home


def _invoker(capsys: pytest.CaptureFixture[str]) -> Any:
    from o2o.cli.app import run

    def invoke(*args: str | Path) -> CliResult:
        capsys.readouterr()
        code = run([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke


@pytest.fixture
def cli(workspace: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    """Run `o2o ARGS…` in-process, as a user would, and return its exit code and output."""
    return _invoker(capsys)


# --- store fixtures: every store test runs on SQLite and on PostgreSQL --------------------------------

POSTGRES_ADMIN_URL = os.environ.get(
    "O2O_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _postgres_database() -> Iterator[str]:
    """Create a fresh PostgreSQL database for one test and drop it afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(POSTGRES_ADMIN_URL)
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI and is not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    name = f"o2o_test_{uuid.uuid4().hex[:12]}"
    with conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        from o2o.store.database import dispose_all

        dispose_all()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: SQLite in a temp folder, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def db_workspace(store_url: str, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace whose database is `store_url` (so CLI tests run on both backends)."""
    monkeypatch.setenv("O2O_DATABASE_URL", store_url)
    return workspace


@pytest.fixture
def db_cli(db_workspace: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    """Like `cli`, on SQLite and on PostgreSQL."""
    return _invoker(capsys)
