"""What the fixtures of tests/conftest.py are made of, importable by a test that needs them inside its own loop
(a hypothesis example makes its own database): the CLI run in-process, and a fresh PostgreSQL database.

A plain module, not a conftest: `import conftest` is ambiguous under pytest (tests/ and tests/e2e/ both have one).
"""

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


def cli_invoker(capsys: pytest.CaptureFixture[str]) -> Any:
    from o2o.cli.app import run

    def invoke(*args: str | Path) -> CliResult:
        capsys.readouterr()
        code = run([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke


POSTGRES_ADMIN_URL = os.environ.get(
    "O2O_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def postgres_database() -> Iterator[str]:
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


def without_lake_paths(value: Any) -> Any:
    """`value` without the lake paths it names (`rated/…` and `results/…/run-ID/…`)."""
    if isinstance(value, dict):
        return {
            k: without_lake_paths(v)
            for k, v in value.items()
            if not (isinstance(v, str) and v.startswith(("rated/", "results/")))
        }
    if isinstance(value, list):
        return [without_lake_paths(v) for v in value]
    return value
