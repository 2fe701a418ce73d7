"""Matching two usage files record by record: `match_files(ours, theirs, options, out_dir) -> MatchSummary`.

Steps: load and normalise both sides (`sources`), flag duplicates, find candidate pairs, settle pairs in
mutual-best rounds (`match_sql`, each round a temp table), solve what is left exactly per component
(`components`), class every record and write `matches.parquet`, `only_ours.parquet`,
`only_theirs.parquet`, `duplicates.parquet` and `daily.parquet` into `out_dir`.
The clock offset (theirs − ours) is the median time gap of the unambiguous pairs (both records with
one candidate) of the first round. With `correct_clock`, a first pass estimates it with candidates searched
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
from o2o.reconcile.sources import connect, copy_to_parquet, load_side, sql_day_to_date


@dataclass(frozen=True, slots=True)
class _PassResult:
    pairs_table: str
    rounds: int
    components: int


def _count(con: Any, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _run_rounds(con: Any, options: MatchOptions, offset_s: int, window_s: int | None = None) -> _PassResult:
    """Candidates, then mutual-best rounds until none is new, then exact components; pairs in `pairs`.

    With `window_s` (the clock estimate's pass) candidates are searched that far and only the first
    round is run: its unambiguous pairs are all the estimate needs.
    """
    first_only = window_s is not None
    tolerance = window_s if window_s is not None else options.time_tolerance_s
    con.execute(match_sql.candidates_step("live_0", tolerance, offset_s))
    rounds: list[str] = []
    live = "live_0"
    for k in range(1, options.max_rounds + 1):
        pairs = f"pairs_{k}"
        con.execute(match_sql.round_step(pairs, live, k))
        if _count(con, f"SELECT count(*) FROM {pairs}") == 0:
            con.execute(f"DROP TABLE {pairs}")
            break
        rounds.append(pairs)
        new_live = f"live_{k}"
        con.execute(match_sql.live_step(new_live, live, pairs))
        con.execute(f"DROP TABLE {live}")
        live = new_live
        if first_only:
            break
    con.execute("CREATE OR REPLACE TEMP TABLE pairs_exact (o_line BIGINT, t_line BIGINT)")
    components = 0
    if not first_only:
        edges = con.execute(
            f"SELECT o_line, t_line, dgap, tgap FROM {live} ORDER BY o_line, t_line"
        ).fetchall()
        result = solve_components(edges)
        components = result.components
        if result.pairs:
            con.executemany("INSERT INTO pairs_exact VALUES (?, ?)", result.pairs)
    con.execute(f"DROP TABLE {live}")
    union = " UNION ALL ".join(f"SELECT o_line, t_line FROM {r}" for r in [*rounds, "pairs_exact"])
    con.execute(f"CREATE OR REPLACE TEMP TABLE pairs AS {union}")
    return _PassResult("pairs", len(rounds), components)


def _offsets(con: Any) -> tuple[int | None, dict[int, int]]:
    """Overall and per-day clock offsets from the first round's unambiguous pairs."""
    exists = _count(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'pairs_1'")
    if not exists:
        return None, {}
    overall: int | None = None
    per_day: dict[int, int] = {}
    for day, offset, _ in con.execute(match_sql.offsets_query("pairs_1")).fetchall():
        if day is None:
            overall = None if offset is None else int(offset)
        elif offset is not None:
            per_day[int(day)] = int(offset)
    return overall, per_day


def _drop_rounds(con: Any) -> None:
    for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'pairs_%' OR table_name = 'pairs'"
    ).fetchall():
        con.execute(f"DROP TABLE {name}")


def _write_outputs(
    con: Any, out_dir: Path, duration_tolerance_s: int, per_day_offsets: dict[int, int]
) -> None:
    day = sql_day_to_date("day")
    con.execute(match_sql.matches_step("pairs", duration_tolerance_s))
    con.execute(
        "CREATE OR REPLACE TEMP TABLE only_ours AS " + match_sql.unmatched_select("ours", "ours_line")
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE only_theirs AS " + match_sql.unmatched_select("theirs", "theirs_line")
    )
    con.execute(match_sql.daily_step())
    con.execute("CREATE OR REPLACE TEMP TABLE day_offsets (day BIGINT, clock_offset_s BIGINT)")
    if per_day_offsets:
        con.executemany("INSERT INTO day_offsets VALUES (?, ?)", sorted(per_day_offsets.items()))
    copy_to_parquet(
        con,
        f"SELECT * EXCLUDE (day), {day} AS day FROM matches ORDER BY ours_line",
        out_dir / "matches.parquet",
    )
    for name in ("only_ours", "only_theirs"):
        copy_to_parquet(
            con,
            f"SELECT * EXCLUDE (day), {day} AS day FROM {name} ORDER BY line",
            out_dir / f"{name}.parquet",
        )
    copy_to_parquet(
        con,
        f"""SELECT 'ours' AS side, line, record_id, a_number, b_number, start_epoch, duration_s, {day} AS day
            FROM ours WHERE duplicate
            UNION ALL
            SELECT 'theirs', line, record_id, a_number, b_number, start_epoch, duration_s, {day}
            FROM theirs WHERE duplicate ORDER BY side, line""",
        out_dir / "duplicates.parquet",
    )
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
           FROM matches"""
    ).fetchone()
    side_rows = {
        side: con.execute(f"SELECT count(*), count(*) FILTER (WHERE duplicate) FROM {side}").fetchone()
        for side in ("ours", "theirs")
    }
    return MatchSummary(
        ours=int(side_rows["ours"][0]),
        theirs=int(side_rows["theirs"][0]),
        matched=int(row[0]),
        exact=int(row[1]),
        partial=int(row[2]),
        duration_mismatch=int(row[3]),
        only_ours=_count(con, "SELECT count(*) FROM only_ours"),
        only_theirs=_count(con, "SELECT count(*) FROM only_theirs"),
        duplicates_ours=int(side_rows["ours"][1]),
        duplicates_theirs=int(side_rows["theirs"][1]),
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
            con.execute(match_sql.records_step(side))
            con.execute(f"DROP TABLE {side}_rec")
        window = max(options.time_tolerance_s, options.clock_window_s) if options.correct_clock else None
        result = _run_rounds(con, options, 0, window)
        offset, per_day = _offsets(con)
        if options.correct_clock:
            _drop_rounds(con)
            result = _run_rounds(con, options, offset or 0)
        _write_outputs(con, out_dir, options.duration_tolerance_s, per_day)
        return _summary(con, offset, result, out_dir)
    finally:
        con.close()
        shutil.rmtree(scratch, ignore_errors=True)
