"""The thin DuckDB adapter of the reconciliation engine: the connection, and the two inputs as tables.

Everything DuckDB-specific lives here (reading CSV/Parquet, parsing ISO-8601 times, memory limits, writing
Parquet); the core steps in `match_sql` read only the tables made here:
`{side}_rec(line, record_id, a_number, b_number, start_epoch, duration_s)` with `line` unique per side
(the CSV line, data lines counted from 2; the `line` column of canonical lake Parquet, else the row
number + 1), numbers normalised to E.164 digits (NULL when not a number) and times as integer epoch
seconds UTC (NULL when unreadable).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from o2o.domain.errors import ImportRefusedError
from o2o.domain.numbers import sql_clean, sql_normalise
from o2o.domain.operators import NumberingPlan

# Without a country a trunk prefix cannot be expanded: keep national numbers as written.
_NO_COUNTRY = NumberingPlan(country_code="0", trunk_prefix="")


def connect(memory_limit: str, temp_directory: Path, threads: int | None = None) -> Any:
    """A DuckDB connection that spills to `temp_directory` past `memory_limit`, on UTC."""
    temp_directory.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "memory_limit": memory_limit,
        "temp_directory": str(temp_directory),
        "preserve_insertion_order": False,
    }
    if threads:
        config["threads"] = threads
    con = duckdb.connect(config=config)
    con.execute("SET TimeZone = 'UTC'")
    return con


def _is_parquet(path: Path) -> bool:
    if path.suffix.lower() in {".parquet", ".pq"}:
        return True
    if path.suffix.lower() in {".csv", ".gz", ".txt", ".tsv"}:
        return False
    try:
        with path.open("rb") as fh:
            return fh.read(4) == b"PAR1"
    except OSError:
        return False


def _columns(con: Any, relation_sql: str) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE SELECT * FROM {relation_sql}").fetchall()
    return {str(r[0]).lower(): str(r[1]).upper() for r in rows}


def _start_epoch_expr(columns: dict[str, str]) -> str:
    if "start_epoch" in columns:
        return "TRY_CAST(start_epoch AS BIGINT)"
    kind = columns["start_time"]
    if kind.startswith("TIMESTAMP") or kind == "DATE":
        return "CAST(floor(epoch(CAST(start_time AS TIMESTAMPTZ))) AS BIGINT)"
    if kind in {"BIGINT", "INTEGER", "HUGEINT", "UBIGINT"}:
        return "CAST(start_time AS BIGINT)"
    return "CAST(floor(epoch(TRY_CAST(trim(start_time) AS TIMESTAMPTZ))) AS BIGINT)"


def _number_expr(column: str, columns: dict[str, str], plan: NumberingPlan | None) -> str:
    text = f"CAST({column} AS VARCHAR)" if columns[column] != "VARCHAR" else column
    return sql_normalise(sql_clean(text), plan or _NO_COUNTRY)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _stage_raw(con: Any, side: str, path: Path) -> tuple[dict[str, str], str, str]:
    """Expose the file as `{side}_raw`; return its columns, the SQL of its unique line, and its kind."""
    if not path.exists():
        raise ImportRefusedError(f"{path}: no such file")
    if _is_parquet(path):
        source = f"read_parquet({_literal(str(path))}, file_row_number = true)"
        columns = _columns(con, source)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {side}_raw AS SELECT * FROM {source}")
        line = "CAST(line AS BIGINT)" if "line" in columns else "file_row_number + 1"
        return columns, line, "VIEW"
    source = f"read_csv({_literal(str(path))}, all_varchar = true, header = true)"
    try:
        columns = _columns(con, source)
    except duckdb.Error as exc:
        raise ImportRefusedError(f"{path}: not a readable CSV or Parquet file ({exc})") from None
    # The CSV line is the record key: keep file order while the rows get their row ids.
    con.execute("SET preserve_insertion_order = true")
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {side}_raw AS SELECT * FROM {source}")
    finally:
        con.execute("SET preserve_insertion_order = false")
    return columns, "rowid + 2", "TABLE"


def load_side(con: Any, side: str, path: Path, plan: NumberingPlan | None) -> None:
    """Make `{side}_rec` from a usage file (CSV or Parquet with the canonical columns)."""
    columns, line, kind = _stage_raw(con, side, path)
    missing = [c for c in ("a_number", "b_number") if c not in columns]
    if "start_time" not in columns and "start_epoch" not in columns:
        missing.append("start_time")
    if missing:
        con.execute(f"DROP {kind} IF EXISTS {side}_raw")
        raise ImportRefusedError(f"{path}: missing column(s) {', '.join(missing)}")
    record_id = "CAST(record_id AS VARCHAR)" if "record_id" in columns else "CAST(NULL AS VARCHAR)"
    duration = "TRY_CAST(duration_s AS BIGINT)" if "duration_s" in columns else "CAST(0 AS BIGINT)"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {side}_rec AS
        SELECT {line} AS line,
               {record_id} AS record_id,
               {_number_expr("a_number", columns, plan)} AS a_number,
               {_number_expr("b_number", columns, plan)} AS b_number,
               {_start_epoch_expr(columns)} AS start_epoch,
               {duration} AS duration_s
        FROM {side}_raw
        """
    )
    con.execute(f"DROP {kind} {side}_raw")


def copy_to_parquet(con: Any, select_sql: str, path: Path) -> None:
    """Write the rows of `select_sql` to one Parquet file."""
    con.execute(f"COPY ({select_sql}) TO {_literal(str(path))} (FORMAT parquet, COMPRESSION zstd)")


def sql_day_to_date(day_column: str) -> str:
    """DuckDB SQL turning an epoch-day number into a DATE (used only when writing outputs)."""
    return f"(DATE '1970-01-01' + CAST({day_column} AS INTEGER))"
