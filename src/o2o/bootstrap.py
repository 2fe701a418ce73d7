"""The composition root: builds the store engine, the lake and the unit of work from settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from o2o.config import Settings
from o2o.lake.layout import Lake
from o2o.store.database import make_engine, migrate
from o2o.store.uow import UnitOfWork

# Databases already brought to head in this process (migrating is idempotent but not free).
_MIGRATED: set[str] = set()


@dataclass
class Workspace:
    """One workspace: settings, the database engine and the lake."""

    settings: Settings
    engine: Engine
    lake: Lake = field(init=False)

    def __post_init__(self) -> None:
        self.lake = Lake(self.settings.lake_dir)

    @property
    def home(self) -> Path:
        return self.settings.home

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine)


def open_workspace(settings: Settings | None = None) -> Workspace:
    """Open (and create if needed) the workspace; the database is brought to the latest schema."""
    settings = settings or Settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    settings.lake_dir.mkdir(parents=True, exist_ok=True)
    url = settings.effective_database_url
    engine = make_engine(url)
    if url not in _MIGRATED:
        migrate(engine)
        _MIGRATED.add(url)
    return Workspace(settings, engine)
