"""Fixtures of the hub tests (their makings are in hub_harness.py, which test modules import by name):
`hub` (module-scoped, a whole cycle), `fresh_hub` (reconciled, disputes open) and `postgres_hub`.

The names below are also re-exported for modules that still `from conftest import …`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hub_harness import (  # noqa: F401  (re-exported)
    OUTSIDER,
    ROLES,
    Hub,
    build_hub,
    client_of,
    invoker,
    problem,
    wait_job,
)

from harness import postgres_database


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A hub on SQLite after a whole cycle (disputed, resolved, signed, netted), shared by one module's tests
    (which must not change it)."""
    with pytest.MonkeyPatch.context() as mp:
        yield build_hub(tmp_path_factory.mktemp("hub"), mp, None, settle=True)


@pytest.fixture
def fresh_hub(tmp_path: Path) -> Iterator[Hub]:
    """A hub of its own for a test that changes it (signs, proposes, confirms)."""
    with pytest.MonkeyPatch.context() as mp:
        yield build_hub(tmp_path, mp, None)


@pytest.fixture
def postgres_hub(tmp_path: Path) -> Iterator[Hub]:
    """The same hub on a fresh PostgreSQL database."""
    for url in postgres_database():
        with pytest.MonkeyPatch.context() as mp:
            yield build_hub(tmp_path, mp, url)
