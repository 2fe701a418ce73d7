"""The migrations are frozen: upgraded to head, they build exactly the tables the metadata describes.

Alembic's autogenerate comparison (`compare_metadata`) reports every difference in tables, columns,
types, nullability, server defaults, indexes, unique and foreign keys; primary keys it does not compare,
so they are compared from the inspector. Run on SQLite and on PostgreSQL, each a fresh database.
A control test shows the comparison has teeth: a metadata one column, one type, one index or one
nullability away from the migrations gives a non-empty diff.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Engine, Index, Integer, MetaData, Table, inspect

import o2o.store.accounts_tables
import o2o.store.cycle_tables
import o2o.store.hub_tables
import o2o.store.jobs_tables
import o2o.store.ledger_tables
import o2o.store.portal_tables  # noqa: F401  (each adds its tables to the shared metadata)
from o2o.store.database import make_engine, migrate
from o2o.store.schema import metadata


def _diff(engine: Engine, target: MetaData) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        # alembic_version is Alembic's own table, not the metadata's.
        return [d for d in compare_metadata(context, target) if "alembic_version" not in repr(d)]


def _primary_keys(engine: Engine) -> dict[str, list[str]]:
    found = inspect(engine)
    return {
        name: sorted(found.get_pk_constraint(name)["constrained_columns"])
        for name in found.get_table_names()
        if name != "alembic_version"
    }


def test_the_migrations_build_exactly_the_metadatas_tables(store_url: str) -> None:
    engine = make_engine(store_url)
    migrate(engine)
    assert _diff(engine, metadata) == []
    assert _primary_keys(engine) == {
        t.name: sorted(c.name for c in t.primary_key.columns) for t in metadata.sorted_tables
    }


def test_a_metadata_that_differs_from_the_migrations_is_seen(store_url: str) -> None:
    engine = make_engine(store_url)
    migrate(engine)
    changed = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(changed)
    operators = changed.tables["operators"]
    operators.append_column(Column("extra", Integer, nullable=True))
    operators.c.name.nullable = True
    Index("ix_operators_currency", operators.c.currency)
    changed.tables["agreements"].c.sha256.type = Integer()
    Table("not_migrated", changed, Column("id", Integer, primary_key=True))
    kinds = sorted({d[0][0] if isinstance(d, list) else d[0] for d in _diff(engine, changed)})
    assert kinds == ["add_column", "add_index", "add_table", "modify_nullable", "modify_type"]
