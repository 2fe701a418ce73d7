"""Declarations received over HTTP: the upload is spooled to a file of the workspace's `uploads/` folder in
chunks (never the whole body in memory), then imported by the very use case `o2o usage import` runs
(`o2o.services.usage.import_usage`: atomic, idempotent by content hash), and its folder removed.

Each upload has a folder `uploads/PID-TOKEN/` named by the process receiving it. A process killed during an
upload leaves that folder and nothing else (the import writes the declaration in one transaction, after the
whole file is in); `sweep_uploads` at the server's start removes the folders of processes that are gone.
Who may declare: an analyst of operator X declares as X, for an agreement X is a party to; any other
agreement answers as unknown. A roaming agreement's BWRP usage report (JSON) is declared by
`declare_roaming_upload`, as `o2o usage import --format bwrp` does: one declaration per direction, in one step.
"""

from __future__ import annotations

import csv
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from o2o.bootstrap import Workspace
from o2o.domain.declarations import Declaration
from o2o.domain.errors import NotFoundError, O2OError, ValidationError
from o2o.domain.identity import Actor, Permission
from o2o.services.hub_policy import agreement_for, concerns
from o2o.services.usage import ImportResult, import_usage

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_FOLDER = re.compile(r"(\d+)-[0-9a-f]+")
REJECTS_SHOWN = 1000


def uploads_dir(ws: Workspace) -> Path:
    return ws.home / "uploads"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def sweep_uploads(ws: Workspace) -> list[Path]:
    """Remove what uploads of processes that are gone left behind (their folders, anything not a folder of
    a live process); returns what was removed."""
    root = uploads_dir(ws)
    if not root.is_dir():
        return []
    removed = []
    for path in root.iterdir():
        match = _FOLDER.fullmatch(path.name)
        if match and path.is_dir() and (int(match.group(1)) == os.getpid() or _alive(int(match.group(1)))):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def upload_name(filename: str | None, fmt: str | None) -> str:
    """The file name a declaration keeps as its source: the client's name without any folder, in safe
    characters; `upload.csv|parquet` when none is given."""
    name = _SAFE.sub("_", Path(filename or "").name).strip("._")[:200]
    if not name:
        name = f"upload.{fmt or 'csv'}"
    return name


class Upload:
    """`with Upload(ws, name) as path:` a new empty file `uploads/PID-TOKEN/name` for the body; the folder
    is removed on leaving, whatever happened."""

    def __init__(self, ws: Workspace, name: str) -> None:
        self.folder = uploads_dir(ws) / f"{os.getpid()}-{secrets.token_hex(8)}"
        self.path = self.folder / name

    def __enter__(self) -> Path:
        self.folder.mkdir(parents=True, mode=0o700)
        self.path.touch(mode=0o600, exist_ok=False)
        return self.path

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def declare_upload(
    ws: Workspace,
    actor: Actor,
    path: Path,
    agreement_id: str,
    period: str,
    service: str | None = None,
    fmt: str | None = None,
    replace: bool = False,
) -> ImportResult:
    """Import the uploaded file as the caller's operator's declaration (as `o2o usage import` would)."""
    actor.require(Permission.ANALYSE)
    operator = actor.acting_operator()
    with ws.uow() as uow:
        agreement_for(uow, actor, agreement_id)
    try:
        return import_usage(ws, path, agreement_id, period, operator, service, fmt, replace, via=actor)
    except O2OError as exc:  # named as the caller named the file, never where the hub keeps things
        raise _as_sent(exc, ws, path) from None


def declare_roaming_upload(
    ws: Workspace, actor: Actor, path: Path, agreement_id: str, period: str
) -> list[ImportResult]:
    """Import the uploaded BWRP usage report as the caller's operator's declarations of a roaming agreement's
    period (as `o2o usage import --format bwrp` would): one per direction, both or neither; the same file
    again is already imported."""
    from o2o.services.roaming_cycle import import_roaming_usage

    actor.require(Permission.ANALYSE)
    operator = actor.acting_operator()
    with ws.uow() as uow:
        agreement_for(uow, actor, agreement_id)
    try:
        return import_roaming_usage(ws, path, agreement_id, period, operator, via=actor)
    except O2OError as exc:
        raise _as_sent(exc, ws, path) from None


def _as_sent(exc: O2OError, ws: Workspace, path: Path) -> O2OError:
    """The error with the file named as the caller named it, never where the hub keeps things."""
    text = str(exc).replace(str(path), path.name).replace(f"{ws.home}/", "")
    return type(exc)(text)


@dataclass(frozen=True, slots=True)
class DeclarationView:
    """A declaration with the rows it rejected (the first `REJECTS_SHOWN`) and how many there are."""

    declaration: Declaration
    rejects: list[dict[str, Any]]
    rejects_total: int


def show_declaration(
    ws: Workspace, actor: Actor, declaration_id: str, limit: int = REJECTS_SHOWN
) -> DeclarationView:
    """A declaration of the caller's operator (the hub's admin: any), with its rejects; the counterparty's
    declaration (whose raw usage is never served) and any other answer as unknown."""
    actor.require(Permission.READ)
    if not 0 <= limit <= REJECTS_SHOWN:
        raise ValidationError(f"rejects: {limit} is not between 0 and {REJECTS_SHOWN}")
    with ws.uow() as uow:
        try:
            decl = uow.declarations.get(declaration_id)
        except NotFoundError:
            decl = None
        if decl is None or not concerns(actor, decl.declarer):
            raise NotFoundError(f"unknown declaration {declaration_id!r}")
        agreement_for(uow, actor, decl.agreement_id)
    rows: list[dict[str, Any]] = []
    if decl.rejects_path and limit:
        with ws.lake.resolve(decl.rejects_path).open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                rows.append({"line": int(row["line"]), "reason": row["reason"], "raw": row["raw"]})
                if len(rows) >= limit:
                    break
    return DeclarationView(decl, rows, decl.totals.rejected)
