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
from o2o.lake.csv_lines import blank_lines, plain_header

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
KEYED_COLUMNS = ("line", "record_id", "a_key", "b_key", "start_epoch", "duration_s")
# Arrow parses a CSV in blocks of this size (small blocks stay in the CPU's caches: fewer cycles per row).
BLOCK_BYTES = 1 << 20
_PUNCTUATION = r"[\s\-().\/]"  # as `o2o.domain.numbers.sql_clean`
_CSV_COLUMNS = ("record_id", "a_number", "b_number", "start_time", "duration_s")


def _pool() -> pa.MemoryPool:
    """Arrow's jemalloc pool where the build has it: it keeps freed pages for the next batch instead of
    returning them to the system and faulting them in again (a third of the CPU time of loading)."""
    if "jemalloc" in pa.supported_memory_backends():
        return pa.jemalloc_memory_pool()
    return pa.default_memory_pool()


POOL = _pool()


def number_keys(texts: pa.Array | pa.ChunkedArray, plan: NumberingPlan) -> pa.ChunkedArray:
    """The BIGINT key of each text (NULL when not a number), normalising each distinct text once."""
    return NumberKeyer(plan)(texts)


class NumberKeyer:
    """Keys of number texts written by one numbering plan, batch after batch: each batch's distinct
    texts are found by dictionary encoding (every chunk of a chunked array gets the same, final,
    dictionary), and only those not seen in an earlier batch are normalised (up to `MEMO_TEXTS`
    remembered; past that, new texts are normalised every time they come)."""

    MEMO_TEXTS = 1 << 20

    def __init__(self, plan: NumberingPlan) -> None:
        self.plan = plan
        self.texts = pa.array([], pa.string())
        self.keys = pa.array([], pa.int64())

    def __call__(self, texts: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
        chunked = texts if isinstance(texts, pa.ChunkedArray) else pa.chunked_array([texts])
        encoded = pc.dictionary_encode(chunked, memory_pool=POOL)
        if encoded.num_chunks == 0:
            return pa.chunked_array([], pa.int64())
        keys = self._dictionary_keys(encoded.chunk(0).dictionary)
        return pa.chunked_array(
            [pc.take(keys, chunk.indices, memory_pool=POOL) for chunk in encoded.chunks], pa.int64()
        )

    def _dictionary_keys(self, dictionary: pa.Array) -> pa.Array:
        if len(self.texts) == 0:
            keys = _normalised_keys(dictionary, self.plan)
            self._remember(dictionary, keys)
            return keys
        position = pc.index_in(dictionary, value_set=self.texts, memory_pool=POOL)
        unseen = pc.is_null(position)
        known = pc.take(self.keys, position, memory_pool=POOL)
        if not pc.any(unseen).as_py():
            return known
        new = pc.filter(dictionary, unseen, memory_pool=POOL)
        new_keys = _normalised_keys(new, self.plan)
        self._remember(new, new_keys)
        return pc.replace_with_mask(known, unseen, new_keys, memory_pool=POOL)

    def _remember(self, texts: pa.Array, keys: pa.Array) -> None:
        if len(self.texts) + len(texts) <= self.MEMO_TEXTS:
            self.texts = pa.concat_arrays([self.texts, texts])
            self.keys = pa.concat_arrays([self.keys, keys])


def _normalised_keys(texts: pa.Array, plan: NumberingPlan) -> pa.Array:
    clean = pc.replace_substring_regex(texts, _PUNCTUATION, "", memory_pool=POOL)
    conditions = [pc.starts_with(clean, "+")]
    results = [pc.utf8_slice_codeunits(clean, 1, memory_pool=POOL)]
    if plan.international_prefix:
        conditions.append(pc.starts_with(clean, plan.international_prefix))
        results.append(pc.utf8_slice_codeunits(clean, len(plan.international_prefix), memory_pool=POOL))
    if plan.trunk_prefix:
        conditions.append(pc.starts_with(clean, plan.trunk_prefix))
        rest = pc.utf8_slice_codeunits(clean, len(plan.trunk_prefix), memory_pool=POOL)
        results.append(pc.binary_join_element_wise(plan.country_code, rest, "", memory_pool=POOL))
    names = [f"c{i}" for i in range(len(conditions))]
    digits = pc.case_when(pc.make_struct(*conditions, field_names=names), *results, clean, memory_pool=POOL)
    length = pc.binary_length(digits)
    valid = pc.and_kleene(
        pc.and_kleene(pc.greater_equal(length, 3), pc.less_equal(length, 15)), pc.ascii_is_decimal(digits)
    )
    kept = pc.if_else(valid, digits, pa.scalar(None, pa.string()), memory_pool=POOL)
    joined = pc.binary_join_element_wise("1", kept, "", memory_pool=POOL)
    return pc.cast(joined, pa.int64(), memory_pool=POOL)


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
        return ids


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
    group: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        group.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield _keyed_table(group, keyer, ids)
            group, count = [], 0
    if group:
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
        read_options=pcsv.ReadOptions(block_size=BLOCK_BYTES),
        parse_options=pcsv.ParseOptions(ignore_empty_lines=False),
        convert_options=pcsv.ConvertOptions(
            column_types={c: types[c] for c in wanted},
            include_columns=wanted,
            null_values=[""],
            strings_can_be_null=True,
        ),
    )
    blanks: pa.Array | None = None
    line = 2
    for batch in reader:
        rows = batch.num_rows
        get = batch.column
        out = pa.record_batch(
            [
                pa.array(np.arange(line, line + rows, dtype=np.int64)),
                get("record_id") if "record_id" in wanted else pa.nulls(rows, pa.string()),
                get("a_number"),
                get("b_number"),
                pc.cast(get("start_time"), pa.int64(), memory_pool=POOL),
                get("duration_s") if "duration_s" in wanted else pa.array(np.zeros(rows, dtype=np.int64)),
            ],
            schema=RAW_SCHEMA,
        )
        line += rows
        if get("a_number").null_count and _all_null(batch):
            if blanks is None:
                blanks = pa.array(blank_lines(path))
            out = out.filter(pc.invert(pc.is_in(out.column(0), value_set=blanks)))
        yield out


def _all_null(batch: pa.RecordBatch) -> bool:
    """Whether some row of `batch` has every column null (an empty line, or a line of empty fields)."""
    empty = pc.is_null(batch.column(0))
    for column in batch.columns[1:]:
        empty = pc.and_(empty, pc.is_null(column))
    return bool(pc.any(empty).as_py())
