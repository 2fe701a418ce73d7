"""Validate and normalise one usage file into canonical Parquet with DuckDB (streaming, bounded memory).

Each row is accepted or rejected with its file line and a reason; nothing is dropped silently:
rows the CSV reader itself cannot parse (wrong column count, bad encoding) come from DuckDB's rejects
table with their line numbers, and the line numbers of the other rows are corrected for them.
Numbers become E.164 digits by the declarer's numbering plan; times become epoch seconds UTC.
A file with a `destination` column is pseudonymised (`o2o usage pseudonymise`): its numbers are pseudonyms
(`o2o.domain.pseudonyms`), taken as they are, and each row's destination must be one of the tariff's (or
empty: none matched on the declarer's side); it is kept in the canonical `destination` column, NULL
otherwise.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from o2o.columnar.arrow_numbers import POOL, NumberKeyer
from o2o.columnar.csv_lines import batch_groups, blank_lines, plain_header
from o2o.domain.errors import ImportRefusedError
from o2o.domain.numbers import sql_clean, sql_prefix_rules
from o2o.domain.operators import NumberingPlan
from o2o.domain.pseudonyms import PSEUDONYM_PATTERN
from o2o.domain.tariffs import ServiceKind
from o2o.domain.usage import (
    CANONICAL_COLUMNS,
    DECLARED_DESTINATION,
    OPTIONAL_INPUT_COLUMNS,
    REQUIRED_INPUT_COLUMNS,
)


@dataclass(frozen=True, slots=True)
class ImportSpec:
    """What the rows are checked against."""

    service: str
    kind: ServiceKind
    plan: NumberingPlan
    period_start: int  # epoch seconds, inclusive
    period_end: int  # epoch seconds, exclusive
    period: str
    # False where the tariff needs no subscriber numbers (`o2o.domain.usage.numbers_required`): a
    # missing or empty number is then accepted (stored NULL); a number given must still be one.
    numbers_required: bool = True
    # The service's destination names (`o2o.rating.deck.destination_names`): what a pseudonymised file's
    # `destination` may say.
    destinations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ImportCounts:
    rows: int
    rejected: int
    duration_s: int
    volume: int


_T = TypeVar("_T")


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _connect(workdir: Path, memory_limit: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"SET memory_limit = {_q(memory_limit)}")
    con.execute(f"SET temp_directory = {_q(str(workdir / 'spill'))}")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")
    con.execute("SET TimeZone = 'UTC'")
    return con


def _source(con: duckdb.DuckDBPyConnection, src: Path, fmt: str) -> tuple[str, list[str]]:
    """The SQL reading the raw rows (all text) and the file's column names.

    The reading SQL is used inline rather than as a view: each statement that names a CSV file sniffs
    it again, and a view costs one statement more.
    """
    if src.stat().st_size == 0:
        raise ImportRefusedError(f"{src}: the file is empty")
    if fmt == "csv":
        source = (
            f"read_csv({_q(str(src))}, all_varchar = true, header = true, store_rejects = true, "
            "rejects_table = 'csv_rejects', rejects_scan = 'csv_scans')"
        )
    else:
        source = f"read_parquet({_q(str(src))})"
    try:
        columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
    except duckdb.Error as e:
        raise ImportRefusedError(f"{src}: cannot read as {fmt}: {e}") from None
    return source, columns


def _required_columns(spec: ImportSpec) -> tuple[str, ...]:
    extra = {ServiceKind.VOICE: ("duration_s",), ServiceKind.DATA: ("volume",)}.get(spec.kind, ())
    numbers = ("a_number", "b_number")
    required = (
        REQUIRED_INPUT_COLUMNS
        if spec.numbers_required
        else tuple(c for c in REQUIRED_INPUT_COLUMNS if c not in numbers)
    )
    return required + extra


def _text(col: str, columns: list[str]) -> str:
    return f'CAST("{col}" AS VARCHAR)' if col in columns else "CAST(NULL AS VARCHAR)"


def _number_stages(side: str, plan: NumberingPlan) -> tuple[str, str, str, str]:
    """Four SQL stages for one number column: fast test + clean, prefix rules, validation.

    Text that is already `+digits` or `digits` skips the punctuation regex; only cleaned text is
    checked digit by digit afterwards (the fast path already was).
    """
    raw = f"{side}_raw"
    fast = f"regexp_full_match({raw}, '\\+?[0-9]+') AS {side}_fast"
    clean = f"CASE WHEN {side}_fast THEN {raw} ELSE {sql_clean(raw)} END AS {side}_clean"
    digits = f"{sql_prefix_rules(f'{side}_clean', plan)} AS {side}_digits"
    valid = (
        f"CASE WHEN length({side}_digits) BETWEEN 3 AND 15 "
        f"AND ({side}_fast OR regexp_full_match({side}_digits, '[0-9]+')) THEN {side}_digits END AS {side}_number"
    )
    return fast, clean, digits, valid


def _pseudonym_stages(side: str) -> tuple[str, str, str, str]:
    """The four stages when the file is pseudonymised: a number is a pseudonym, taken as it is (trimmed);
    NULL when not one."""
    fast, clean = (f"NULL AS {side}_{stage}" for stage in ("fast", "clean"))
    digits = f"trim({side}_raw) AS {side}_digits"
    valid = f"CASE WHEN regexp_full_match({side}_digits, '{PSEUDONYM_PATTERN}') THEN {side}_digits END AS {side}_number"
    return fast, clean, digits, valid


def _keyed_number_stages(side: str) -> tuple[str, str, str, str]:
    """The four stages when the number comes as a key (`o2o.columnar.arrow_numbers`, the same rules): its
    digits are the key's text after the leading `1`; NULL when not a number."""
    fast, clean, digits = (f"NULL AS {side}_{stage}" for stage in ("fast", "clean", "digits"))
    return fast, clean, digits, f"substr(CAST({side}_key AS VARCHAR), 2) AS {side}_number"


