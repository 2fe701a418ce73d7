"""The pool a period's reconciliation runs its usage lines in: `WORKERS` threads, each with one DuckDB
database opened on its first line and reused by every line it takes.

Why: a period is a few dozen lines, most of them small, and each line rates both sides, matches them and
reads two summaries. Opening a DuckDB database costs ~20 ms of CPU, five a line, which outweighed a small
line's work; a cursor of an open one costs microseconds, and what a run makes on it is TEMP (gone with the
cursor) or dropped by the run. DuckDB runs each statement on every core, but a small line's rating and
matching are mostly single-threaded set-up (planning, small files), so two lines at a time fill two cores.
Each worker's database has a memory limit and a spill folder of its own (under the lake's staging, named by
this process, so that a killed run's spill files are swept with its results runs).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")

WORKERS = 2


class LinePool:
    """`submit(fn)` runs `fn(connection)` on a worker with that worker's DuckDB connection. Leaving the pool
    cancels what has not started, waits for what has, closes the databases and removes their spill files."""

    def __init__(self, staging: Path, workers: int = WORKERS) -> None:
        self.staging = staging
        self.workers = workers
        self.local = threading.local()
        self.opened: list[Any] = []
        self.lock = threading.Lock()

    def __enter__(self) -> LinePool:
        self.staging.mkdir(parents=True, exist_ok=True)
        self.scratch = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-lines-", dir=self.staging))
        self.pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="reconcile-line")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.pool.shutdown(wait=True, cancel_futures=True)
        finally:
            for con in self.opened:
                con.close()
            shutil.rmtree(self.scratch, ignore_errors=True)

    def submit(self, fn: Callable[[Any], T]) -> Future[T]:
        return self.pool.submit(lambda: fn(self._connection()))

    def _connection(self) -> Any:
        # Imported here: the reconcile engine loads DuckDB and Arrow, which the cycle's light commands never need.
        from o2o.reconcile import batch_connection

        con = getattr(self.local, "con", None)
        if con is None:
            with self.lock:
                con = batch_connection(self.scratch / f"worker-{len(self.opened)}")
                self.opened.append(con)
            self.local.con = con
        return con
