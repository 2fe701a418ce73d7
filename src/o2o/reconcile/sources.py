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

import re
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from o2o.columnar.csv_lines import blank_lines, estimated_rows, lines_of_rows
from o2o.domain.errors import ImportRefusedError
from o2o.domain.operators import NumberingPlan
from o2o.reconcile.arrow_input import (
    KEYED_COLUMNS,
    POOL,
    RAW_SCHEMA,
    IdTyping,
    csv_batches,
    int32_durations,
    int32_lines,
    keyed,
    plain_csv_columns,
)
from o2o.reconcile.match_results_sql import MATCH_CLASSES

# Without a country a trunk prefix cannot be expanded: keep national numbers as written.
_NO_COUNTRY = NumberingPlan(country_code="0", trunk_prefix="")
# Rows keyed together (a number recurring among them is normalised once) and inserted at once.
CHUNK_ROWS = 1 << 20
# Up to this many candidate rows (and lines up to twice it), degrees are counted with NumPy; beyond, by
# the portable aggregate (`match_sql.multi_step`), which spills.
DENSE_EDGES = 1 << 23


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
    return session(duckdb.connect(config=config), memory_limit)


def session(con: Any, memory_limit: str) -> Any:
    """A connection or cursor set for one matching: DuckDB's limit (which `load_sides` moves) back to
    `memory_limit`, UTC, and the class ENUM, TEMP so that a cursor of a reused connection drops it on
    closing."""
    con.execute(f"SET memory_limit = {_literal(memory_limit)}")
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE TEMP TYPE match_class AS ENUM ({', '.join(map(_literal, MATCH_CLASSES))})")
    return con


def multi_by_counting(con: Any, cand: str, both: str, limit: int = DENSE_EDGES) -> bool:
    """Make `multi` as `match_sql.multi_step` does, counting each side's lines with NumPy, when `cand` has
    at most `limit` rows and its edges (rows matching `both`) have lines in [0, 2 * limit]; False (nothing
    made) when not.

    DuckDB's aggregate over a few million distinct lines took three times the CPU and half a gigabyte of
    fresh memory; an array of counts per line is a tenth of that.
    """
    if con.execute(f"SELECT count(*) FROM {cand}").fetchall()[0][0] > limit:  # rows, not only edges
        return False
    lines = con.sql(f"SELECT o_line, t_line FROM {cand} WHERE {both}").fetchnumpy()
    o_lines, t_lines = np.asarray(lines["o_line"]), np.asarray(lines["t_line"])
    if len(o_lines) and (
        min(o_lines.min(), t_lines.min()) < 0 or max(o_lines.max(), t_lines.max()) > 2 * limit
    ):
        return False
    o, t = pa.array(_repeated(o_lines)), pa.array(_repeated(t_lines))
    multi = pa.table(
        {
            "o_line": pa.concat_arrays([o, pa.nulls(len(t), pa.int32())]),
            "t_line": pa.concat_arrays([pa.nulls(len(o), pa.int32()), t]),
        }
    )
    con.register("_multi", multi)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE multi AS SELECT * FROM _multi")
    finally:
        con.unregister("_multi")
    return True


def int_pairs_table(con: Any, table: str, columns: tuple[str, str], rows: list[tuple[int, int]]) -> None:
    """The temp table `table` of two BIGINT `columns` holding `rows` (made from an Arrow table at once)."""
    pairs = np.array(rows, dtype=np.int64).reshape(-1, 2)
    con.register("_pairs", pa.table({columns[0]: pairs[:, 0], columns[1]: pairs[:, 1]}))
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM _pairs")
    finally:
        con.unregister("_pairs")


def _repeated(lines: np.ndarray) -> np.ndarray:
    """The values occurring more than once in `lines` (non-negative integers), ascending, as the INTEGER
    lines are."""
    if len(lines) == 0:
        return np.zeros(0, np.int32)
    return np.flatnonzero(np.bincount(lines) > 1).astype(np.int32)


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
        # The CSV line is the record key: rows keep file order in the table, so rowid is the row's position.
        con.execute("SET preserve_insertion_order = true")
        try:
            _stage_csv(con, side, path, columns, record_id, duration)
        finally:
            con.execute("SET preserve_insertion_order = false")
        order = "rowid"
    # DuckDB skips empty lines: a CSV row's line is its position plus the header and the empty lines before.
    blanks = None if parquet else blank_lines(path)
    reading = con.cursor()  # the caller inserts on `con` while this cursor streams
    try:
        reader = reading.sql(
            f"SELECT {order} AS line, record_id, a_raw, b_raw, start_epoch, duration_s FROM {side}_raw"
        ).to_arrow_reader(CHUNK_ROWS)
        for batch in reader:
            lines = batch.column(0)
            if blanks is not None:
                lines = pa.array(lines_of_rows(lines.to_numpy(), blanks))
            yield pa.record_batch(
                [
                    int32_lines(lines, path),
                    *batch.columns[1:5],
                    int32_durations(batch.column(5)),
                ],
                schema=RAW_SCHEMA,
            )
    finally:
        reading.close()
        con.execute(f"DROP TABLE IF EXISTS {side}_raw")