# An ISO-8601 time with a date, a time and a UTC offset (Z, ±HH, ±HHMM or ±HH:MM), on trimmed text `s`.
_HAS_OFFSET = (
    "(length({s}) >= 19 AND substr({s}, 11, 1) IN ('T', ' ') AND (right({s}, 1) = 'Z' "
    "OR substr({s}, -6, 1) IN ('+', '-') OR substr({s}, -5, 1) IN ('+', '-') OR substr({s}, -3, 1) IN ('+', '-')))"
)
# The common spellings of such a time, untrimmed: a match has no surrounding spaces and has an offset,
# so it takes the same value as the general rule above at the cost of one regex.
_PLAIN_TIME = (
    "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}(:?[0-9]{2})?)"
)
_INTEGER = "-?[0-9]{1,18}"


def _sql_epoch(s: str) -> str:
    """SQL of the epoch second of a time (`start_raw`, trimmed `s`): the plain spelling by one regex, any
    other trimmed ISO-8601 time with a UTC offset by the general rule; NULL when neither."""
    ts = (
        f"CASE WHEN regexp_full_match(start_raw, '{_PLAIN_TIME}') THEN TRY_CAST(start_raw AS TIMESTAMPTZ) "
        f"WHEN {_HAS_OFFSET.format(s=s)} THEN TRY_CAST({s} AS TIMESTAMPTZ) END"
    )
    return f"CAST(epoch_ms({ts}) // 1000 AS BIGINT)"


# The lengths of `YYYY-MM-DDTHH:MM:SS` with `Z`, `±HH`, `±HHMM` or `±HH:MM`: Arrow would also read times
# without seconds, which the SQL rule refuses.
_PLAIN_TIME_LENGTHS = pa.array([20, 22, 24, 25], pa.int32())


