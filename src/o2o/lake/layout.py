"""Where each file lives in the lake, and staging that makes writes atomic.

A writer stages files under `lake/.staging/<pid>-<token>/`, then renames them into place just before its
database transaction commits. Staging folders of processes that no longer run (a killed import) are swept
on the next write, and so are final files that no declaration refers to.

A reconciliation writes its detail files straight into `lake/results/AGREEMENT/PERIOD/run-TOKEN/` (the
statement's evidence names them there), so its claim on that folder lives in staging instead: a file
`<pid>-<token>.run` holding the folder's path, written before the folder is made. Just before the
statement's transaction commits it becomes `<pid>-<token>.committing`, and it is removed once the commit
is done. A dead writer's `.run` claim means its run never committed, so the sweep removes the folder; a
dead `.committing` claim (a kill within the commit itself) is settled only by a sweep that can ask the
store whether the statement names the run.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

RUN_CLAIM, COMMIT_CLAIM = ".run", ".committing"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ResultsRun:
    """One reconciliation's results folder, claimed by this process until its statement commits."""

    def __init__(self, folder: Path, claim: Path) -> None:
        self.folder = folder
        self.claim = claim
        self.committed = False

    def committing(self) -> None:
        """Call just before the commit: from here only the store can tell whether the run committed."""
        self.claim = self.claim.rename(self.claim.with_suffix(COMMIT_CLAIM))

    def commit_done(self) -> None:
        self.claim.unlink()
        self.committed = True


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

    @contextmanager
    def results_run(
        self, agreement: str, period: str, committed: Callable[[str], bool] | None = None
    ) -> Iterator[ResultsRun]:
        """A new claimed folder for one reconciliation's results; removed unless `commit_done` is reached."""
        self.sweep_staging(committed)
        token = secrets.token_hex(4)
        run = ResultsRun(
            self.root / "results" / agreement / period / f"run-{token}",
            self.staging_root / f"{os.getpid()}-{token}{RUN_CLAIM}",
        )
        run.claim.parent.mkdir(parents=True, exist_ok=True)
        run.claim.write_text(self.relative(run.folder), encoding="utf-8")
        run.folder.mkdir(parents=True)
        try:
            yield run
        finally:
            if not run.committed:
                shutil.rmtree(run.folder, ignore_errors=True)
                run.claim.unlink(missing_ok=True)

    def sweep_staging(self, committed: Callable[[str], bool] | None = None) -> list[Path]:
        """Remove staging folders and results runs left by processes that died.

        `committed(path)` says whether the store's statement names a results run; without it, a run whose
        writer died within its commit is left for a sweep that can ask.
        """
        removed: list[Path] = []
        if not self.staging_root.exists():
            return removed
        for entry in self.staging_root.iterdir():
            pid_text = entry.name.split("-", 1)[0]
            if not pid_text.isdigit() or _alive(int(pid_text)):
                continue
            if entry.suffix in (RUN_CLAIM, COMMIT_CLAIM):
                removed.extend(self._sweep_claim(entry, committed))
            else:
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
        return removed

    def _sweep_claim(self, claim: Path, committed: Callable[[str], bool] | None) -> list[Path]:
        """Settle a dead writer's claim on a results run: remove the run unless it committed."""
        run = claim.read_text(encoding="utf-8").strip()
        parts = PurePosixPath(run).parts
        # A claim names a run folder and nothing else: never follow one outside `results/`. One cut short
        # (killed while writing it) has no folder yet, since the folder is made after the claim.
        if len(parts) != 4 or parts[0] != "results" or not parts[3].startswith("run-") or ".." in parts:
            claim.unlink(missing_ok=True)
            return []
        if claim.suffix == COMMIT_CLAIM:
            if committed is None:
                return []
            if committed(run):
                claim.unlink()
                return []
        folder = self.resolve(run)
        shutil.rmtree(folder, ignore_errors=True)
        claim.unlink(missing_ok=True)
        return [folder]

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
