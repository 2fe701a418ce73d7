"""The SQL of record matching's results: the pairs with their classes, the unmatched records, the days.

Portable like `match_sql` (whose tables it reads): `cand` with `multi_o`/`multi_t` (round 1's pairs stay
there), `pairs_c` (the pairs of the later rounds and of the exact components), `{side}_open` (the records
round 1 did not settle) and `{side}_dups`. Gaps are signed theirs − ours on the raw times; the class
follows the duration gap (an unknown duration is a mismatch).
"""

from __future__ import annotations

from collections.abc import Callable

from o2o.reconcile.match_sql import CAND_EDGE, day_of, isolated_where

# The classes of a pair, by their `code` in `pairs` (the adapter names them when writing).
MATCH_CLASSES = ("exact", "partial", "duration_mismatch")


def pairs_view(duration_tolerance_s: int) -> str:
    """`pairs`: every matched pair, classed by `code` (the index of its class in `MATCH_CLASSES`, from the
    duration gap; an unknown duration is a mismatch): round 1's from `cand` (flagged `isolated`), then
    `pairs_c`.

    A view, not a table: the few million round-1 pairs are read where they are, by each of the outputs.
    """
    return f"""
    CREATE OR REPLACE TEMP VIEW pairs AS
    SELECT o_line, t_line, {day_of("o_start")} AS day, t_start - o_start AS time_gap_s,
           t_dur - o_dur AS duration_gap_s, o_dur AS ours_duration_s, t_dur AS theirs_duration_s,
           o_id, t_id, o_start, t_start, isolated,
           CASE WHEN t_dur = o_dur THEN 0 WHEN abs(t_dur - o_dur) <= {duration_tolerance_s} THEN 1
                ELSE 2 END AS code
    FROM (SELECT {CAND_EDGE}, TRUE AS isolated FROM cand c WHERE {isolated_where("c")}
          UNION ALL
          SELECT {CAND_EDGE}, isolated FROM pairs_c) u
    """


def later_pairs_step(tables: list[str], exact: str) -> str:
    """`pairs_c`: the pairs of the later rounds (`tables`, with their `isolated` flag) and of `exact`."""
    parts = [f"SELECT {CAND_EDGE}, isolated FROM {t}" for t in tables]
    parts.append(f"SELECT {CAND_EDGE}, FALSE AS isolated FROM {exact}")
    return "CREATE OR REPLACE TEMP TABLE pairs_c AS " + " UNION ALL ".join(parts)


def gap_histogram_query(isolated: str) -> str:
    """How many unambiguous pairs `isolated` (a SELECT with day and tgap) have each time gap, per day.

    Gaps lie within the search window, so this is a small table; the medians are read off it.
    """
    return f"""
    SELECT day, tgap, count(*) AS pairs
    FROM ({isolated}) i
    GROUP BY day, tgap
    """


def unmatched_step(table: str, side: str, key: str) -> str:
    """`{table}`: the records of `side` neither duplicate nor paired, with their day.

    Only `{side}_open` can hold them: round 1's records are paired.
    """
    return f"""
    CREATE OR REPLACE TEMP TABLE {table} AS
    SELECT r.line, r.record_id, r.a_key, r.b_key, r.start_epoch, r.duration_s, {day_of("r.start_epoch")} AS day
    FROM {side}_open r
    WHERE NOT EXISTS (SELECT 1 FROM {side}_dups d WHERE d.line = r.line)
      AND NOT EXISTS (SELECT 1 FROM pairs_c p WHERE p.{key} = r.line)
    """


def duplicates_select(side: str) -> str:
    """The duplicate records of `side` with their columns (from `{side}_open`, where they all are)."""
    return f"""
    SELECT r.line, r.record_id, r.a_key, r.b_key, r.start_epoch, r.duration_s
    FROM {side}_dups d JOIN {side}_open r ON r.line = d.line
    """


_FACT_CLASSES = (
    *MATCH_CLASSES,
    "only_ours",
    "only_theirs",
    "duplicate_ours",
    "duplicate_theirs",
)


