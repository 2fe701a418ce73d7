"""Engines and migrations: one SQLAlchemy engine per workspace, schema brought to head by Alembic.

Every process opens the workspace, so bringing the schema to head must be cheap when there is nothing
to do: the heads of the migration scripts are read from the scripts' own `revision`/`down_revision`
literals (no Alembic import) and compared with the stored `alembic_version` rows; Alembic runs only
when they differ, or when a script is not plain enough to read that way (then Alembic decides).
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


_ENGINES: dict[str, Engine] = {}


def make_engine(url: str) -> Engine:
    """The engine for `url` (one per process and URL, pooled)."""
    engine = _ENGINES.get(url)
    if engine is None:
        engine = _ENGINES[url] = _create(url)
    return engine


def _create(url: str) -> Engine:
    """SQLite gets foreign keys on, WAL and a busy timeout for concurrent writers."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the database to every head (areas add their own migration branches); no-op when at head."""
    heads = script_heads()
    if heads is not None and stored_revisions(engine) == heads:
        return
    from alembic import command

    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")


@cache
def script_heads() -> frozenset[str] | None:
    """The head revisions of the migration scripts, or None when a script is not plain literals."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in sorted((MIGRATIONS / "versions").glob("*.py")):
        found = _script_revision(script)
        if found is None:
            return None
        revision, down = found
        revisions.add(revision)
        parents.update(down)
    heads = frozenset(revisions - parents)
    return heads or None


def _script_revision(script: Path) -> tuple[str, tuple[str, ...]] | None:
    """`revision` and `down_revision` of one script read as literals; None when it cannot be read so."""
    values: dict[str, object] = {}
    try:
        tree = ast.parse(script.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        value: ast.expr | None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision", "depends_on"):
            try:
                values[target.id] = ast.literal_eval(value) if value is not None else None
            except ValueError:
                return None
    revision, down = values.get("revision"), values.get("down_revision")
    if not isinstance(revision, str) or values.get("depends_on") is not None:
        return None
    if down is None:
        return revision, ()
    if isinstance(down, str):
        return revision, (down,)
    if isinstance(down, tuple | list) and all(isinstance(d, str) for d in down):
        return revision, tuple(down)
    return None


def stored_revisions(engine: Engine) -> frozenset[str] | None:
    """The revisions recorded in `alembic_version`, or None when there is no such table yet."""
    try:
        with engine.connect() as conn:
            return frozenset(str(r[0]) for r in conn.execute(text("SELECT version_num FROM alembic_version")))
    except SQLAlchemyError:
        return None


def is_initialised(engine: Engine) -> bool:
    return inspect(engine).has_table("alembic_version")


def foreign_objects(engine: Engine) -> list[str]:
    """Tables and views of the database's schema that are not o2o's (its metadata's and Alembic's own)."""
    import o2o.store.accounts_tables
    import o2o.store.cycle_tables
    import o2o.store.hub_tables
    import o2o.store.jobs_tables
    import o2o.store.ledger_tables
    import o2o.store.portal_tables  # noqa: F401  (each adds its tables to the metadata)
    from o2o.store.schema import metadata

    found = inspect(engine)
    ours = set(metadata.tables) | {"alembic_version"}
    return sorted(set(found.get_table_names()) - ours) + sorted(found.get_view_names())


def holds_rows(engine: Engine) -> bool:
    """Whether any table of the database has a row (its `alembic_version` aside)."""
    names = [n for n in inspect(engine).get_table_names() if n != "alembic_version"]
    with engine.connect() as conn:
        return any(conn.execute(text(f'SELECT 1 FROM "{n}" LIMIT 1')).first() is not None for n in names)


def recreate(engine: Engine) -> None:
    """Empty an o2o database: every migration downgraded to base and upgraded again, in one transaction.

    The migrations' own downgrades remove exactly what their upgrades made (tables, indexes, and the
    journal's append-only trigger and function on PostgreSQL, which dropping the metadata's tables would
    leave behind), and tests/integration/test_store_migrations_match_metadata.py holds the upgrades to
    the metadata. PostgreSQL runs DDL in the transaction: a failure leaves the database as it was.
    """
    from alembic import command
    from alembic.util import CommandError

    from o2o.domain.errors import ValidationError

    cfg = alembic_config()
    try:
        with engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:
                # A downgrade that rebuilds a table others refer to (SQLite's batch mode: copy, drop,
                # rename) breaks their foreign keys on the way, and the driver runs DDL outside a
                # transaction, so checks cannot be deferred: they are off while every table is dropped
                # and made again empty (nothing is left for them to check), and on again once committed
                # (the pragma does nothing inside a transaction).
                conn.exec_driver_sql("PRAGMA foreign_keys = OFF")
                conn.commit()  # ends the driver-level autobegin; no database transaction was open
            try:
                with conn.begin():
                    cfg.attributes["connection"] = conn
                    command.downgrade(cfg, "base")
                    command.upgrade(cfg, "heads")
            finally:
                if sqlite:
                    conn.exec_driver_sql("PRAGMA foreign_keys = ON")
                    conn.commit()
    except CommandError as exc:  # e.g. a revision these scripts do not know (a newer o2o's database)
        raise ValidationError(f"cannot empty the database: {' '.join(str(exc).split())}") from None


def dispose_all() -> None:
    """Close every pooled connection of engines made in this process (tests drop their databases)."""
    for engine in list(_ENGINES.values()):
        engine.dispose()
    _ENGINES.clear()
