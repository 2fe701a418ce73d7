"""Where each file lives in the lake, and staging that makes writes atomic.

A writer stages files under `lake/.staging/<pid>-<token>/`, then renames them into place just before its
database transaction commits. Staging folders of processes that no longer run (a killed import) are swept
on the next write, and so are final files that no declaration refers to.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Lake:
    """Paths of the lake under one root folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def staging_root(self) -> Path:
        return self.root / ".staging"

    def usage_dir(self, agreement: str, period: str, service: str, declarer: str) -> Path:
        return self.root / "usage" / agreement / period / service / declarer

    def relative(self, path: Path) -> str:
        return str(path.relative_to(self.root))

    def resolve(self, relative: str) -> Path:
        return self.root / relative

    @contextmanager
    def staging(self) -> Iterator[Path]:
        """A private folder for files being written; removed on exit, whatever happens."""
        self.sweep_staging()
        folder = self.staging_root / f"{os.getpid()}-{secrets.token_hex(6)}"
        folder.mkdir(parents=True)
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def sweep_staging(self) -> list[Path]:
        """Remove staging folders left by processes that died."""
        removed: list[Path] = []
        if not self.staging_root.exists():
            return removed
        for folder in self.staging_root.iterdir():
            pid_text = folder.name.split("-", 1)[0]
            if pid_text.isdigit() and not _alive(int(pid_text)):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
        return removed

    def sweep_orphans(self, folder: Path, referenced: set[str]) -> list[Path]:
        """Remove files in `folder` that no stored record refers to (a crash between rename and commit)."""
        removed: list[Path] = []
        if not folder.exists():
            return removed
        for path in folder.iterdir():
            if path.is_file() and self.relative(path) not in referenced:
                path.unlink()
                removed.append(path)
        return removed
