"""Matching two usage files record by record: `match_files(ours, theirs, options, out_dir) -> MatchSummary`.

Steps: load both sides with their number dictionaries (`sources`), one FULL JOIN to the candidates and
the candidate-less records (`cand`, which keeps round 1: the isolated edges), duplicates among the
unsettled records, mutual-best rounds on the contested edges (`match_sql`, each round a temp table),
what is left solved exactly per component (`components`), then the classes, days and detail files
(`match_results_sql`): `matches.parquet`, `only_ours.parquet`, `only_theirs.parquet`,
`duplicates.parquet` and `daily.parquet` in `out_dir`. The inputs are read once; the tables of the
loaded sides are dropped as soon as `cand` holds what is needed of them.
The clock offset (theirs − ours) is the lower median time gap of the unambiguous pairs (both records
with one candidate), read off a histogram of their gaps (a small table: gaps lie in the window). With
`correct_clock`, a first pass estimates it with candidates searched within `clock_window_s` (so an offset
larger than the tolerance is seen), and the final pass matches with their times moved back by it; the
offset reported is that estimate. The result is a maximum matching that prefers duration agreement, then
closeness in time (see `match_sql` for why the rounds are exact).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from o2o.reconcile import match_results_sql as results_sql
from o2o.reconcile import match_sql
from o2o.reconcile.components import solve_components
from o2o.reconcile.match_model import DEFAULT_MEMORY_LIMIT, MatchOptions, MatchSummary
from o2o.reconcile.sources import (
    connect,
    copy_to_parquet,
    int_pairs_table,
    load_sides,
    multi_by_counting,
    session,
    sql_class_name,
    sql_day_to_date,
    sql_key_to_number,
)


@dataclass(frozen=True, slots=True)
class _PassResult:
    rounds: int  # rounds that found pairs, round 1 included
    components: int
    # With groups (a batch, see `batch_match`): the same per group, for the groups that have any.
    rounds_by: dict[int, int] = field(default_factory=dict)
    components_by: dict[int, int] = field(default_factory=dict)


_PASS_VIEWS = ["multi_o", "multi_t"]
_PASS_TABLES = [
    "cand",
    "multi",
    "ours_open",
    "theirs_open",
    "ours_dups",
    "theirs_dups",
    "pairs_c",
]


def _count(con: Any, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _exact_components(con: Any, live: str, stride: int | None) -> tuple[str, int, dict[int, int]]:
    """Solve what the rounds left; the pairs with their gaps in `pairs_exact`. With `stride` (lines of
    group g in [g * stride, (g + 1) * stride)), the contested components counted per group as well."""
    edges = con.execute(
        f"SELECT o_line, t_line, t_dur - o_dur, tgap FROM {live} ORDER BY o_line, t_line"
    ).fetchall()
    result = solve_components(edges)
    by_group: dict[int, int] = {}
    if stride is not None:
        # No component crosses groups (no candidate does): the groups' edges, in order, solved alone.
        groups: dict[int, list[Any]] = {}
        for edge in edges:
            groups.setdefault(edge[0] // stride, []).append(edge)
        by_group = {g: solve_components(group).components for g, group in groups.items()}
    int_pairs_table(con, "exact_keys", ("o_line", "t_line"), result.pairs)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE pairs_exact AS
            SELECT e.* FROM {live} e JOIN exact_keys k ON k.o_line = e.o_line AND k.t_line = e.t_line"""
    )
    con.execute("DROP TABLE exact_keys")
    return "pairs_exact", result.components, by_group


def _groups_found(con: Any, pairs: str, where: str, stride: int) -> set[int]:
    rows = con.execute(f"SELECT DISTINCT o_line // {stride} FROM {pairs} WHERE {where}").fetchall()
    return {int(r[0]) for r in rows}


