"""The thin DuckDB adapter of the reconciliation engine: the connection, and the two inputs as tables.

Everything engine-specific lives here and in `arrow_input` (reading CSV/Parquet, parsing ISO-8601 times,
memory limits, writing Parquet); the core steps in `match_sql` read only the tables made here:
`{side}(line, record_id, a_key, b_key, start_epoch, duration_s)` with `line` unique per side (the CSV
line, data lines counted from 2; the `line` column of canonical lake Parquet, else the row number + 1),
numbers normalised to E.164 digits as `o2o.domain.numbers` does and kept as BIGINT keys (`1` + digits,
NULL when not a number) and times as integer epoch seconds UTC (NULL when unreadable).
Both sides load at once, each on its own thread: a plain CSV through Arrow's reader, anything else
through DuckDB's; either way the numbers are keyed per batch by `arrow_input.keyed`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from o2o.domain.errors import ImportRefusedError
from o2o.domain.operators import NumberingPlan
from o2o.reconcile.arrow_input import RAW_SCHEMA, IdTyping, csv_batches, keyed, plain_csv_columns

# Without a country a trunk prefix cannot be expanded: keep national numbers as written.
_NO_COUNTRY = NumberingPlan(country_code="0", trunk_prefix="")
# Rows keyed together (a number recurring among them is normalised once) and inserted at once.
CHUNK_ROWS = 1 << 20


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
        CREATE OR REPLACE TABLE {side}_raw AS
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


def _duckdb_raw_batches(con: Any, side: str, path: Path) -> Iterator[pa.RecordBatch]:
    """Batches of `RAW_SCHEMA` read by DuckDB (Parquet, CSV of any dialect, values Arrow refused)."""
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
        order = "line"
    else:
        # The CSV line is the record key: rows keep file order in the table, so rowid + 2 is the line.
        con.execute("SET preserve_insertion_order = true")
        try:
            _stage_csv(con, side, path, columns, record_id, duration)
        finally:
            con.execute("SET preserve_insertion_order = false")
        order = "rowid + 2"
    reading = con.cursor()  # the caller inserts on `con` while this cursor streams
    try:
        reader = reading.sql(
            f"SELECT {order} AS line, record_id, a_raw, b_raw, start_epoch, duration_s FROM {side}_raw"
        ).to_arrow_reader(CHUNK_ROWS)
        for batch in reader:
            yield batch.cast(RAW_SCHEMA)
    finally:
        reading.close()
        con.execute(f"DROP TABLE IF EXISTS {side}_raw")


def _ingest(con: Any, side: str, tables: Iterable[pa.Table], ids: IdTyping) -> None:
    """Make the table `side` from keyed Arrow tables, one INSERT each (DuckDB scans an in-memory Arrow
    table on every thread; a stream it would scan on one). Its record ids are BIGINT while `ids` finds
    plain integers, and become text (each its own decimal text) from the first table where it does not."""
    integers = True
    con.execute(
        f"""CREATE OR REPLACE TABLE {side} (line BIGINT, record_id BIGINT, a_key BIGINT, b_key BIGINT,
                                            start_epoch BIGINT, duration_s BIGINT)"""
    )
    for table in tables:
        if integers and not ids.integers:
            con.execute(f"ALTER TABLE {side} ALTER record_id TYPE VARCHAR")
            integers = False
        con.register("_chunk", table)
        try:
            con.execute(f"INSERT INTO {side} SELECT * FROM _chunk")
        finally:
            con.unregister("_chunk")
    if integers and not ids.integers:
        con.execute(f"ALTER TABLE {side} ALTER record_id TYPE VARCHAR")
    if integers and con.execute(f"SELECT count(record_id) FROM {side}").fetchone()[0] == 0:
        con.execute(f"ALTER TABLE {side} ALTER record_id TYPE VARCHAR")  # no ids at all: text, as read


def load_side(con: Any, side: str, path: Path, plan: NumberingPlan | None) -> None:
    """Make the table `{side}(line, record_id, a_key, b_key, start_epoch, duration_s)` from a usage file.

    A key is the BIGINT of `1` followed by the E.164 digits (NULL when not a number), so joins and
    groupings run on integers. A plain CSV is read by Arrow (`arrow_input`); anything else, or a CSV with
    a value Arrow does not take as typed, by DuckDB (the table is then made again from the start).
    """
    path = Path(path)
    if not path.exists():
        raise ImportRefusedError(f"{path}: no such file")
    numbering = plan or _NO_COUNTRY
    columns = None if _is_parquet(path) else plain_csv_columns(path)
    if columns is not None:
        try:
            ids = IdTyping()
            _ingest(con, side, keyed(csv_batches(path, columns), numbering, CHUNK_ROWS, ids), ids)
            return
        except pa.ArrowInvalid:
            pass  # a value Arrow does not take as typed: DuckDB reads the file, the table is made again
    ids = IdTyping()
    _ingest(con, side, keyed(_duckdb_raw_batches(con, side, path), numbering, CHUNK_ROWS, ids), ids)


def load_sides(con: Any, sides: list[tuple[str, Path, NumberingPlan | None]]) -> None:
    """`load_side` for each side at once, each on its own thread and DuckDB cursor (Arrow's CSV reader
    takes one core per file); the first error is raised."""
    with ThreadPoolExecutor(max_workers=len(sides)) as pool:
        futures = [pool.submit(_load_on_cursor, con, side, path, plan) for side, path, plan in sides]
        for future in futures:
            future.result()


def _load_on_cursor(con: Any, side: str, path: Path, plan: NumberingPlan | None) -> None:
    cursor = con.cursor()
    try:
        load_side(cursor, side, path, plan)
    finally:
        cursor.close()


def drop_side(con: Any, side: str) -> int:
    """Drop the table `load_side` made for `side`; the number of its records."""
    row = con.execute(f"SELECT count(*) FROM {side}").fetchone()
    con.execute(f"DROP TABLE {side}")
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
