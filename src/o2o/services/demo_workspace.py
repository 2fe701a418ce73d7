"""The workspace `o2o demo` runs in: an empty one, or one emptied first (`--fresh`), folder and database.

The demo loads a whole network, so it refuses to run where something is already kept: a workspace folder
that is not empty, or a database (`O2O_DATABASE_URL`) that holds rows. `--fresh` empties both: the
folder is removed, and the database is taken down to no schema and brought back to head by the
migrations (`store.database.recreate`), so two demos in a row start from the same nothing and give the
same figures. A database that holds tables or views that are not o2o's is refused, naming them, and left
untouched: it is someone else's, and `--fresh` is no way to find out. Without `O2O_DATABASE_URL` the
database is the SQLite file inside the folder, and removing the folder empties it.
"""

from __future__ import annotations

import shutil

from sqlalchemy.exc import OperationalError

from o2o.bootstrap import Workspace, open_workspace
from o2o.config import Settings
from o2o.domain.errors import AlreadyExistsError, ValidationError
from o2o.store.database import foreign_objects, holds_rows, make_engine, migrate, recreate


def demo_workspace(settings: Settings, fresh: bool) -> Workspace:
    """The workspace for a demo: refused when in use unless `fresh`, and then emptied first."""
    home = settings.home
    external = settings.database_url is not None
    url = settings.effective_database_url
    engine = make_engine(url)
    in_use = []
    if home.exists() and any(home.iterdir()):
        in_use.append(str(home))
    try:
        if external and holds_rows(engine):
            in_use.append(f"the database {_shown(url)}")
        foreign = foreign_objects(engine) if external and fresh else []
    except OperationalError as exc:
        reason = " ".join(str(exc.orig).split()) if exc.orig is not None else type(exc).__name__
        raise ValidationError(f"O2O_DATABASE_URL: cannot open {_shown(url)}: {reason}") from None
    if in_use and not fresh:
        raise AlreadyExistsError(
            f"{' and '.join(in_use)} {'is' if len(in_use) == 1 else 'are'} not empty; "
            "run `o2o demo --fresh` to empty and reuse them"
        )
    if foreign:
        raise ValidationError(
            f"o2o demo --fresh: the database {_shown(url)} holds what is not o2o's "
            f"({', '.join(foreign)}); it is left as it is: give the demo a database of its own"
        )
    if fresh:
        if external:
            recreate(engine)
        if home.exists():
            shutil.rmtree(home)
        engine.dispose()  # a SQLite file inside the folder is gone: no pooled connection may keep it
    ws = open_workspace(settings)
    # `open_workspace` migrates a database once per process; an emptied one needs it again.
    migrate(ws.engine)
    return ws


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