def _settle(con: Any, options: MatchOptions, offset_s: int, stride: int | None = None) -> _PassResult:
    """The rest of a matching pass after `cand`: round 1 in it, `{side}_open`, `{side}_dups` and `pairs_c`
    (the later rounds until none is new, then the exact components). With `stride`, a batch's groups of
    lines (see `_exact_components`): the rounds and components counted per group too."""
    if not multi_by_counting(con, "cand", match_sql.BOTH):
        con.execute(match_sql.multi_step("cand"))
    for step in match_sql.multi_views():
        con.execute(step)
    con.execute(match_sql.contested_edges_step("contested", "cand", offset_s))
    for side in ("ours", "theirs"):
        con.execute(match_sql.open_step(side, "cand", "contested"))
        con.execute(match_sql.duplicates_step(side))
    con.execute(match_sql.live_of_contested_step("live_1", "contested"))
    con.execute("DROP TABLE contested")
    rounds, live, found = [], "live_1", 0
    found_by: dict[int, int] = {}
    for k in range(2, options.max_rounds + 1):
        pairs = f"pairs_{k}"
        con.execute(match_sql.round_step(pairs, live, first=k == 2))
        if _count(con, f"SELECT count(*) FROM {pairs}") == 0:
            con.execute(f"DROP TABLE {pairs}")
            break
        # The first round's isolated pairs are round 1's (their rival was a duplicate).
        found += 1 if k > 2 or _count(con, f"SELECT count(*) FROM {pairs} WHERE NOT isolated") else 0
        if stride is not None:
            # A group that found nothing in a round finds nothing later: its live edges stay the same.
            for g in _groups_found(con, pairs, "TRUE" if k > 2 else "NOT isolated", stride):
                found_by[g] = found_by.get(g, 0) + 1
        rounds.append(pairs)
        con.execute(match_sql.live_step(f"live_{k}", live, pairs))
        con.execute(f"DROP TABLE {live}")
        live = f"live_{k}"
    exact, components, components_by = _exact_components(con, live, stride)
    con.execute(results_sql.later_pairs_step(rounds, exact))
    _drop(con, [live, exact, *rounds])
    con.execute(results_sql.pairs_view(options.duration_tolerance_s))
    rounds_by = {g: 1 + n for g, n in found_by.items()}
    return _PassResult(1 + found, components, rounds_by, components_by)


def lower_median(histogram: dict[int, int]) -> int:
    """The lower median of the values counted in `histogram` (SQL's `percentile_disc(0.5)`)."""
    half, seen = (sum(histogram.values()) + 1) // 2, 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= half:
            return value
    raise ValueError("no values")


def _offsets(con: Any, histogram_sql: str) -> tuple[int | None, dict[int, int]]:
    """Overall and per-day clock offsets from `histogram_sql` (rows of day, gap, pairs)."""
    return offsets_from_histogram(con.execute(histogram_sql).fetchall())


def offsets_from_histogram(rows: Iterable[Sequence[Any]]) -> tuple[int | None, dict[int, int]]:
    """Overall and per-day clock offsets: lower medians of the unambiguous pairs' raw time gaps, from a
    histogram's rows (day, gap, pairs), whichever engine counted them."""
    overall: dict[int, int] = {}
    days: dict[int, dict[int, int]] = {}
    for day, gap, pairs in rows:
        overall[int(gap)] = overall.get(int(gap), 0) + int(pairs)
        if day is not None:
            days.setdefault(int(day), {})[int(gap)] = int(pairs)
    per_day = {day: lower_median(h) for day, h in days.items()}
    return (lower_median(overall) if overall else None), per_day


def _estimate_clock(con: Any, options: MatchOptions) -> tuple[int | None, dict[int, int]]:
    """The clock pass: candidates searched within the clock window, offsets from the isolated pairs."""
    con.execute(match_sql.candidates_step("cand", max(options.time_tolerance_s, options.clock_window_s), 0))
    _settle(con, options, 0)
    isolated = "SELECT day, time_gap_s AS tgap FROM pairs WHERE isolated"
    estimate = _offsets(con, results_sql.gap_histogram_query(isolated))
    for view in ["pairs", *_PASS_VIEWS]:
        con.execute(f"DROP VIEW {view}")
    _drop(con, _PASS_TABLES)
    return estimate


def _drop(con: Any, tables: list[str]) -> None:
    for name in tables:
        con.execute(f"DROP TABLE IF EXISTS {name}")


def _wide(column: str) -> str:
    """Lines and durations are INTEGER inside; the files keep them BIGINT."""
    return f"CAST({column} AS BIGINT)"


def matches_select(line: Callable[[str], str] = _wide, extra: str = "") -> str:
    """The rows of `matches.parquet` from `pairs` (`line`: SQL of a written line from a line column;
    `extra`: columns put first, a batch's group)."""
    return f"""SELECT {extra}{line("o_line")} AS ours_line, o_id AS ours_record_id,
                   {line("t_line")} AS theirs_line, t_id AS theirs_record_id,
                   o_start AS ours_start_epoch, t_start AS theirs_start_epoch,
                   {_wide("ours_duration_s")} AS ours_duration_s, {_wide("theirs_duration_s")} AS theirs_duration_s,
                   time_gap_s, {_wide("duration_gap_s")} AS duration_gap_s, {sql_class_name("code")} AS class,
                   {sql_day_to_date("day")} AS day
            FROM pairs"""


