"""Matching two usage files record by record: `match_files(ours, theirs, options, out_dir) -> MatchSummary`.

Steps: load and normalise both sides (`sources`), flag duplicates, find candidate pairs, settle pairs in
mutual-best rounds (`match_sql`, each round a temp table), solve what is left exactly per component
(`components`), class every record and write `matches.parquet`, `only_ours.parquet`,
`only_theirs.parquet`, `duplicates.parquet` and `daily.parquet` into `out_dir`.
The clock offset (theirs − ours) is the lower median time gap of the unambiguous pairs (both records
with one candidate: round 1). With `correct_clock`, a first pass estimates it with candidates searched
within `clock_window_s` (so an offset larger than the tolerance is seen), and the final pass matches with
their times moved back by it; the offset reported is that estimate. The result is a maximum matching
that prefers duration agreement, then closeness in time (see `match_sql` for why the rounds are exact).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from o2o.reconcile import match_sql
from o2o.reconcile.components import solve_components
from o2o.reconcile.match_model import MatchOptions, MatchSummary
from o2o.reconcile.sources import connect, copy_to_parquet, load_side, sql_day_to_date, sql_key_to_number


@dataclass(frozen=True, slots=True)
class _PassResult:
    tables: list[str]  # the pairs of rounds 2… and of the exact components (round 1 stays in `cand`)
    rounds: int  # rounds that found pairs, round 1 included
    components: int


def _count(con: Any, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _exact_components(con: Any, live: str) -> tuple[str, int]:
    """Solve what the rounds left; the pairs with their gaps in `pairs_exact`."""
    edges = con.execute(f"SELECT o_line, t_line, dgap, tgap FROM {live} ORDER BY o_line, t_line").fetchall()
    result = solve_components(edges)
    con.execute("CREATE OR REPLACE TEMP TABLE exact_keys (o_line BIGINT, t_line BIGINT)")
    if result.pairs:
        con.executemany("INSERT INTO exact_keys VALUES (?, ?)", result.pairs)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE pairs_exact AS
            SELECT e.* FROM {live} e JOIN exact_keys k ON k.o_line = e.o_line AND k.t_line = e.t_line"""
    )
    con.execute("DROP TABLE exact_keys")
    return "pairs_exact", result.components


def _candidates(con: Any, tolerance_s: int, offset_s: int) -> None:
    """`cand` and the records with several candidates (`multi_o`, `multi_t`)."""
    con.execute(match_sql.candidates_step("cand", tolerance_s, offset_s))
    for step in match_sql.contested_steps("cand"):
        con.execute(step)


def _run_rounds(con: Any, options: MatchOptions, offset_s: int) -> _PassResult:
    """Candidates, mutual-best rounds 2… until none is new, then exact components.

    Round 1 (the isolated edges) is not materialised: `classified_step` reads it from `cand`.
    """
    _candidates(con, options.time_tolerance_s, offset_s)
    con.execute(match_sql.contested_edges_step("live_1", "cand"))
    rounds, live = [], "live_1"
    for k in range(2, options.max_rounds + 1):
        pairs = f"pairs_{k}"
        con.execute(match_sql.round_step(pairs, live))
        if _count(con, f"SELECT count(*) FROM {pairs}") == 0:
            con.execute(f"DROP TABLE {pairs}")
            break
        rounds.append(pairs)
        con.execute(match_sql.live_step(f"live_{k}", live, pairs))
        con.execute(f"DROP TABLE {live}")
        live = f"live_{k}"
    exact, components = _exact_components(con, live)
    con.execute(f"DROP TABLE {live}")
    return _PassResult([*rounds, exact], 1 + len(rounds), components)


def _offsets(con: Any, isolated_sql: str) -> tuple[int | None, dict[int, int]]:
    """Overall and per-day clock offsets from the unambiguous pairs selected by `isolated_sql`."""
    overall: int | None = None
    per_day: dict[int, int] = {}
    for day, offset, _ in con.execute(match_sql.offsets_query(isolated_sql)).fetchall():
        if day is None:
            overall = None if offset is None else int(offset)
        elif offset is not None:
            per_day[int(day)] = int(offset)
    return overall, per_day


def _estimate_clock(con: Any, options: MatchOptions) -> tuple[int | None, dict[int, int]]:
    """The clock pass: candidates searched within the clock window, offsets from the isolated edges."""
    _candidates(con, max(options.time_tolerance_s, options.clock_window_s), 0)
    estimate = _offsets(con, match_sql.isolated_select("cand"))
    _drop(con, ["cand", "multi_o", "multi_t"])
    return estimate


def _drop(con: Any, tables: list[str]) -> None:
    for name in tables:
        con.execute(f"DROP TABLE IF EXISTS {name}")