class _Sink:
    """Where a side's keyed tables go: kept as Arrow tables while they fit in `budget` bytes (DuckDB scans
    them in place, nothing is copied), else into the DuckDB table `side` (which spills past the memory
    limit), one INSERT per table. Record ids stay BIGINT while every table has them so, and become text
    (each the decimal text it was read as) from the first table that does not."""

    def __init__(self, con: Any, side: str, budget: int, ids: IdTyping) -> None:
        self.con, self.side, self.budget, self.ids = con, side, budget, ids
        self.tables: list[pa.Table] = []
        self.held = 0
        self.in_duckdb = False
        self.text_ids = False

    def add(self, table: pa.Table) -> None:
        if not self.text_ids and table.schema.field("record_id").type != pa.int64():
            self._ids_to_text()
        if self.in_duckdb:
            self._insert(table)
            return
        self.tables.append(table)
        self.held += table.nbytes
        if self.held > self.budget:
            ids = "VARCHAR" if self.text_ids else "BIGINT"
            self.con.execute(
                f"""CREATE OR REPLACE TABLE {self.side} (line INTEGER, record_id {ids}, a_key BIGINT,
                    b_key BIGINT, start_epoch BIGINT, duration_s INTEGER)"""
            )
            self.in_duckdb = True
            for held in self.tables:
                self._insert(held)
            self.tables, self.held = [], 0

    def _ids_to_text(self) -> None:
        self.text_ids = True
        self.tables = [_ids_as_text(t) for t in self.tables]
        if self.in_duckdb:
            self.con.execute(f"ALTER TABLE {self.side} ALTER record_id TYPE VARCHAR")

    def _insert(self, table: pa.Table) -> None:
        self.con.register("_chunk", table)
        try:
            self.con.execute(f"INSERT INTO {self.side} SELECT * FROM _chunk")
        finally:
            self.con.unregister("_chunk")

    def result(self) -> pa.Table | None:
        """The side as one Arrow table, or None when it is in the DuckDB table `side`."""
        if not self.text_ids and not self.ids.seen:
            self._ids_to_text()  # no id at all: text, as read
        if self.in_duckdb:
            return None
        if not self.tables:
            return pa.table({c: pa.array([], _EMPTY_TYPES.get(c, pa.int64())) for c in KEYED_COLUMNS})
        return pa.concat_tables(self.tables)


_EMPTY_TYPES = {"record_id": pa.string(), "line": pa.int32(), "duration_s": pa.int32()}


def _ids_as_text(table: pa.Table) -> pa.Table:
    index = table.schema.get_field_index("record_id")
    return table.set_column(index, "record_id", pc.cast(table.column(index), pa.string()))


def load_side(con: Any, side: str, path: Path, plan: NumberingPlan | None, budget: int) -> pa.Table | None:
    """The rows of a usage file as `(line, record_id, a_key, b_key, start_epoch, duration_s)`: an Arrow
    table when they fit in `budget` bytes, else None and the DuckDB table `{side}` holds them.

    A key is the BIGINT of `1` followed by the E.164 digits (NULL when not a number), so joins and
    groupings run on integers. A plain CSV is read by Arrow (`arrow_input`); anything else, or a CSV with
    a value Arrow does not take as typed, by DuckDB (the rows are then made again from the start).
    """
    path = Path(path)
    if not path.exists():
        raise ImportRefusedError(f"{path}: no such file")
    if not _fits(path, budget):
        budget = 0  # straight into DuckDB: holding the first part in Arrow would only add to the peak
    numbering = plan or _NO_COUNTRY
    columns = None if _is_parquet(path) else plain_csv_columns(path)
    if columns is not None:
        try:
            return _collect(con, side, budget, csv_batches(path, columns), numbering)
        except pa.ArrowInvalid:
            pass  # a value Arrow does not take as typed: DuckDB reads the file
    return _collect(con, side, budget, _duckdb_raw_batches(con, side, path), numbering)


# Bytes of a keyed row held in Arrow: INTEGER line and duration, BIGINT id, keys and start.
KEYED_ROW_BYTES = 40


# What Arrow holds while it reads a file into DuckDB (a keyed group of rows with its texts), and keeps for
# reuse a while after (`DECAY_MS`): taken off DuckDB's limit while sides go into DuckDB.
READING_BYTES = CHUNK_ROWS * 150