def unmatched_select(
    name: str, line: Callable[[str], str] = _wide, key: Callable[[str], str] = str, extra: str = ""
) -> str:
    """The rows of `{name}.parquet` (`only_ours` or `only_theirs`), unordered (`key`: SQL of a number key
    as made by `sources` from a key column)."""
    a, b = sql_key_to_number(key("a_key")), sql_key_to_number(key("b_key"))
    return f"""SELECT {extra}{line("line")} AS line, record_id, {a} AS a_number, {b} AS b_number, start_epoch,
                       {_wide("duration_s")} AS duration_s, {sql_day_to_date("day")} AS day
                FROM {name}"""


def duplicates_rows(
    line: Callable[[str], str] = _wide, key: Callable[[str], str] = str, extra: str = ""
) -> str:
    """The rows of `duplicates.parquet`, unordered."""
    a, b = sql_key_to_number(key("a_key")), sql_key_to_number(key("b_key"))
    return " UNION ALL ".join(
        f"""SELECT {extra}'{side}' AS side, {line("line")} AS line, CAST(record_id AS VARCHAR) AS record_id,
                   {a} AS a_number, {b} AS b_number, start_epoch, {_wide("duration_s")} AS duration_s
            FROM ({results_sql.duplicates_select(side)}) d"""
        for side in ("ours", "theirs")
    )


def _write_outputs(con: Any, out_dir: Path, per_day_offsets: dict[int, int]) -> None:
    copy_to_parquet(con, matches_select(), out_dir / "matches.parquet")
    for name in ("only_ours", "only_theirs"):
        copy_to_parquet(con, f"{unmatched_select(name)} ORDER BY line", out_dir / f"{name}.parquet")
    copy_to_parquet(con, duplicates_rows() + " ORDER BY side, line", out_dir / "duplicates.parquet")
    int_pairs_table(con, "day_offsets", ("day", "clock_offset_s"), sorted(per_day_offsets.items()))
    copy_to_parquet(
        con,
        f"""SELECT {sql_day_to_date("d.day")} AS day, d.* EXCLUDE (day), o.clock_offset_s
            FROM daily d LEFT JOIN day_offsets o ON o.day = d.day ORDER BY d.day NULLS LAST""",
        out_dir / "daily.parquet",
    )


def _summary(
    con: Any, sides: tuple[int, int], offset: int | None, result: _PassResult, out_dir: Path
) -> MatchSummary:
    row = con.execute(results_sql.totals_query()).fetchone()
    return MatchSummary.from_totals(sides, row, offset, result.rounds, result.components, out_dir)


def batch_connection(temp_directory: Path, memory_limit: str = DEFAULT_MEMORY_LIMIT) -> Any:
    """A DuckDB database for a batch of runs made one after the other: `match_files`, `read_summary` and
    the rating engine's `rate_usage` each take a cursor of it (`connection=`) instead of opening their own.
    It spills to `temp_directory` past `memory_limit`; the caller closes it."""
    return connect(memory_limit, temp_directory)


def match_files(
    ours: Path, theirs: Path, options: MatchOptions, out_dir: Path, connection: Any = None
) -> MatchSummary:
    """Match `ours` against `theirs` (CSV or Parquet), write the detail files to `out_dir`, return counts.

    With `connection` (from `sources.connect`, used by one matching at a time), the run takes a cursor of it
    instead of a new database (~20 ms of CPU each, which a period of small lines would pay per line); it
    spills to the connection's temp directory, and its tables are dropped or TEMP (gone with the cursor)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    scratch = None
    if connection is None:
        scratch = Path(tempfile.mkdtemp(prefix=".recon-", dir=options.temp_directory or out_dir))
        con = connect(options.memory_limit, scratch, options.threads)
    else:
        con = session(connection.cursor(), options.memory_limit)
    try:
        sides = [("ours", Path(ours), options.ours_plan), ("theirs", Path(theirs), options.theirs_plan)]
        loaded = load_sides(con, sides, options.memory_limit)
        estimate = _estimate_clock(con, options) if options.correct_clock else None
        offset_s = (estimate[0] or 0) if estimate else 0
        con.execute(match_sql.candidates_step("cand", options.time_tolerance_s, offset_s))
        counts = loaded.drop(con)  # all that is needed of them is in `cand`
        result = _settle(con, options, offset_s)
        con.execute(results_sql.unmatched_step("only_ours", "ours", "o_line"))
        con.execute(results_sql.unmatched_step("only_theirs", "theirs", "t_line"))
        con.execute(results_sql.day_facts_step())
        con.execute(results_sql.daily_step())
        offset, per_day = estimate or _offsets(con, results_sql.day_facts_histogram())
        _write_outputs(con, out_dir, per_day)
        return _summary(con, (counts[0], counts[1]), offset, result, out_dir)
    finally:
        con.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
