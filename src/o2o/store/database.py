"""Engines and migrations: one SQLAlchemy engine per workspace, schema brought to head by Alembic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect

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
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the database to every head (areas add their own migration branches)."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")


def is_initialised(engine: Engine) -> bool:
    return inspect(engine).has_table("alembic_version")


def dispose_all() -> None:
    """Close every pooled connection of engines made in this process (tests drop their databases)."""
    for engine in list(_ENGINES.values()):
        engine.dispose()
    _ENGINES.clear()
