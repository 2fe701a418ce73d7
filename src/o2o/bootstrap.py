"""The composition root: builds the store engine, the lake and the unit of work from settings.

The workspace holds the SQLite database and the private keys, so it is kept private whatever the umask: its
folder and `keys/` are 0700, key files and the database 0600, set on creation and tightened when found looser.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from o2o.config import Settings
from o2o.domain.errors import ValidationError
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
    keep_private(settings, url)
    engine = make_engine(url)
    if url not in _MIGRATED:
        try:
            migrate(engine)
        except OperationalError as exc:
            # The database the environment names cannot be reached: the user's to fix, not a bug.
            where = make_url(url).render_as_string(hide_password=True)
            reason = " ".join(str(exc.orig).split()) if exc.orig is not None else type(exc).__name__
            raise ValidationError(f"O2O_DATABASE_URL: cannot open {where}: {reason}") from None
        _MIGRATED.add(url)
    return Workspace(settings, engine)


def keep_private(settings: Settings, url: str) -> None:
    """Make the workspace folder, `keys/`, key files and a SQLite database readable by their owner only."""
    _tighten(settings.home, 0o700)
    keys = settings.keys_dir
    if keys.is_dir():
        _tighten(keys, 0o700)
        for path in keys.rglob("*"):
            _tighten(path, 0o700 if path.is_dir() else 0o600)
    sqlite = make_url(url)
    if sqlite.get_backend_name() == "sqlite" and sqlite.database not in (None, "", ":memory:"):
        database = Path(sqlite.database)
        if not database.exists() and database.parent.is_dir():
            # created here, empty, at 0600, so SQLite never makes it with the umask's mode
            os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))
        for path in (
            database,
            *(database.with_name(database.name + suffix) for suffix in ("-wal", "-shm", "-journal")),
        ):
            if path.exists():
                _tighten(path, 0o600)


def _tighten(path: Path, mode: int) -> None:
    """Set `mode` when the path grants group or others anything (or was just made with the umask's mode)."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
        if current & 0o077 or current & mode != mode:
            os.chmod(path, mode)
    except PermissionError as exc:
        raise ValidationError(f"{path} cannot be made private to its owner ({exc.strerror})") from exc