def _fits(path: Path, budget: int) -> bool:
    """Whether a usage file's keyed rows are expected to fit in `budget` bytes of Arrow memory."""
    return _estimated_rows(path) * KEYED_ROW_BYTES <= budget


def _estimated_rows(path: Path) -> int:
    """About how many records a usage file has (Parquet: its metadata; 0 when it cannot be read here)."""
    try:
        if _is_parquet(path):
            return int(pq.ParquetFile(path).metadata.num_rows)
        return estimated_rows(path)
    except (OSError, pa.ArrowInvalid):
        return 0


def _collect(
    con: Any, side: str, budget: int, batches: Iterable[pa.RecordBatch], plan: NumberingPlan
) -> pa.Table | None:
    ids = IdTyping()
    sink = _Sink(con, side, budget, ids)
    for table in keyed(batches, plan, CHUNK_ROWS, ids):
        sink.add(table)
    return sink.result()


@dataclass(frozen=True, slots=True)
class LoadedSides:
    """The sides `load_sides` made: registered Arrow tables or DuckDB tables, by name."""

    in_arrow: frozenset[str]
    names: tuple[str, ...]
    memory_limit: str  # DuckDB's limit once the sides are dropped

    def drop(self, con: Any) -> tuple[int, ...]:
        """Drop the sides (and give DuckDB the limit it has without them); the number of records of each."""
        counts = []
        for side in self.names:
            counts.append(int(con.execute(f"SELECT count(*) FROM {side}").fetchall()[0][0]))
            if side in self.in_arrow:
                con.unregister(side)
            else:
                con.execute(f"DROP TABLE {side}")
        if self.in_arrow:  # `load_sides` lowered it by what they held
            con.execute(f"SET memory_limit = {_literal(self.memory_limit)}")
        return tuple(counts)


def load_sides(
    con: Any, sides: list[tuple[str, Path, NumberingPlan | None]], memory_limit: str
) -> LoadedSides:
    """Load each side at once, each on its own thread and DuckDB cursor (Arrow's CSV reader takes one core
    per file); the first error is raised. A side whose rows fit in a quarter of `memory_limit` stays an
    Arrow table registered under its name, and DuckDB's limit is lowered by what they hold until `drop`.
    When a side goes into DuckDB instead, what Arrow holds to read each file (`READING_BYTES`) comes off
    DuckDB's limit for the rest of the matching."""
    limit = memory_bytes(memory_limit)
    budget = limit // 4 if limit else 0
    if limit and not all(_fits(Path(path), budget) for _, path, _ in sides if Path(path).exists()):
        limit = max(limit - READING_BYTES * len(sides), limit // 2)
        memory_limit = f"{limit}B"
        con.execute(f"SET memory_limit = {_literal(memory_limit)}")
    with ThreadPoolExecutor(max_workers=len(sides)) as pool:
        futures = [pool.submit(_load_on_cursor, con, side, path, plan, budget) for side, path, plan in sides]
        loaded = [future.result() for future in futures]
    POOL.release_unused()  # what reading held for a while (see `DECAY_MS`) goes back before the join
    held = 0
    in_arrow = set()
    for (side, _, _), table in zip(sides, loaded, strict=True):
        if table is not None:
            con.register(side, table)
            in_arrow.add(side)
            held += table.nbytes
    if held and limit:
        con.execute(f"SET memory_limit = '{max(limit - held, limit // 2)}B'")
    return LoadedSides(frozenset(in_arrow), tuple(side for side, _, _ in sides), memory_limit)


def _load_on_cursor(
    con: Any, side: str, path: Path, plan: NumberingPlan | None, budget: int
) -> pa.Table | None:
    cursor = con.cursor()
    try:
        return load_side(cursor, side, path, plan, budget)
    finally:
        cursor.close()


_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}  # fmt: skip


def memory_bytes(text: str) -> int:
    """Bytes of a DuckDB memory size such as `1500MB` or `2GiB` (0 when it is not one)."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in _UNITS:
        return 0
    return int(Decimal(match.group(1)) * _UNITS[match.group(2).lower()])


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


def sql_class_name(code: str) -> str:
    """DuckDB SQL naming a pair's class `code` (`match_results_sql.MATCH_CLASSES`) as an ENUM: Parquet gets
    the same text column, written from a dictionary instead of a string per row."""
    cases = " ".join(f"WHEN {i} THEN {_literal(name)}::match_class" for i, name in enumerate(MATCH_CLASSES))
    return f"CASE {code} {cases} END"


def sql_day_to_date(day_column: str) -> str:
    """DuckDB SQL turning an epoch-day number into a DATE (used only when writing outputs)."""
    return f"(DATE '1970-01-01' + CAST({day_column} AS INTEGER))"
