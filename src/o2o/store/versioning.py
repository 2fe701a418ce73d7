"""Optimistic locking: an update succeeds only if the row still has the version the caller read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, update

from o2o.domain.errors import ConcurrencyError


def update_versioned(conn: Connection, table: Table, key: Any, expected_version: int, **values: Any) -> int:
    """Apply `values` to the row `key` if its version is `expected_version`; return the new version."""
    new_version = expected_version + 1
    result = conn.execute(
        update(table)
        .where(table.c.id == key, table.c.version == expected_version)
        .values(version=new_version, **values)
    )
    if result.rowcount != 1:
        raise ConcurrencyError(
            f"{table.name} {key} was changed by someone else (expected version {expected_version}); "
            "reload and try again"
        )
    return new_version
