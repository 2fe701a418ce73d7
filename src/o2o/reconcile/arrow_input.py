"""Reading usage files for matching as Arrow batches, with number keys computed on the way.

The part of the adapter that turns a file into the rows the matching needs,
`(line, record_id, a_key, b_key, start_epoch, duration_s)`:
- a plain comma-separated CSV is parsed by Arrow's streaming reader (one core per file, in file order, so
  the line of a row is its position + 2); a value Arrow cannot take as typed (a time without a UTC offset
  or with fractions, a duration with spaces…) makes the caller read the file again through DuckDB, whose
  rules (`sources`) decide then;
- the numbers of each batch are dictionary-encoded and only the distinct texts are normalised, with Arrow
  compute functions that follow `o2o.domain.numbers.sql_normalise` exactly (same RE2 character classes),
  then taken back per row as BIGINT keys (`1` followed by the E.164 digits, NULL when not a number).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from o2o.columnar.arrow_numbers import POOL, NumberKeyer, number_keys
from o2o.columnar.csv_lines import batch_groups, blank_lines, plain_header
from o2o.domain.errors import ImportRefusedError
from o2o.domain.operators import NumberingPlan

__all__ = ["POOL", "NumberKeyer", "number_keys"]  # the number keys, used here, live in the lake

# Lines and durations are INTEGER in the engine (4 bytes to join, hold and copy, not 8): a line is at most
# MAX_LINE, and a duration more than MAX_DURATION_S seconds (34 years) either way is unreadable (NULL), so
# that the difference of two durations is an INTEGER too.
MAX_LINE = 2**31 - 1
MAX_DURATION_S = 2**30 - 1
RAW_SCHEMA = pa.schema(
    [
        ("line", pa.int32()),
        ("record_id", pa.string()),
        ("a_raw", pa.string()),
        ("b_raw", pa.string()),
        ("start_epoch", pa.int64()),
        ("duration_s", pa.int32()),
    ]
)
KEYED_COLUMNS = ("line", "record_id", "a_key", "b_key", "start_epoch", "duration_s")
# Arrow parses a CSV in blocks of this size (small blocks stay in the CPU's caches: fewer cycles per row).
BLOCK_BYTES = 1 << 20
_CSV_COLUMNS = ("record_id", "a_number", "b_number", "start_time", "duration_s")


class IdTyping:
    """Whether a file's record ids are all plain integers (the decimal text of a BIGINT: digits, no
    leading zero, at most 18 digits; missing ids aside), decided batch by batch: such ids are kept as
    BIGINT (8 bytes to join, store and write instead of a string), and the first id that is not makes
    the file's ids text. A file without any id has text ids (`seen` stays False; the caller makes them text)."""

    def __init__(self) -> None:
        self.plain = True  # no id seen so far is other than a plain integer
        self.seen = False  # some id was there

    def column(self, ids: pa.ChunkedArray) -> pa.ChunkedArray:
        """The ids of a batch: BIGINT while the file's ids are plain integers, else as read."""
        if self.plain and _plain_integers(ids):
            self.seen = self.seen or ids.null_count < len(ids)
            return pc.cast(ids, pa.int64(), memory_pool=POOL)
        self.plain = False
        ids.validate(full=True)  # UTF-8 (the reader does not check it): ArrowInvalid if not
        return ids


def int32_lines(lines: pa.Array, path: Path) -> pa.Array:
    """Line numbers as INTEGER; a file with a line beyond `MAX_LINE` either way is refused."""
    bounds = _bounds(lines)
    if bounds and (bounds[0] < -MAX_LINE - 1 or bounds[1] > MAX_LINE):
        beyond = bounds[1] if bounds[1] > MAX_LINE else bounds[0]
        raise ImportRefusedError(f"{path}: line {beyond} is beyond the {MAX_LINE:,} lines a file may have")
    return pc.cast(lines, pa.int32(), memory_pool=POOL)


def int32_durations(durations: pa.Array) -> pa.Array:
    """Durations as INTEGER, those more than `MAX_DURATION_S` either way as NULL (unreadable)."""
    bounds = _bounds(durations)
    if bounds and (bounds[0] < -MAX_DURATION_S or bounds[1] > MAX_DURATION_S):
        inside = pc.and_(
            pc.greater_equal(durations, -MAX_DURATION_S), pc.less_equal(durations, MAX_DURATION_S)
        )
        durations = pc.if_else(inside, durations, pa.scalar(None, durations.type), memory_pool=POOL)
    return pc.cast(durations, pa.int32(), memory_pool=POOL)


def _bounds(values: pa.Array) -> tuple[int, int] | None:
    """The least and greatest value, None when all are null."""
    bounds = pc.min_max(values)
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    return None if low is None else (low, high)