def _write_outputs(con: Any, out_dir: Path, per_day_offsets: dict[int, int]) -> None:
    a, b = sql_key_to_number("o.a_key"), sql_key_to_number("o.b_key")
    copy_to_parquet(
        con,
        f"""SELECT o_line AS ours_line, o_id AS ours_record_id,
                   t_line AS theirs_line, t_id AS theirs_record_id,
                   o_start AS ours_start_epoch, t_start AS theirs_start_epoch,
                   ours_duration_s, theirs_duration_s, time_gap_s, duration_gap_s, class,
                   {sql_day_to_date("day")} AS day
            FROM pairs""",
        out_dir / "matches.parquet",
    )
    for name, side in (("only_ours", "ours"), ("only_theirs", "theirs")):
        copy_to_parquet(
            con,
            f"""SELECT o.line, o.record_id, {a} AS a_number, {b} AS b_number, o.start_epoch, o.duration_s,
                       {sql_day_to_date("u.day")} AS day
                FROM {name} u JOIN {side} o ON o.line = u.line ORDER BY o.line""",
            out_dir / f"{name}.parquet",
        )
    copy_to_parquet(
        con,
        " UNION ALL ".join(
            f"""SELECT '{side}' AS side, o.line, o.record_id, {a} AS a_number, {b} AS b_number,
                       o.start_epoch, o.duration_s
                FROM {side}_dups d JOIN {side} o ON o.line = d.line"""
            for side in ("ours", "theirs")
        )
        + " ORDER BY side, line",
        out_dir / "duplicates.parquet",
    )
    con.execute("CREATE OR REPLACE TEMP TABLE day_offsets (day BIGINT, clock_offset_s BIGINT)")
    if per_day_offsets:
        con.executemany("INSERT INTO day_offsets VALUES (?, ?)", sorted(per_day_offsets.items()))
    copy_to_parquet(
        con,
        f"""SELECT {sql_day_to_date("d.day")} AS day, d.* EXCLUDE (day), o.clock_offset_s
            FROM daily d LEFT JOIN day_offsets o ON o.day = d.day ORDER BY d.day NULLS LAST""",
        out_dir / "daily.parquet",
    )


def _summary(con: Any, offset: int | None, result: _PassResult, out_dir: Path) -> MatchSummary:
    row = con.execute(
        """SELECT count(*),
                  count(*) FILTER (WHERE class = 'exact'),
                  count(*) FILTER (WHERE class = 'partial'),
                  count(*) FILTER (WHERE class = 'duration_mismatch')
           FROM pairs"""
    ).fetchone()
    return MatchSummary(
        ours=_count(con, "SELECT count(*) FROM ours_rec"),
        theirs=_count(con, "SELECT count(*) FROM theirs_rec"),
        matched=int(row[0]),
        exact=int(row[1]),
        partial=int(row[2]),
        duration_mismatch=int(row[3]),
        only_ours=_count(con, "SELECT count(*) FROM only_ours"),
        only_theirs=_count(con, "SELECT count(*) FROM only_theirs"),
        duplicates_ours=_count(con, "SELECT count(*) FROM ours_dups"),
        duplicates_theirs=_count(con, "SELECT count(*) FROM theirs_dups"),
        clock_offset_s=offset,
        rounds=result.rounds,
        contested_components=result.components,
        out_dir=out_dir,
    )


def match_files(ours: Path, theirs: Path, options: MatchOptions, out_dir: Path) -> MatchSummary:
    """Match `ours` against `theirs` (CSV or Parquet), write the detail files to `out_dir`, return counts."""
    out_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".recon-", dir=options.temp_directory or out_dir))
    con = connect(options.memory_limit, scratch, options.threads)
    try:
        load_side(con, "ours", Path(ours), options.ours_plan)
        load_side(con, "theirs", Path(theirs), options.theirs_plan)
        for side in ("ours", "theirs"):
            con.execute(match_sql.duplicates_step(side))
        estimate = _estimate_clock(con, options) if options.correct_clock else None
        result = _run_rounds(con, options, (estimate[0] or 0) if estimate else 0)
        later = [
            f"SELECT o_line, t_line, day, tgap, dgap, o_dur, {match_sql.PAYLOAD}, FALSE FROM {r}"
            for r in result.tables
        ]
        union = " UNION ALL ".join([match_sql.isolated_select("cand"), *later])
        con.execute(match_sql.classified_step(union, options.duration_tolerance_s))
        _drop(con, [*result.tables, "cand", "multi_o", "multi_t"])
        offset, per_day = estimate or _offsets(
            con, "SELECT day, time_gap_s AS tgap FROM pairs WHERE isolated"
        )
        con.execute(match_sql.unmatched_step("only_ours", "ours", "o_line"))
        con.execute(match_sql.unmatched_step("only_theirs", "theirs", "t_line"))
        con.execute(match_sql.daily_step())
        _write_outputs(con, out_dir, per_day)
        return _summary(con, offset, result, out_dir)
    finally:
        con.close()
        shutil.rmtree(scratch, ignore_errors=True)
