"""The thin DuckDB adapter of the reconciliation engine: the connection, and the two inputs as tables.

Everything DuckDB-specific lives here (reading CSV/Parquet, parsing ISO-8601 times, memory limits, writing
Parquet); the core steps in `match_sql` read only the views made here:
`{side}(line, record_id, a_key, b_key, start_epoch, duration_s)` with `line` unique per side (the CSV
line, data lines counted from 2; the `line` column of canonical lake Parquet, else the row number + 1),
numbers normalised to E.164 digits by `o2o.domain.numbers` and kept as BIGINT keys (`1` + digits, NULL
when not a number) and times as integer epoch seconds UTC (NULL when unreadable).
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
        # Degrees are aggregates on integer lines: up to 2^23 lines they take an array (at most 8M entries
        # per thread), not a hash table; beyond, the ordinary hash aggregate, which spills.
        "perfect_ht_threshold": 23,
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


def _text(column: str, columns: dict[str, str]) -> str:
    return f"CAST({column} AS VARCHAR)" if columns[column] != "VARCHAR" else column


def _number_dictionary(con: Any, side: str, plan: NumberingPlan | None) -> None:
    """`{side}_numbers(raw, key)`: each distinct number text of the side once, with its key.

    Numbers repeat across records (a subscriber calls many times), so normalising the distinct texts
    and joining them back costs a fraction of normalising every record.
    """
    digits = sql_normalise("clean", plan or _NO_COUNTRY)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {side}_numbers AS
            SELECT raw, CAST('1' || {digits} AS BIGINT) AS key
            FROM (SELECT raw, {sql_clean("raw")} AS clean
                  FROM (SELECT a_raw AS raw FROM {side}_raw UNION SELECT b_raw FROM {side}_raw) u) n"""
    )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _source(con: Any, path: Path) -> tuple[str, dict[str, str], bool]:
    """The table function reading `path`, its columns, and whether it is Parquet."""
    if not path.exists():
        raise ImportRefusedError(f"{path}: no such file")
    if _is_parquet(path):
        source = f"read_parquet({_literal(str(path))}, file_row_number = true)"
        return source, _columns(con, source), True
    source = f"read_csv({_literal(str(path))}, all_varchar = true, header = true)"
    try:
        return source, _columns(con, source), False
    except duckdb.Error as exc:
        raise ImportRefusedError(f"{path}: not a readable CSV or Parquet file ({exc})") from None


_CSV_TYPES = {
    "record_id": "VARCHAR",
    "a_number": "VARCHAR",
    "b_number": "VARCHAR",
    "start_time": "TIMESTAMP WITH TIME ZONE",
    "start_epoch": "BIGINT",
    "duration_s": "BIGINT",
}


def _stage_raw(
    con: Any, side: str, source: str, columns: dict[str, str], line: str, record_id: str, duration: str
) -> None:
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {side}_raw AS
        SELECT {line} AS line, {record_id} AS record_id,
               {_text("a_number", columns)} AS a_raw, {_text("b_number", columns)} AS b_raw,
               {_start_epoch_expr(columns)} AS start_epoch, {duration} AS duration_s
        FROM {source}
        """
    )


def _stage_csv(
    con: Any, side: str, path: Path, columns: dict[str, str], record_id: str, duration: str
) -> None:
    """Read the CSV with typed columns (fast); if any value does not parse, read it all as text instead,
    where an unreadable time or duration becomes NULL (that record then cannot match)."""
    types = {c: t for c, t in _CSV_TYPES.items() if c in columns}
    spec = "{" + ", ".join(f"{_literal(c)}: {_literal(t)}" for c, t in types.items()) + "}"
    typed = f"read_csv({_literal(str(path))}, header = true, types = {spec})"
    try:
        _stage_raw(con, side, typed, {**columns, **types}, "NULL", record_id, duration)
    except duckdb.Error:
        text = f"read_csv({_literal(str(path))}, all_varchar = true, header = true)"
        _stage_raw(con, side, text, columns, "NULL", record_id, duration)


def load_side(con: Any, side: str, path: Path, plan: NumberingPlan | None) -> None:
    """Make the view `{side}` over a usage file (CSV or Parquet), read once into `{side}_raw`.

    The view has `line, record_id, a_key, b_key, start_epoch, duration_s`; a key is the BIGINT of `1`
    followed by the E.164 digits (NULL when not a number), so joins and groupings run on integers.
    Steps: the file's rows as read (`{side}_raw`, file order kept for CSV lines) and the dictionary of its
    distinct number texts (`{side}_numbers`), which the view joins.
    """
    source, columns, parquet = _source(con, path)
    missing = [c for c in ("a_number", "b_number") if c not in columns]
    if "start_time" not in columns and "start_epoch" not in columns:
        missing.append("start_time")
    if missing:
        raise ImportRefusedError(f"{path}: missing column(s) {', '.join(missing)}")
    record_id = "CAST(record_id AS VARCHAR)" if "record_id" in columns else "CAST(NULL AS VARCHAR)"
    duration = "TRY_CAST(duration_s AS BIGINT)" if "duration_s" in columns else "CAST(0 AS BIGINT)"
    if parquet:
        line = "CAST(line AS BIGINT)" if "line" in columns else "file_row_number + 1"
        _stage_raw(con, side, source, columns, line, record_id, duration)
    else:
        # The CSV line is the record key: rows keep file order in the table, so rowid + 2 is the line.
        con.execute("SET preserve_insertion_order = true")
        try:
            _stage_csv(con, side, path, columns, record_id, duration)
        finally:
            con.execute("SET preserve_insertion_order = false")
    _number_dictionary(con, side, plan)
    # A view, not a table: the one pass reading it (the candidate join) probes the small dictionary itself.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW {side} AS
        SELECT {"r.line" if parquet else "r.rowid + 2"} AS line, r.record_id,
               a.key AS a_key, b.key AS b_key, r.start_epoch, r.duration_s
        FROM {side}_raw r
        LEFT JOIN {side}_numbers a ON a.raw = r.a_raw
        LEFT JOIN {side}_numbers b ON b.raw = r.b_raw
        """
    )


def drop_side(con: Any, side: str) -> int:
    """Drop what `load_side` made for `side`; the number of its records."""
    row = con.execute(f"SELECT count(*) FROM {side}_raw").fetchone()
    con.execute(f"DROP VIEW {side}")
    con.execute(f"DROP TABLE {side}_raw")
    con.execute(f"DROP TABLE {side}_numbers")
    return int(row[0])


def sql_key_to_number(key: str) -> str:
    """SQL giving the E.164 digits back from a number key (used only when writing outputs)."""
    return f"substr(CAST({key} AS VARCHAR), 2)"


def copy_to_parquet(con: Any, select_sql: str, path: Path) -> None:
    """Write the rows of `select_sql` to one Parquet file.

    Format 2 pages (delta encodings) without dictionaries: the large columns are record ids and epochs,
    nearly all distinct, so dictionaries cost time and do not pay; the files come out smaller as well.
    """
    options = "FORMAT parquet, PARQUET_VERSION v2, DICTIONARY_SIZE_LIMIT 1"
    con.execute(f"COPY ({select_sql}) TO {_literal(str(path))} ({options})")


def sql_day_to_date(day_column: str) -> str:
    """DuckDB SQL turning an epoch-day number into a DATE (used only when writing outputs)."""
    return f"(DATE '1970-01-01' + CAST({day_column} AS INTEGER))"