def _arrow_epochs(times: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """The epoch second of every time when Arrow reads them all (ISO-8601 with a date, a time to the
    second and a UTC offset, no spaces: a subset of what `_sql_epoch` takes, with the same values);
    None when one is not so, and the SQL rule then reads them."""
    lengths = pc.binary_length(times, memory_pool=POOL)
    if not pc.all(pc.is_in(lengths, value_set=_PLAIN_TIME_LENGTHS), skip_nulls=True, min_count=0).as_py():
        return None
    try:
        return pc.cast(
            pc.cast(times, pa.timestamp("s", tz="UTC"), memory_pool=POOL), pa.int64(), memory_pool=POOL
        )
    except pa.ArrowInvalid:
        return None


def _arrow_integers(texts: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """Every text as an integer when all are 1 to 18 ASCII digits (what `_integer`'s untrimmed rule takes,
    but for a sign; Arrow alone would take `0x1F` too); None when not."""
    plain = pc.and_(pc.ascii_is_decimal(texts), pc.less_equal(pc.binary_length(texts, memory_pool=POOL), 18))
    if not pc.all(plain, skip_nulls=True, min_count=0).as_py():
        return None
    return pc.cast(texts, pa.int64(), memory_pool=POOL)


# What Arrow may have read of every row of a group: the validation's column, the input column it reads,
# and how.
_ARROW_READ: dict[str, tuple[str, Callable[[pa.ChunkedArray], pa.ChunkedArray | None]]] = {
    "start_epoch_in": ("start_time", _arrow_epochs),
    "duration_int": ("duration_s", _arrow_integers),
    "volume_int": ("volume", _arrow_integers),
}


def _raw_texts(spec: ImportSpec) -> dict[str, str]:
    """SQL of the trimmed raw texts that a reject shows (evaluated only for rejected rows)."""
    volume_default = "'1'" if spec.kind is ServiceKind.SMS else "'0'"
    return {
        "start": "trim(start_raw)",
        "duration_raw": "trim(coalesce(duration_in, '0'))",
        "volume_raw": f"trim(coalesce(nullif(trim(volume_in), ''), {volume_default}))",
    }


def _integer(raw: str, trimmed: str, default: str | None = None, read: bool = False) -> str:
    """An integer column: untrimmed digits cast at once, anything else by the trimmed rule (NULL if not);
    when Arrow `read` every value, its reading (`duration_int`, `volume_int`), the default where missing."""
    if read:
        return f"COALESCE({raw.removesuffix('_in')}_int, {default})"
    first = f"WHEN {raw} IS NULL THEN {default} " if default is not None else ""
    return (
        f"CASE {first}WHEN regexp_full_match({raw}, '{_INTEGER}') THEN CAST({raw} AS BIGINT) "
        f"WHEN regexp_full_match({trimmed}, '{_INTEGER}') THEN CAST({trimmed} AS BIGINT) END"
    )


def _validated_sql(
    source: str,
    columns: list[str],
    spec: ImportSpec,
    from_arrow: bool = False,
    read: frozenset[str] = frozenset(),
) -> str:
    """Every row with its values, its raw inputs and a reject reason (NULL when accepted).

    The rows are numbered `rn` (from 1) in file order: by the source's own `rn` column when `from_arrow`
    (whose numbers come as keys too, `a_key` and `b_key`, see `_validated_by_arrow`), else by
    `row_number() OVER ()` over the source read in order (which runs on one thread). What Arrow already
    read of every row, as these rules would, comes in the source's columns named by `read` (of
    `_ARROW_READ`), and these rules are skipped for it.

    Each value has a fast path for the plain spellings and falls back to the general rule for the
    rest; the reason is worked out only for rows that fail the cheap all-good test, which implies it
    would be NULL, so the result is the same as the general rules applied to every row.
    """
    t = {c: _text(c, columns) for c in REQUIRED_INPUT_COLUMNS + OPTIONAL_INPUT_COLUMNS}
    raw = _raw_texts(spec)
    volume_default = "1" if spec.kind is ServiceKind.SMS else "0"
    pseudonymised = DECLARED_DESTINATION in columns
    stages = (
        _pseudonym_stages
        if pseudonymised
        else _keyed_number_stages
        if from_arrow
        else partial(_number_stages, plan=spec.plan)
    )
    not_number = (
        "not a pseudonym (15 digits, o2o usage pseudonymise)" if pseudonymised else "not a phone number"
    )
    a_fast, a_clean, a_digits, a_valid = stages("a")
    b_fast, b_clean, b_digits, b_valid = stages("b")
    s = raw["start"]
    svc = _q(spec.service)
    # A service id without surrounding spaces equals its own trim, so an exact match is enough.
    svc_same = f"service_raw = {svc} OR " if spec.service == spec.service.strip() else ""
    svc_ok = f"(service_raw IS NULL OR {svc_same}trim(service_raw) IN ('', {svc}))"
    # Without required numbers, a record without one is accepted: only a number given is checked.
    none = {side: f"({side}_raw IS NULL OR trim({side}_raw) = '')" for side in ("a", "b")}
    if spec.numbers_required:
        ok = {side: f"{side}_number IS NOT NULL" for side in none}
        bad = {
            side: f"WHEN {none[side]} THEN '{side}_number: missing' WHEN {side}_number IS NULL"
            for side in none
        }
    else:
        ok = {side: f"({side}_number IS NOT NULL OR {none[side]})" for side in none}
        bad = {side: f"WHEN {side}_number IS NULL AND NOT {none[side]}" for side in none}
    # A pseudonymised row's destination: one of the tariff's, or empty (none matched at the declarer's).
    declared, dest_ok, dest_bad = "CAST(NULL AS VARCHAR)", "TRUE", ""
    if pseudonymised:
        declared = "coalesce(trim(destination_raw), '')"
        names = ", ".join(_q(n) for n in ("", *spec.destinations))
        dest_ok = f"{declared} IN ({names})"
        dest_bad = (
            f"WHEN NOT {dest_ok} THEN 'destination: not a destination of service {spec.service}: ' "
            "|| destination_raw"
        )
    reason = f"""CASE
             WHEN NOT {svc_ok}
               THEN 'service: ' || service_raw || ' is not the declared service {spec.service}'
             {bad["a"]} THEN 'a_number: {not_number}: ' || a_raw
             {bad["b"]} THEN 'b_number: {not_number}: ' || b_raw
             {dest_bad}
             WHEN start_raw IS NULL OR {s} = '' THEN 'start_time: missing'
             WHEN start_epoch IS NULL
               THEN 'start_time: not an ISO-8601 time with a UTC offset: ' || start_raw
             WHEN start_epoch < {spec.period_start} OR start_epoch >= {spec.period_end}
               THEN 'start_time: outside period {spec.period}: ' || start_raw
             WHEN duration_s IS NULL THEN 'duration_s: not an integer: ' || {raw["duration_raw"]}
             WHEN duration_s < 0 THEN 'duration_s: negative: ' || {raw["duration_raw"]}
             WHEN volume IS NULL THEN 'volume: not an integer: ' || {raw["volume_raw"]}
             WHEN volume < 0 THEN 'volume: negative: ' || {raw["volume_raw"]}
           END"""
    all_good = (
        f"{svc_ok} AND {ok['a']} AND {ok['b']} AND {dest_ok} "
        f"AND start_epoch >= {spec.period_start} AND start_epoch < {spec.period_end} "
        "AND duration_s >= 0 AND volume >= 0"
    )
    return f"""
    WITH base AS (
        SELECT {"rn, a_key, b_key" if from_arrow else "row_number() OVER () AS rn"},
               {", ".join(f"{c if c in read else 'NULL'} AS {c}" for c in _ARROW_READ)},
               {t["record_id"]} AS record_id, {t["service"]} AS service_raw,
               {t["a_number"]} AS a_raw, {t["b_number"]} AS b_raw, {t["start_time"]} AS start_raw,
               {t["duration_s"]} AS duration_in, {t["volume"]} AS volume_in, {t["route"]} AS route,
               {t[DECLARED_DESTINATION]} AS destination_raw
        FROM {source}
    ), tested AS (
        SELECT *, {a_fast}, {b_fast} FROM base
    ), cleaned AS (
        SELECT *, {a_clean}, {b_clean},
               {"start_epoch_in" if "start_epoch_in" in read else _sql_epoch(s)} AS start_epoch,
               {_integer("duration_in", raw["duration_raw"], "0", "duration_int" in read)} AS duration_s,
               {_integer("volume_in", raw["volume_raw"], volume_default, "volume_int" in read)} AS volume
        FROM tested
    ), prefixed AS (
        SELECT *, {a_digits}, {b_digits} FROM cleaned
    ), parsed AS (
        SELECT *, {a_valid}, {b_valid} FROM prefixed
    )
    SELECT rn, record_id, {svc} AS service, a_number, b_number, a_raw, b_raw,
           start_epoch, duration_s, volume, route, {declared} AS destination, start_raw, duration_in, volume_in,
           CASE WHEN {all_good} THEN NULL ELSE {reason} END AS reason
    FROM parsed
    """


_BATCH_ROWS = 1 << 18
_GROUP_ROWS = 1 << 18  # rows Arrow hands to one validation statement
# Min/max statistics where they prune reads (lines, times, counts); phone numbers and ids are spread
# over every row group, so their statistics would cost writing time and prune nothing.
_STATISTICS = [c for c, t in CANONICAL_COLUMNS.items() if t == "BIGINT"]
# Dictionaries where values repeat (numbers, services, routes, durations); record ids, lines and times are
# nearly all distinct, so a dictionary for them is built only to be dropped.
_DICTIONARY = [c for c in CANONICAL_COLUMNS if c not in ("line", "record_id", "start_epoch")]
_REJECT_FIELDS = ("rn", "reason", "record_id", "a_raw", "b_raw", "start_raw", "duration_raw", "volume_raw")


def normalise_usage(
    src: Path,
    fmt: str,
    spec: ImportSpec,
    out_parquet: Path,
    rejects_csv: Path,
    workdir: Path,
    memory_limit: str = "1GB",
) -> ImportCounts:
    """Write accepted rows to `out_parquet` and rejected ones to `rejects_csv`; return the counts.

    One streaming pass: DuckDB validates the file and hands over Arrow batches (each row carries its
    file line, the batches need not come in file order); each batch is split into accepted rows
    (appended to the canonical Parquet by a writer thread) and rejected ones (kept aside). Only when
    the CSV reader itself rejected lines is the accepted file rewritten, to shift its line numbers
    past them.
    """
    con = _connect(workdir, memory_limit)
    staged_rejects = workdir / "rejects.parquet"
    try:
        source, columns = _source(con, src, fmt)
        missing = [c for c in _required_columns(spec) if c not in columns]
        if missing:
            raise ImportRefusedError(
                f"{src}: missing column(s) {', '.join(missing)} (found: {', '.join(columns)})"
            )
        try:
            # The file's empty lines are looked for on another core while the rows are read.
            with ThreadPoolExecutor(max_workers=1) as pool:
                empty = pool.submit(blank_lines, src) if fmt == "csv" else None
                # Pseudonyms are no numbers for the Arrow path's keys: DuckDB reads such a file.
                by_arrow = (
                    fmt == "csv" and plain_header(src) is not None and DECLARED_DESTINATION not in columns
                )
                if by_arrow:
                    try:
                        con.execute("SET preserve_insertion_order = false")  # rows carry their numbers
                        batches = _validated_by_arrow(con, src, columns, spec)
                        counts = _split(batches, out_parquet, staged_rejects)
                    except pa.ArrowInvalid:
                        by_arrow = False  # a line only DuckDB's reader can take apart (or reject)
                        staged_rejects.unlink(missing_ok=True)
                        con.execute("SET preserve_insertion_order = true")
                if not by_arrow:
                    batches = _validated_by_duckdb(con, source, columns, spec)
                    counts = _split(batches, out_parquet, staged_rejects)
                blanks = empty.result() if empty is not None else np.zeros(0, dtype=np.int64)
        except duckdb.Error as e:
            raise ImportRefusedError(f"{src}: cannot read: {e}") from None
        reader_rejected, skipped = _reader_rejects(con, fmt if not by_arrow else "arrow", blanks)
        if skipped:
            _shift_lines(con, out_parquet, workdir)
        _write_rejects(con, staged_rejects, rejects_csv, shifted=skipped)
        return ImportCounts(counts.rows, counts.rejected + reader_rejected, counts.duration_s, counts.volume)
    finally:
        con.close()
        staged_rejects.unlink(missing_ok=True)


def _output_sql(
    source: str, columns: list[str], spec: ImportSpec, from_arrow: bool, read: frozenset[str] = frozenset()
) -> str:
    """The validated rows as the canonical columns plus what a reject shows."""
    canonical = ", ".join("rn + 1 AS line" if c == "line" else c for c in CANONICAL_COLUMNS)
    # Raw text of times and counts is only needed to explain a rejected row.
    texts = {"start_raw": "start_raw", **_raw_texts(spec)}
    extra = ", ".join(
        f if f in ("rn", "reason") else f"CASE WHEN reason IS NOT NULL THEN {texts[f]} END AS {f}"
        for f in _REJECT_FIELDS
        if f not in CANONICAL_COLUMNS
    )
    return f"SELECT {canonical}, {extra} FROM ({_validated_sql(source, columns, spec, from_arrow, read)})"


def _validated_by_duckdb(
    con: duckdb.DuckDBPyConnection, source: str, columns: list[str], spec: ImportSpec
) -> Iterator[pa.RecordBatch]:
    """DuckDB reads the file in order (numbering its rows) and validates them, one stream."""
    yield from con.sql(_output_sql(source, columns, spec, from_arrow=False)).to_arrow_reader(_BATCH_ROWS)


def _validated_by_arrow(
    con: duckdb.DuckDBPyConnection, src: Path, columns: list[str], spec: ImportSpec
) -> Iterator[pa.RecordBatch]:
    """Arrow reads a plain CSV as text in file order (a row's position is its number; empty lines are
    skipped, as DuckDB does), and DuckDB validates each group of rows on every thread. Raises
    `pa.ArrowInvalid` on a line Arrow cannot read (a wrong number of fields, bad UTF-8): the caller then
    reads the file through DuckDB, whose reader keeps such lines as rejects."""
    wanted = [c for c in REQUIRED_INPUT_COLUMNS + OPTIONAL_INPUT_COLUMNS if c in columns]
    reader = pcsv.open_csv(
        src,
        memory_pool=POOL,
        read_options=pcsv.ReadOptions(block_size=1 << 20, use_threads=False),
        convert_options=pcsv.ConvertOptions(
            column_types={c: pa.string() for c in wanted}, include_columns=wanted, null_values=[""],
            strings_can_be_null=True,
        ),
    )  # fmt: skip
    queries: dict[frozenset[str], str] = {}  # by what Arrow read of a whole group
    keyer = NumberKeyer(spec.plan)  # each distinct number text of the file normalised once

    def prepared() -> Iterator[tuple[pa.Table, frozenset[str]]]:
        """Each group numbered, its numbers keyed and what Arrow reads of it read, on the reader's thread."""
        numbered = 0
        for group in batch_groups(reader, _GROUP_ROWS):
            rows = pa.Table.from_batches(group)
            rn = pa.array(np.arange(numbered + 1, numbered + 1 + rows.num_rows, dtype=np.int64))
            numbered += rows.num_rows
            rows = rows.append_column("rn", rn)
            for side in ("a", "b"):
                # A file without a number column (where the tariff needs none) has no number to key.
                texts = (
                    rows.column(f"{side}_number")
                    if f"{side}_number" in rows.column_names
                    else pa.chunked_array([pa.nulls(rows.num_rows, pa.string())])
                )
                rows = rows.append_column(f"{side}_key", keyer(texts))
            for name, (column, read_all) in _ARROW_READ.items():
                values = read_all(rows.column(column)) if column in rows.column_names else None
                if values is not None:
                    rows = rows.append_column(name, values)
            yield rows, frozenset(_ARROW_READ).intersection(rows.column_names)

    for rows, read in _read_ahead(prepared()):
        if read not in queries:
            queries[read] = _output_sql("arrow_rows", columns, spec, from_arrow=True, read=read)
        con.register("arrow_rows", rows)
        try:
            yield from con.sql(queries[read]).to_arrow_table().to_batches(_BATCH_ROWS)
        finally:
            con.unregister("arrow_rows")


def _read_ahead(items: Iterator[_T]) -> Iterator[_T]:
    """`items` produced on a thread of their own, one ahead of the consumer (Arrow parses the next group
    while DuckDB validates this one); an error is raised where the item would have come, and a consumer
    that stops early stops the producer at its next item."""
    ahead: queue.Queue[tuple[_T | None, BaseException | None]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                ahead.put((item, None))
            ahead.put((None, None))
        except BaseException as exc:  # raised again by the consumer
            ahead.put((None, exc))

    thread = threading.Thread(target=produce, name="usage-csv-reader", daemon=True)
    thread.start()
    try:
        while True:
            item, error = ahead.get()
            if error is not None:
                raise error
            if item is None:
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting to hand over an item
            with contextlib.suppress(queue.Empty):
                ahead.get(timeout=0.05)
        thread.join()


def _split(
    batches: Iterable[pa.RecordBatch],
    out_parquet: Path,
    rejects: Path,
) -> ImportCounts:
    canonical_names, reject_names = list(CANONICAL_COLUMNS), list(_REJECT_FIELDS)
    rows = rejected = duration = volume = 0
    good_writer = _BackgroundWriter(out_parquet)
    bad_writer: pq.ParquetWriter | None = None
    try:
        for batch in batches:
            reason = batch.column("reason")
            if reason.null_count == batch.num_rows:  # the usual batch: every row accepted
                good = batch.select(canonical_names)
            else:
                ok = pc.is_null(reason)
                good = batch.filter(ok).select(canonical_names)
                bad = batch.filter(pc.invert(ok)).select(reject_names)
                if bad_writer is None:
                    bad_writer = pq.ParquetWriter(rejects, bad.schema)
                bad_writer.write_batch(bad)
                rejected += bad.num_rows
            good_writer.put(good)
            if good.num_rows:
                rows += good.num_rows
                duration += pc.sum(good.column("duration_s")).as_py() or 0
                volume += pc.sum(good.column("volume")).as_py() or 0
    finally:
        good_writer.close()
        if bad_writer is not None:
            bad_writer.close()
    return ImportCounts(rows, rejected, duration, volume)


class _BackgroundWriter:
    """Appends batches to a zstd Parquet file on its own thread, so writing overlaps DuckDB's work.

    At most a few batches wait in the queue (bounded memory); a write error is raised by `close`.
    The file is created with the first batch, even when it has no rows (the schema is known then).
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._queue: queue.Queue[pa.RecordBatch | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="usage-parquet-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        writer: pq.ParquetWriter | None = None
        try:
            while (batch := self._queue.get()) is not None:
                if writer is None:
                    writer = pq.ParquetWriter(
                        self._path,
                        batch.schema,
                        compression="zstd",
                        write_statistics=_STATISTICS,
                        use_dictionary=_DICTIONARY,
                    )
                if batch.num_rows:
                    writer.write_batch(batch)
        except BaseException as exc:  # handed to the caller by close()
            self._error = exc
            while self._queue.get() is not None:  # drain so that put() never blocks forever
                pass
        finally:
            if writer is not None:
                writer.close()

    def put(self, batch: pa.RecordBatch) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(batch)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


def _reader_rejects(con: duckdb.DuckDBPyConnection, fmt: str, blanks: np.ndarray) -> tuple[int, bool]:
    """Collect the lines the CSV reader rejected (`reader_rejects`, for the rejects file) and every line
    it read no row from — those and the empty lines `blanks` — as `skipped(shifted)`: such a line's number minus
    the skipped lines before it, so the row numbered `rn` (from 1) is on line `_line("rn + 1")`.
    The number of lines rejected, and whether any line was skipped."""
    con.execute("CREATE TEMP TABLE reader_rejects (line BIGINT, reason VARCHAR, raw VARCHAR)")
    if fmt == "csv":
        con.execute(
            """
            INSERT INTO reader_rejects
            SELECT line, string_agg(coalesce(column_name, '') || ': ' || error_message, '; '
                                    ORDER BY column_name) AS reason,
                   any_value(csv_line) AS raw
            FROM csv_rejects GROUP BY line
            """
        )
    con.register("blank_lines", pa.table({"line": blanks}))
    con.execute(
        """CREATE TEMP TABLE skipped AS
           SELECT line - (row_number() OVER (ORDER BY line) - 1) AS shifted
           FROM (SELECT line FROM reader_rejects UNION SELECT line FROM blank_lines) l"""
    )
    con.unregister("blank_lines")
    rejected = con.execute("SELECT count(*) FROM reader_rejects").fetchone()
    skipped = con.execute("SELECT count(*) FROM skipped").fetchone()
    return (int(rejected[0]) if rejected else 0), bool(skipped and skipped[0])


def _line(row_line: str) -> str:
    """SQL of the file line of the row that would be on `row_line` were no line skipped."""
    return f"{row_line} + (SELECT count(*) FROM skipped s WHERE s.shifted <= {row_line})"


def _shift_lines(con: duckdb.DuckDBPyConnection, out_parquet: Path, workdir: Path) -> None:
    """Rewrite the accepted file with line numbers that count the lines the reader skipped."""
    shifted = workdir / "shifted.parquet"
    cols = ", ".join(f"{_line('t.line')} AS line" if c == "line" else c for c in CANONICAL_COLUMNS)
    con.execute(
        f"COPY (SELECT {cols} FROM read_parquet({_q(str(out_parquet))}) t) "
        f"TO {_q(str(shifted))} (FORMAT parquet, COMPRESSION zstd)"
    )
    shifted.replace(out_parquet)


def _write_rejects(con: duckdb.DuckDBPyConnection, staged: Path, rejects_csv: Path, shifted: bool) -> None:
    line = _line("(t.rn + 1)") if shifted else "t.rn + 1"
    ours = (
        f"SELECT {line} AS line, reason, "
        "concat_ws(',', record_id, a_raw, b_raw, start_raw, duration_raw, volume_raw) AS raw "
        f"FROM read_parquet({_q(str(staged))}) t"
        if staged.exists()
        else "SELECT NULL::BIGINT AS line, NULL AS reason, NULL AS raw WHERE false"
    )
    con.execute(
        f"COPY (SELECT line, reason, raw FROM ({ours} UNION ALL SELECT line, reason, raw FROM reader_rejects) "
        f"ORDER BY line) TO {_q(str(rejects_csv))} (HEADER, DELIMITER ',')"
    )