def day_facts_step(group: Callable[[str], str] | None = None) -> str:
    """`day_facts`: records counted per (day, class, gap), summed durations; the gap is the raw time gap of
    an unambiguous pair (`isolated`), else NULL. One pass over the pairs gives the days and the clock.

    The classes are grouped by number (the pairs' `code`, then the unmatched and duplicate records') and
    named on the few grouped rows. With `group` (SQL of a record's group from its line column's name: a
    batch of several matchings in one run, see `batch_match`), the rows are per group as well (`grp`).
    """
    names = " ".join(f"WHEN {i} THEN '{name}'" for i, name in enumerate(_FACT_CLASSES))

    def g(line: str) -> str:
        return f"{group(line)} AS grp, " if group else ""

    grp = "grp, " if group else ""
    return f"""
    CREATE OR REPLACE TEMP TABLE day_facts AS
    WITH facts AS (
        SELECT {g("o_line")}day, code,
               CASE WHEN isolated THEN time_gap_s END AS gap, 1 AS ours_n, 1 AS theirs_n,
               ours_duration_s AS ours_d, theirs_duration_s AS theirs_d FROM pairs
        UNION ALL
        SELECT {g("line")}day, 3, NULL, 1, 0, duration_s, 0 FROM only_ours
        UNION ALL
        SELECT {g("line")}day, 4, NULL, 0, 1, 0, duration_s FROM only_theirs
        UNION ALL
        SELECT {g("line")}{day_of("start_epoch")}, 5, NULL, 1, 0, 0, 0 FROM ({duplicates_select("ours")}) d
        UNION ALL
        SELECT {g("line")}{day_of("start_epoch")}, 6, NULL, 0, 1, 0, 0
        FROM ({duplicates_select("theirs")}) d
    )
    SELECT {grp}day, CASE code {names} END AS class, gap, n, ours_n, theirs_n, ours_d, theirs_d
    FROM (SELECT {grp}day, code, gap, count(*) AS n, sum(ours_n) AS ours_n, sum(theirs_n) AS theirs_n,
                 sum(ours_d) AS ours_d, sum(theirs_d) AS theirs_d
          FROM facts
          GROUP BY {grp}day, code, gap) g
    """


def day_facts_histogram(grouped: bool = False) -> str:
    """The gap histogram (see `gap_histogram_query`) read off `day_facts`; per group first when `grouped`."""
    grp = "grp, " if grouped else ""
    return (
        f"SELECT {grp}day, gap, sum(n) AS pairs FROM day_facts WHERE gap IS NOT NULL GROUP BY {grp}day, gap"
    )


def daily_step(grouped: bool = False) -> str:
    """`daily`: per day, counts by class and the durations each side declared (matched and in all); per
    group and day when `grouped` (`day_facts` made with a group)."""
    grp = "grp, " if grouped else ""
    matched = "class IN ('exact', 'partial', 'duration_mismatch')"
    counts = ", ".join(
        f"CAST(COALESCE(sum(n) FILTER (WHERE {cond}), 0) AS BIGINT) AS {name}"
        for name, cond in (
            ("matched", matched), ("exact", "class = 'exact'"), ("partial", "class = 'partial'"),
            ("duration_mismatch", "class = 'duration_mismatch'"), ("only_ours", "class = 'only_ours'"),
            ("only_theirs", "class = 'only_theirs'"), ("duplicates_ours", "class = 'duplicate_ours'"),
            ("duplicates_theirs", "class = 'duplicate_theirs'"),
        )
    )  # fmt: skip
    return f"""
    CREATE OR REPLACE TEMP TABLE daily AS
    SELECT {grp}day,
           CAST(sum(ours_n) AS BIGINT) AS ours, CAST(sum(theirs_n) AS BIGINT) AS theirs,
           {counts},
           CAST(COALESCE(sum(ours_d), 0) AS BIGINT) AS ours_duration_s,
           CAST(COALESCE(sum(theirs_d), 0) AS BIGINT) AS theirs_duration_s,
           CAST(COALESCE(sum(ours_d) FILTER (WHERE {matched}), 0) AS BIGINT) AS matched_ours_duration_s,
           CAST(COALESCE(sum(theirs_d) FILTER (WHERE {matched}), 0) AS BIGINT) AS matched_theirs_duration_s
    FROM day_facts
    GROUP BY {grp}day
    """


def totals_query(grouped: bool = False) -> str:
    """The run's counts, summed over `daily`; per group (its first column) when `grouped`."""
    names = (
        "matched", "exact", "partial", "duration_mismatch", "only_ours", "only_theirs",
        "duplicates_ours", "duplicates_theirs",
    )  # fmt: skip
    sums = ", ".join(f"CAST(COALESCE(sum({n}), 0) AS BIGINT)" for n in names)
    return f"SELECT grp, {sums} FROM daily GROUP BY grp" if grouped else f"SELECT {sums} FROM daily"
