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

from o2o.domain.operators import NumberingPlan

RAW_SCHEMA = pa.schema(
    [
        ("line", pa.int64()),
        ("record_id", pa.string()),
        ("a_raw", pa.string()),
        ("b_raw", pa.string()),
        ("start_epoch", pa.int64()),
        ("duration_s", pa.int64()),
    ]
)
KEYED_SCHEMA = pa.schema(
    [
        ("line", pa.int64()),
        ("record_id", pa.string()),
        ("a_key", pa.int64()),
        ("b_key", pa.int64()),
        ("start_epoch", pa.int64()),
        ("duration_s", pa.int64()),
    ]
)
# Blocks of this size: large enough that a block's distinct numbers are few per row, small enough that a
# block in flight per file stays well under the memory a run is given.
BLOCK_BYTES = 16 << 20
_PUNCTUATION = r"[\s\-().\/]"  # as `o2o.domain.numbers.sql_clean`
_CSV_COLUMNS = ("record_id", "a_number", "b_number", "start_time", "duration_s")


def number_keys(texts: pa.Array, plan: NumberingPlan) -> pa.Array:
    """The BIGINT key of each text (NULL when not a number), normalising each distinct text once."""
    encoded = pc.dictionary_encode(texts)
    return pc.take(_normalised_keys(encoded.dictionary, plan), encoded.indices)


def _normalised_keys(texts: pa.Array, plan: NumberingPlan) -> pa.Array:
    clean = pc.replace_substring_regex(texts, _PUNCTUATION, "")
    conditions = [pc.starts_with(clean, "+")]
    results = [pc.utf8_slice_codeunits(clean, 1)]
    if plan.international_prefix:
        conditions.append(pc.starts_with(clean, plan.international_prefix))
        results.append(pc.utf8_slice_codeunits(clean, len(plan.international_prefix)))
    if plan.trunk_prefix:
        conditions.append(pc.starts_with(clean, plan.trunk_prefix))
        rest = pc.utf8_slice_codeunits(clean, len(plan.trunk_prefix))
        results.append(pc.binary_join_element_wise(plan.country_code, rest, ""))
    names = [f"c{i}" for i in range(len(conditions))]
    digits = pc.case_when(pc.make_struct(*conditions, field_names=names), *results, clean)
    length = pc.binary_length(digits)
    valid = pc.and_kleene(
        pc.and_kleene(pc.greater_equal(length, 3), pc.less_equal(length, 15)), pc.ascii_is_decimal(digits)
    )
    kept = pc.if_else(valid, digits, pa.scalar(None, pa.string()))
    return pc.cast(pc.binary_join_element_wise("1", kept, ""), pa.int64())


def keyed(batches: Iterable[pa.RecordBatch], plan: NumberingPlan) -> Iterator[pa.RecordBatch]:
    """Batches of `RAW_SCHEMA` as batches of `KEYED_SCHEMA`."""
    for batch in batches:
        yield pa.record_batch(
            [
                batch.column(0),
                batch.column(1),
                number_keys(batch.column(2), plan),
                number_keys(batch.column(3), plan),
                batch.column(4),
                batch.column(5),
            ],
            schema=KEYED_SCHEMA,
        )


def plain_csv_columns(path: Path) -> list[str] | None:
    """The header's columns when `path` is an uncompressed comma-separated CSV with the columns the fast
    reader takes (`a_number`, `b_number`, `start_time`), else None (DuckDB, which sniffs dialects, reads it)."""
    try:
        with path.open("rb") as fh:
            header = fh.readline(64 * 1024)
    except OSError:
        return None
    try:
        text = header.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        return None
    if '"' in text or ";" in text or "\t" in text or "|" in text:
        return None
    columns = [c.strip().lower() for c in text.split(",")]
    if columns != [c for c in text.split(",")] or len(set(columns)) != len(columns):
        return None  # names DuckDB would treat differently (case, spaces, repeats)
    if not {"a_number", "b_number", "start_time"} <= set(columns) or "start_epoch" in columns:
        return None
    return columns


def csv_batches(path: Path, columns: list[str]) -> Iterator[pa.RecordBatch]:
    """Batches of `RAW_SCHEMA` from a plain CSV with Arrow; raises `pa.ArrowInvalid` on a value it cannot
    take as typed (the caller then reads the file through DuckDB)."""
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
        read_options=pcsv.ReadOptions(block_size=BLOCK_BYTES),
        # Empty lines are rows (they then fail to parse), so a row's position is its line.
        parse_options=pcsv.ParseOptions(ignore_empty_lines=False),
        convert_options=pcsv.ConvertOptions(
            column_types={c: types[c] for c in wanted},
            include_columns=wanted,
            null_values=[""],
            strings_can_be_null=True,
        ),
    )
    line = 2
    for batch in reader:
        rows = batch.num_rows
        get = batch.column
        yield pa.record_batch(
            [
                pa.array(np.arange(line, line + rows, dtype=np.int64)),
                get("record_id") if "record_id" in wanted else pa.nulls(rows, pa.string()),
                get("a_number"),
                get("b_number"),
                get("start_time").cast(pa.int64()),
                get("duration_s") if "duration_s" in wanted else pa.array(np.zeros(rows, dtype=np.int64)),
            ],
            schema=RAW_SCHEMA,
        )
        line += rows
