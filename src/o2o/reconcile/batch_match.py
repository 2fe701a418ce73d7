"""Matching many file pairs as one run: `match_batch(lines, options, scratch, connection)` gives each pair
exactly what `match_files` gives it alone (counts, clock offset, rounds, components, the five detail files
in its `out_dir`), for the fixed cost of one matching instead of one per pair.

How: every pair is a group g. Both sides of every group are read by one scan per side (all their canonical
Parquet files at once) into the tables `ours` and `theirs` of one matching, with the group folded into the
two keys that a candidate must share: a line becomes g * stride + line (`stride` a power of two above every
line), and a number key k (`1` + at most 15 digits, below 2 * 10^15) becomes (g + 1) * 10^16 + k. No
candidate, duplicate or contested component then crosses groups, and within a group every ordering on
lines or keys is the one the pair has alone (the transforms are increasing), so `match_sql`'s steps settle
each group as they settle it alone; a group that finds nothing in a round finds nothing in later ones (its
live edges stay the same), so running the rounds until no group finds any changes no group's result. The
days, per-day offsets and counts are grouped by g (`match_results_sql` with a group); `matches.parquet` is
written for all groups by one partitioned COPY while two threads write the small files (ordered by line,
as `match_files` writes them; one ordered read each, split by group). The stride comes from the files'
statistics (the lines' bounds), the files read only when one has none.

What a batch takes: pairs of canonical lake Parquet files (a `line` column; the same column types in every
file of the batch), matched without the clock correction (its offset differs per pair), whose keyed rows
fit in a quarter of the memory limit as Arrow tables. A pair whose files are not so, or whose record ids
alone would take another type than the batch gives them (BIGINT when all of a file's ids are plain
integers), is matched alone by `match_files` on the same connection; so is every pair of a batch that fails
on a bad file, so that each pair gets its own error. The result of a pair is its `MatchSummary` or the
error matching it alone raised, for the caller to raise where it reports that pair.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from o2o.columnar.parquet_parts import copy_by_group
from o2o.domain.errors import O2OError
from o2o.reconcile import match_results_sql as results_sql
from o2o.reconcile import match_sql
from o2o.reconcile.arrow_input import MAX_LINE, POOL, RAW_SCHEMA, int32_durations, int32_lines
from o2o.reconcile.file_match import (
    _PassResult,
    _settle,
    duplicates_rows,
    lower_median,
    match_files,
    matches_select,
    unmatched_select,
)
from o2o.reconcile.match_model import MatchOptions, MatchSummary
from o2o.reconcile.sources import (
    _NO_COUNTRY,
    CHUNK_ROWS,
    KEYED_ROW_BYTES,
    _collect,
    _literal,
    connect,
    memory_bytes,
    session,
    sql_day_to_date,
)

# A number key is `1` followed by at most 15 digits (below 2 * 10^15): a group's keys are shifted by
# (g + 1) * KEY_SPAN, which stays below 2^63 for up to MAX_GROUPS groups.
KEY_SPAN = 10**16
MAX_GROUPS = 900
# The columns a batch reads from each canonical file (their types the same in every file of a batch).
_COLUMNS = ("line", "record_id", "a_number", "b_number", "start_epoch", "duration_s")


class _TooLarge(Exception):
    """A side of a batch went past its memory budget: its pairs are matched alone."""


_BATCH_ERRORS = (O2OError, duckdb.Error, pa.ArrowException, OSError, _TooLarge)
# What a batch leaves on its cursor (its tables are TEMP; a side past the budget is a table of the database).
_LEFT = ("cand", "multi", "ours_open", "theirs_open", "ours_dups", "theirs_dups", "pairs_c", "only_ours",
         "only_theirs", "day_facts", "daily")  # fmt: skip


def _drop_all(con: Any) -> None:
    """Drop what a batch made, so that the next batch (or pair) on the cursor starts clean."""
    for view in ("pairs", "multi_o", "multi_t"):
        con.execute(f"DROP VIEW IF EXISTS {view}")
    for table in _LEFT:
        con.execute(f"DROP TABLE IF EXISTS {table}")
    for side in ("ours", "theirs"):
        con.execute(f"DROP TABLE IF EXISTS main.{side}")


@dataclass(frozen=True, slots=True)
class BatchLine:
    """One file pair of a batch and the folder its detail files go to."""

    ours: Path
    theirs: Path
    out_dir: Path


def match_batch(
    lines: Sequence[BatchLine], options: MatchOptions, scratch: Path, connection: Any = None
) -> list[MatchSummary | Exception]:
    """Match every pair of `lines` (see the module's docstring); `scratch` holds the partitioned write for
    the moment it takes (on the lake's file system, so that the files are renamed into place)."""
    results: list[MatchSummary | Exception | None] = [None] * len(lines)
    if not options.correct_clock and len(lines) > 1:
        own = None
        if connection is None:
            own = Path(tempfile.mkdtemp(prefix=".recon-", dir=scratch))
            con = connect(options.memory_limit, own, options.threads)
        else:
            con = session(connection.cursor(), options.memory_limit)
        try:
            try:
                chunks = _chunks(con, lines, options)
            except _BATCH_ERRORS:  # a file that cannot be read: each pair alone, below
                chunks = []
            for chunk, stride in chunks:
                try:
                    done = _match(con, chunk, lines, options, stride, scratch)
                except _BATCH_ERRORS:
                    _drop_all(con)
                    continue  # each pair alone, below: the one with the bad file gets its error
                _drop_all(con)
                for i, summary in done.items():
                    results[i] = summary
        finally:
            con.close()
            if own is not None:
                shutil.rmtree(own, ignore_errors=True)
    out: list[MatchSummary | Exception] = []
    for line, result in zip(lines, results, strict=True):
        if result is not None:
            out.append(result)
            continue
        try:
            out.append(match_files(line.ours, line.theirs, options, line.out_dir, connection))
        except Exception as exc:  # raised by the caller where it reports this pair
            out.append(exc)
    return out


_Bounds = tuple[int | None, int | None, int]  # least and greatest line (None without rows), lines missing


def _schema(path: Path) -> tuple[int, tuple[str, ...], _Bounds | None] | None:
    """Rows, the types of `_COLUMNS` and the bounds of the lines (`_line_bounds`) of a canonical Parquet
    file; None when it is not one."""
    try:
        meta = pq.ParquetFile(path).metadata
    except (OSError, pa.ArrowException):
        return None
    schema = meta.schema.to_arrow_schema()
    if any(schema.get_field_index(c) < 0 for c in _COLUMNS):
        return None
    types = tuple(str(schema.field(c).type) for c in _COLUMNS)
    bounds = _line_bounds(meta) if pa.types.is_signed_integer(schema.field("line").type) else None
    return int(meta.num_rows), types, bounds


def _line_bounds(meta: Any) -> _Bounds | None:
    """The least and greatest line and the lines missing, by the statistics of the file's row groups
    (exact for integers); None when a row group with rows has none (the lines are then read)."""
    column = next((j for j in range(meta.num_columns) if meta.schema.column(j).path == "line"), None)
    if column is None:
        return None
    low: int | None = None
    high: int | None = None
    missing = 0
    for r in range(meta.num_row_groups):
        group = meta.row_group(r)
        if group.num_rows == 0:
            continue
        stats = group.column(column).statistics
        if stats is None or not stats.has_null_count:
            return None
        missing += int(stats.null_count)
        if stats.null_count == group.num_rows:
            continue
        if not stats.has_min_max:
            return None
        low = int(stats.min) if low is None else min(low, int(stats.min))
        high = int(stats.max) if high is None else max(high, int(stats.max))
    return low, high, missing


def _lines_read(con: Any, files: list[str]) -> _Bounds:
    low, high, missing = con.execute(
        "SELECT min(line), max(line), count(*) - count(line) "
        f"FROM read_parquet([{', '.join(map(_literal, files))}])"
    ).fetchall()[0]
    return low, high, int(missing)


def _chunks(con: Any, lines: Sequence[BatchLine], options: MatchOptions) -> list[tuple[list[int], int]]:
    """The batches to run (indices into `lines`) with their line stride; the pairs left out go alone."""
    budget = memory_bytes(options.memory_limit) // 4
    eligible, rows, types = [], {}, None
    bounds: list[_Bounds | None] = []
    for i, line in enumerate(lines):
        found = [_schema(p) for p in (line.ours, line.theirs)]
        if any(f is None for f in found):
            continue
        (o_rows, o_types, o_bounds), (t_rows, t_types, t_bounds) = found  # type: ignore[misc]
        if types is None:
            types = o_types
        if o_types != types or t_types != types:
            continue
        rows[i] = (o_rows, t_rows)
        eligible.append(i)
        bounds += [o_bounds, t_bounds]
    if len(eligible) < 2:
        return []
    if all(b is not None for b in bounds):  # the files' statistics say: nothing to read
        known = [b for b in bounds if b is not None]
        lows = [b[0] for b in known if b[0] is not None]
        highs = [b[1] for b in known if b[1] is not None]
        low, high = (min(lows), max(highs)) if lows else (None, None)
        missing = sum(b[2] for b in known)
    else:
        files = [str(p) for i in eligible for p in (lines[i].ours, lines[i].theirs)]
        low, high, missing = _lines_read(con, files)
    if (
        low is None or high is None or low < 0 or high >= MAX_LINE or missing
    ):  # lines a batch cannot fold: all alone
        return []
    stride = 1 << int(high).bit_length()  # above every line
    most = min(MAX_GROUPS, (MAX_LINE + 1) // stride)
    chunks: list[list[int]] = []
    held = [0, 0]
    for i in eligible:
        size = [r * KEYED_ROW_BYTES for r in rows[i]]
        if max(size) > budget:
            continue
        if (
            not chunks
            or len(chunks[-1]) >= most
            or any(h + s > budget for h, s in zip(held, size, strict=True))
        ):
            chunks.append([])
            held = [0, 0]
        chunks[-1].append(i)
        held = [h + s for h, s in zip(held, size, strict=True)]
    return [(c, stride) for c in chunks if len(c) > 1]


def _group_sql(column: str, stride: int) -> str:
    return f"({column} // {stride})"


def _match(
    con: Any,
    chunk: list[int],
    lines: Sequence[BatchLine],
    options: MatchOptions,
    stride: int,
    scratch: Path,
) -> dict[int, MatchSummary]:
    groups = len(chunk)
    files = {
        "ours": [lines[i].ours for i in chunk],
        "theirs": [lines[i].theirs for i in chunk],
    }
    limit = memory_bytes(options.memory_limit)
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(_load, con, side, paths, stride, limit // 4) for side, paths in files.items()]
        loaded = [f.result() for f in futures]
    POOL.release_unused()
    # A group whose ids its files alone would type otherwise than the batch goes alone.
    keep = np.ones(groups, dtype=bool)
    groups_by_side = [_groups_of(table, stride) for table in loaded]
    for table, groups_of in zip(loaded, groups_by_side, strict=True):
        keep &= _same_id_typing(table, groups_of, groups)
    counts = []
    held = 0
    for side, read, groups_of in zip(files, loaded, groups_by_side, strict=True):
        if not keep.all():
            read = read.filter(pa.array(keep[groups_of]))  # noqa: PLW2901
            groups_of = _groups_of(read, stride)  # noqa: PLW2901
        counts.append(np.bincount(groups_of, minlength=groups))
        table = _folded(read, groups_of)
        con.register(side, table)
        held += table.nbytes
    if held and limit:
        con.execute(f"SET memory_limit = '{max(limit - held, limit // 2)}B'")
    con.execute(match_sql.candidates_step("cand", options.time_tolerance_s, 0))
    for side in files:
        con.unregister(side)
    con.execute(f"SET memory_limit = {_literal(options.memory_limit)}")
    result = _settle(con, options, 0, stride)
    con.execute(results_sql.unmatched_step("only_ours", "ours", "o_line"))
    con.execute(results_sql.unmatched_step("only_theirs", "theirs", "t_line"))
    con.execute(results_sql.day_facts_step(lambda c: _group_sql(c, stride)))
    con.execute(results_sql.daily_step(grouped=True))
    offsets = _offsets(con)
    kept = [g for g in range(groups) if keep[g]]
    out_dirs = {g: lines[chunk[g]].out_dir for g in kept}
    _write_outputs(con, out_dirs, stride, offsets, scratch)
    totals = {
        int(r[0]): [int(v) for v in r[1:]] for r in con.execute(results_sql.totals_query(True)).fetchall()
    }
    return {chunk[g]: _summary(g, counts, totals, offsets, result, out_dirs[g]) for g in kept}


def _load(con: Any, side: str, paths: list[Path], stride: int, budget: int) -> pa.Table:
    """Every file of a side (group g the g-th) keyed as `sources` keys one file, lines moved by g * stride."""
    cursor = con.cursor()
    try:
        table = _collect(cursor, side, budget, _raw_batches(cursor, side, paths, stride), _NO_COUNTRY)
    finally:
        cursor.close()
    if table is None:  # past the budget, in the DuckDB table `side`: the pairs go alone
        con.execute(f"DROP TABLE IF EXISTS {side}")
        raise _TooLarge(side)
    return table


def _raw_batches(con: Any, side: str, paths: list[Path], stride: int) -> Any:
    """Batches of `RAW_SCHEMA` of all `paths`, as `sources` reads one canonical Parquet file."""
    listed = ", ".join(_literal(str(p)) for p in paths)
    reading = con.cursor()  # `_collect` may insert on `con` while this cursor streams
    try:
        # A file's group is its index in the list (`file_index`: no join on the file's name).
        reader = reading.sql(
            f"""SELECT CAST(s.line AS BIGINT) + CAST(s.file_index AS BIGINT) * {stride} AS line,
                       CAST(s.record_id AS VARCHAR) AS record_id,
                       CAST(s.a_number AS VARCHAR) AS a_raw, CAST(s.b_number AS VARCHAR) AS b_raw,
                       TRY_CAST(s.start_epoch AS BIGINT) AS start_epoch,
                       TRY_CAST(s.duration_s AS BIGINT) AS duration_s
                FROM read_parquet([{listed}]) s"""
        ).to_arrow_reader(CHUNK_ROWS)
        for batch in reader:
            yield pa.record_batch(
                [
                    int32_lines(batch.column(0), Path(str(paths[0]))),
                    *batch.columns[1:5],
                    int32_durations(batch.column(5)),
                ],
                schema=RAW_SCHEMA,
            )
    finally:
        reading.close()


def _groups_of(table: pa.Table, stride: int) -> np.ndarray:
    """Each row's group: its line (INTEGER, not negative) shifted right by the stride's bits."""
    groups: np.ndarray = np.right_shift(table.column("line").to_numpy(), stride.bit_length() - 1)
    return groups


def _same_id_typing(table: pa.Table, of: np.ndarray, groups: int) -> np.ndarray:
    """Per group (`of`: each row's), whether its file alone would have the ids' type the batch has: BIGINT
    when it has ids and all are plain integers (`arrow_input.IdTyping`), else text as read."""
    ids = table.column("record_id")
    seen = np.bincount(of, weights=pc.is_valid(ids).to_numpy(zero_copy_only=False), minlength=groups) > 0
    if ids.type == pa.int64():
        return seen
    length = pc.binary_length(ids)
    plain = pc.and_kleene(
        pc.and_kleene(pc.ascii_is_decimal(ids), pc.less_equal(length, 18)),
        pc.or_kleene(pc.invert(pc.starts_with(ids, "0")), pc.equal(length, 1)),
    )
    other = pc.invert(pc.fill_null(plain, True)).to_numpy(zero_copy_only=False)
    all_plain = np.bincount(of, weights=other, minlength=groups) == 0
    text: np.ndarray = ~(seen & all_plain)
    return text


def _folded(table: pa.Table, groups_of: np.ndarray) -> pa.Table:
    """The number keys moved by (g + 1) * KEY_SPAN, each row's group g (NULL keys stay NULL)."""
    shift = pa.array((groups_of.astype(np.int64) + 1) * KEY_SPAN, pa.int64())
    for name in ("a_key", "b_key"):
        index = table.schema.get_field_index(name)
        keys = table.column(index).combine_chunks()
        table = table.set_column(index, name, pc.add(keys, shift))
    return table


def _offsets(con: Any) -> dict[int, tuple[int | None, dict[int, int]]]:
    """Per group, the overall and per-day clock offsets (`file_match._offsets`)."""
    overall: dict[int, dict[int, int]] = {}
    days: dict[int, dict[int, dict[int, int]]] = {}
    for grp, day, gap, pairs in con.execute(results_sql.day_facts_histogram(grouped=True)).fetchall():
        g = int(grp)
        histogram = overall.setdefault(g, {})
        histogram[int(gap)] = histogram.get(int(gap), 0) + int(pairs)
        if day is not None:
            days.setdefault(g, {}).setdefault(int(day), {})[int(gap)] = int(pairs)
    return {
        g: (lower_median(h), {day: lower_median(d) for day, d in days.get(g, {}).items()})
        for g, h in overall.items()
    }


def _summary(
    g: int,
    counts: list[np.ndarray],
    totals: dict[int, list[int]],
    offsets: dict[int, tuple[int | None, dict[int, int]]],
    result: _PassResult,
    out_dir: Path,
) -> MatchSummary:
    return MatchSummary.from_totals(
        (int(counts[0][g]), int(counts[1][g])),
        totals.get(g, [0] * 8),
        offsets.get(g, (None, {}))[0],
        result.rounds_by.get(g, 1),
        result.components_by.get(g, 0),
        out_dir,
    )


_PARQUET = "FORMAT parquet, PARQUET_VERSION v2, DICTIONARY_SIZE_LIMIT 1"
# Threads writing the groups' small files: their cost is the file system's (a new folder and files per
# group), which two threads halve while DuckDB writes the pairs.
_WRITERS = 2


def _write_outputs(
    con: Any,
    out_dirs: dict[int, Path],
    stride: int,
    offsets: dict[int, tuple[int | None, dict[int, int]]],
    scratch: Path,
) -> None:
    """Each group's five detail files in its folder, as `file_match._write_outputs` writes them: the small
    files read by one ordered query each (all groups), written per group by `_WRITERS` threads while one
    partitioned COPY writes every group's pairs."""

    def line(column: str) -> str:
        return f"CAST({column} % {stride} AS BIGINT)"

    def key(column: str) -> str:
        return f"({column} % {KEY_SPAN})"

    with ThreadPoolExecutor(max_workers=_WRITERS) as pool:
        made = [pool.submit(folder.mkdir, parents=True, exist_ok=True) for folder in out_dirs.values()]
        g_line = f"{_group_sql('line', stride)} AS grp, "
        small = {
            name: _by_group(con, f"{unmatched_select(name, line, key, g_line)} ORDER BY grp, line")
            for name in ("only_ours", "only_theirs")
        }
        small["duplicates"] = _by_group(con, f"{duplicates_rows(line, key, g_line)} ORDER BY grp, side, line")
        small["daily"] = _daily_by_group(con, offsets)
        for future in made:
            future.result()
        written = [
            pool.submit(_write_small, folder, {name: split(g) for name, split in small.items()})
            for g, folder in out_dirs.items()
        ]
        grp = f"{_group_sql('o_line', stride)} AS grp, "
        targets = {g: folder / "matches.parquet" for g, folder in out_dirs.items()}
        copy_by_group(con, matches_select(line, grp), targets, scratch, _PARQUET)
        for future in written:
            future.result()


def _daily_by_group(con: Any, offsets: dict[int, tuple[int | None, dict[int, int]]]) -> Any:
    day_offsets = [(g, day, off) for g, (_, days) in offsets.items() for day, off in days.items()]
    array = np.array(day_offsets, dtype=np.int64).reshape(-1, 3)
    con.register(
        "_day_offsets", pa.table({"grp": array[:, 0], "day": array[:, 1], "clock_offset_s": array[:, 2]})
    )
    try:
        return _by_group(
            con,
            f"""SELECT d.grp, {sql_day_to_date("d.day")} AS day, d.* EXCLUDE (grp, day), o.clock_offset_s
                FROM daily d LEFT JOIN _day_offsets o ON o.grp = d.grp AND o.day = d.day
                ORDER BY d.grp, d.day NULLS LAST""",
        )
    finally:
        con.unregister("_day_offsets")


def _by_group(con: Any, select_sql: str) -> Any:
    """The rows of `select_sql` (ordered by its first column, the group): a function giving a group's
    rows, in their order (none for a group without rows), without the group column."""
    table = con.sql(select_sql).to_arrow_table()
    of = table.column("grp").to_numpy(zero_copy_only=False).astype(np.int64)
    table = table.drop_columns(["grp"])

    def rows(g: int) -> pa.Table:
        lo, hi = np.searchsorted(of, g, "left"), np.searchsorted(of, g, "right")
        return table.slice(int(lo), int(hi - lo))

    return rows


def _write_small(folder: Path, tables: dict[str, pa.Table]) -> None:
    """A group's small files, each `{name}.parquet` in `folder` (made in memory, then written at once)."""
    for name, table in tables.items():
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, use_dictionary=False, data_page_version="2.0")
        (folder / f"{name}.parquet").write_bytes(sink.getvalue())
