"""One query's rows written to a Parquet file per group, by one partitioned COPY (DuckDB).

A batch of runs (a period's usage lines matched as one run, a line's two sides rated in one) writes each
run's large output where that run alone would have written it: one `COPY … PARTITION_BY (grp)` streams
every row once, then each group's part is moved to its file; a group without rows gets a file with none.
Row order is not kept (the files it serves are unordered).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def copy_by_group(
    con: Any, select: str, targets: Mapping[int, Path], scratch: Path, options: str = "FORMAT parquet"
) -> None:
    """Write the rows of `select` (with an integer column `grp`, not written) to `targets[grp]`, with the
    COPY `options`; the parts are made in a folder under `scratch`, removed after."""
    parts = Path(tempfile.mkdtemp(prefix=".parts-", dir=scratch))
    try:
        con.execute(f"COPY ({select}) TO {_literal(str(parts))} ({options}, PARTITION_BY (grp))")
        for g, target in targets.items():
            written = sorted((parts / f"grp={g}").glob("*.parquet"))
            if len(written) == 1:
                shutil.move(written[0], target)
                continue
            # No rows (or, should DuckDB split a part, several files): one file all the same.
            files = ", ".join(_literal(str(p)) for p in written)
            rows = (
                f"SELECT * FROM read_parquet([{files}], hive_partitioning = false)"
                if written
                else f"SELECT * EXCLUDE (grp) FROM ({select}) WHERE FALSE"
            )
            con.execute(f"COPY ({rows}) TO {_literal(str(target))} ({options})")
    finally:
        shutil.rmtree(parts, ignore_errors=True)