def _plain_integers(ids: pa.ChunkedArray) -> bool:
    length = pc.binary_length(ids, memory_pool=POOL)
    plain = pc.and_kleene(
        pc.and_kleene(pc.ascii_is_decimal(ids), pc.less_equal(length, 18)),
        pc.or_kleene(pc.invert(pc.starts_with(ids, "0")), pc.equal(length, 1)),
    )
    return bool(pc.all(plain, skip_nulls=True, min_count=0).as_py())


def keyed(
    batches: Iterable[pa.RecordBatch], plan: NumberingPlan, rows: int, ids: IdTyping
) -> Iterator[pa.Table]:
    """Batches of `RAW_SCHEMA` as tables of `KEYED_COLUMNS` of about `rows` rows each (the last smaller):
    the numbers of a whole table are encoded together, so a number recurring in it is normalised once;
    record ids typed by `ids`."""
    keyer = NumberKeyer(plan)
    for group in batch_groups(batches, rows):
        yield _keyed_table(group, keyer, ids)


def _keyed_table(group: list[pa.RecordBatch], keyer: NumberKeyer, ids: IdTyping) -> pa.Table:
    raw = pa.Table.from_batches(group, schema=RAW_SCHEMA)
    return pa.table(
        [
            raw.column(0),
            ids.column(raw.column(1)),
            keyer(raw.column(2)),
            keyer(raw.column(3)),
            raw.column(4),
            raw.column(5),
        ],
        names=KEYED_COLUMNS,
    )


def plain_csv_columns(path: Path) -> list[str] | None:
    """The header's columns when `path` is a plain CSV (`csv_lines.plain_header`) with the columns the fast
    reader takes (`a_number`, `b_number`, `start_time`), else None (DuckDB, which sniffs dialects, reads it)."""
    columns = plain_header(path)
    if (
        columns is None
        or not {"a_number", "b_number", "start_time"} <= set(columns)
        or "start_epoch" in columns
    ):
        return None
    return columns


def csv_batches(path: Path, columns: list[str]) -> Iterator[pa.RecordBatch]:
    """Batches of `RAW_SCHEMA` from a plain CSV with Arrow; raises `pa.ArrowInvalid` on a value it cannot
    take as typed (the caller then reads the file through DuckDB).

    Empty lines are read as rows of nulls, so a row's position gives its line; such rows are then
    dropped (a line of empty fields, such as `,,,,`, stays: it is a record, if not a matchable one).
    """
    types = {
        "record_id": pa.string(),
        "a_number": pa.string(),
        "b_number": pa.string(),
        "start_time": pa.timestamp("s", tz="UTC"),
        "duration_s": pa.int64(),
    }
    wanted = [c for c in _CSV_COLUMNS if c in columns]
    reader = pcsv.open_csv(
        path,
        memory_pool=POOL,
        read_options=pcsv.ReadOptions(block_size=BLOCK_BYTES, use_threads=False),
        parse_options=pcsv.ParseOptions(ignore_empty_lines=False),
        convert_options=pcsv.ConvertOptions(
            column_types={c: types[c] for c in wanted},
            include_columns=wanted,
            null_values=[""],
            strings_can_be_null=True,
            # Text is checked where it is used: the distinct number texts (`NumberKeyer`) and text ids.
            check_utf8=False,
        ),
    )
    blanks: pa.Array | None = None
    line = 2
    for batch in reader:
        rows = batch.num_rows
        get = batch.column
        if line + rows - 1 > MAX_LINE:
            raise ImportRefusedError(f"{path}: more than the {MAX_LINE:,} lines a file may have")
        out = pa.record_batch(
            [
                pa.array(np.arange(line, line + rows, dtype=np.int32)),
                get("record_id") if "record_id" in wanted else pa.nulls(rows, pa.string()),
                get("a_number"),
                get("b_number"),
                pc.cast(get("start_time"), pa.int64(), memory_pool=POOL),
                int32_durations(get("duration_s"))
                if "duration_s" in wanted
                else pa.array(np.zeros(rows, dtype=np.int32)),
            ],
            schema=RAW_SCHEMA,
        )
        line += rows
        if get("a_number").null_count and _all_null(batch):
            if blanks is None:
                blanks = pa.array(blank_lines(path), pa.int32())
            out = out.filter(pc.invert(pc.is_in(out.column(0), value_set=blanks)))
        yield out


def _all_null(batch: pa.RecordBatch) -> bool:
    """Whether some row of `batch` has every column null (an empty line, or a line of empty fields)."""
    empty = pc.is_null(batch.column(0))
    for column in batch.columns[1:]:
        empty = pc.and_(empty, pc.is_null(column))
    return bool(pc.any(empty).as_py())
