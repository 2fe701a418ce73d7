"""The record lists behind a dispute: for the days over tolerance, every record that differs.

Reads the detail files `match_files` wrote (matches, only_ours, only_theirs; a folder of parts each from
`match_files_spark`) and writes one `evidence.parquet` with a row per differing record of the chosen days:
the kind (`only_ours`, `only_theirs`, `duration_mismatch`, `partial`), both sides' lines and ids where
present, the start times and durations. Exact matches are never evidence. Rows are ordered by day, kind, then lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from o2o.domain.errors import NotFoundError

DETAIL_FILES = ("matches.parquet", "only_ours.parquet", "only_theirs.parquet")


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where the evidence was written and how many records of each kind it holds."""

    path: Path
    counts: dict[str, int]

    @property
    def records(self) -> int:
        return sum(self.counts.values())


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def write_evidence(details_dir: Path, days: Iterable[date], out: Path, connection: Any = None) -> Evidence:
    """Collect the differing records of `days` from `details_dir` into the Parquet file `out`; on a cursor
    of `connection` (an open DuckDB database, e.g. `reconcile.batch_connection`) when given: a new
    database costs ~20 ms of CPU, more than the query of a line's evidence. Nothing is left on it."""
    for name in DETAIL_FILES:
        if not (details_dir / name).exists():
            raise NotFoundError(f"{details_dir}: no {name} (run the record matching first)")
    # Dates as SQL literals (ISO text, nothing to escape): no table of them to make and fill.
    wanted = ", ".join(f"DATE '{d.isoformat()}'" for d in sorted(set(days)))
    chosen = f"day IN ({wanted})" if wanted else "FALSE"
    # A detail file, or a folder of Parquet parts (as the Spark engine writes each).
    m, o, t = (
        _literal(str(path / "*.parquet" if path.is_dir() else path))
        for path in (details_dir / name for name in DETAIL_FILES)
    )
    con = duckdb.connect() if connection is None else connection.cursor()
    try:
        con.execute(
            f"""COPY (
                SELECT day, class AS kind, ours_line, CAST(ours_record_id AS VARCHAR) AS ours_record_id,
                       theirs_line, CAST(theirs_record_id AS VARCHAR) AS theirs_record_id,
                       ours_start_epoch, theirs_start_epoch, ours_duration_s, theirs_duration_s
                FROM read_parquet({m}) WHERE class <> 'exact' AND {chosen}
                UNION ALL
                SELECT day, 'only_ours', line, CAST(record_id AS VARCHAR), NULL, NULL, start_epoch, NULL, duration_s, NULL
                FROM read_parquet({o}) WHERE {chosen}
                UNION ALL
                SELECT day, 'only_theirs', NULL, NULL, line, CAST(record_id AS VARCHAR), NULL, start_epoch, NULL, duration_s
                FROM read_parquet({t}) WHERE {chosen}
                ORDER BY day, kind, ours_line NULLS LAST, theirs_line NULLS LAST
            ) TO {_literal(str(out))} (FORMAT parquet)"""
        )
        counts = dict(
            con.execute(
                f"SELECT kind, count(*) FROM read_parquet({_literal(str(out))}) GROUP BY kind"
            ).fetchall()
        )
    finally:
        con.close()
    return Evidence(out, {str(k): int(v) for k, v in counts.items()})
