"""The SQL steps of record matching, in the subset DuckDB and Spark SQL both accept.

Each function returns the text of one materialised step (a temp table). The steps read only the tables the
adapter (`sources`) made, `ours_rec` and `theirs_rec`, with integer epoch seconds; every ranking orders by an
explicit key that ends with the unique record key (`line`) and says NULLS LAST.

Why the rounds are exact: a round commits a pair (o, t) only when it is mutually best by
(|duration gap|, |time gap|, line) and one of the two has no other live candidate. Some optimal matching
(maximum, then least total |duration gap|, then least total |time gap|) contains such a pair: if o has
only t and an optimal matching pairs t with o', swapping o' for o keeps its size and does not raise its
cost, and if t were free, adding (o, t) would make it larger.
Pairs both of whose records have other candidates are left for the exact per-component solver.
"""

from __future__ import annotations

SECONDS_PER_DAY = 86400


def records_step(side: str) -> str:
    """`{side}`: the records with their epoch day and the duplicate flag.

    A duplicate repeats (a_number, b_number, start_epoch, duration_s) of an earlier line of the same side;
    records with a missing number or time are never duplicates (they cannot be matched either).
    """
    return f"""
    CREATE OR REPLACE TEMP TABLE {side} AS
    SELECT line, record_id, a_number, b_number, start_epoch, duration_s,
           CAST(floor(start_epoch / {SECONDS_PER_DAY}.0) AS BIGINT) AS day,
           COALESCE(a_number IS NOT NULL AND b_number IS NOT NULL AND start_epoch IS NOT NULL
                    AND row_number() OVER (PARTITION BY a_number, b_number, start_epoch, duration_s
                                           ORDER BY line NULLS LAST) > 1, FALSE) AS duplicate
    FROM {side}_rec
    """


def candidates_step(table: str, tolerance_s: int, offset_s: int) -> str:
    """`{table}`: every pair of live records with equal numbers and start times within the tolerance.

    Their start times are corrected by `offset_s` (theirs − ours). Times are bucketed so the join is an
    equality join: a bucket is wider than twice the tolerance, so their window [s − tol, s + tol] touches at
    most two buckets and each candidate pair is produced exactly once.
    """
    width = max(3600, 2 * tolerance_s + 1)
    live = "NOT duplicate AND a_number IS NOT NULL AND b_number IS NOT NULL AND start_epoch IS NOT NULL"
    return f"""
    CREATE OR REPLACE TEMP TABLE {table} AS
    WITH o AS (
        SELECT line, a_number, b_number, start_epoch, duration_s, day,
               CAST(floor(start_epoch / {width}.0) AS BIGINT) AS bucket
        FROM ours WHERE {live}
    ), t0 AS (
        SELECT line, a_number, b_number, start_epoch - ({offset_s}) AS start_corr, duration_s
        FROM theirs WHERE {live}
    ), t1 AS (
        SELECT t0.*,
               CAST(floor((start_corr - {tolerance_s}) / {width}.0) AS BIGINT) AS lo,
               CAST(floor((start_corr + {tolerance_s}) / {width}.0) AS BIGINT) AS hi
        FROM t0
    ), t AS (
        SELECT line, a_number, b_number, start_corr, duration_s, lo AS bucket FROM t1
        UNION ALL
        SELECT line, a_number, b_number, start_corr, duration_s, hi AS bucket FROM t1 WHERE hi <> lo
    )
    SELECT o.line AS o_line, t.line AS t_line, o.day AS day,
           t.start_corr - o.start_epoch AS tgap,
           t.duration_s - o.duration_s AS dgap
    FROM o JOIN t
      ON o.a_number = t.a_number AND o.b_number = t.b_number AND o.bucket = t.bucket
    WHERE t.start_corr - o.start_epoch BETWEEN -{tolerance_s} AND {tolerance_s}
    """


def round_step(pairs: str, live: str, round_no: int) -> str:
    """`{pairs}`: the safe mutual-best pairs among the `{live}` candidates (see the module's docstring)."""
    return f"""
    CREATE OR REPLACE TEMP TABLE {pairs} AS
    SELECT o_line, t_line, day, tgap, o_deg, t_deg, {round_no} AS round_no
    FROM (
        SELECT o_line, t_line, day, tgap,
               count(*) OVER (PARTITION BY o_line) AS o_deg,
               count(*) OVER (PARTITION BY t_line) AS t_deg,
               row_number() OVER (PARTITION BY o_line
                                  ORDER BY abs(dgap) ASC NULLS LAST, abs(tgap) ASC NULLS LAST,
                                           t_line ASC NULLS LAST) AS o_rank,
               row_number() OVER (PARTITION BY t_line
                                  ORDER BY abs(dgap) ASC NULLS LAST, abs(tgap) ASC NULLS LAST,
                                           o_line ASC NULLS LAST) AS t_rank
        FROM {live}
    ) ranked
    WHERE o_rank = 1 AND t_rank = 1 AND (o_deg = 1 OR t_deg = 1)
    """


def live_step(new_live: str, live: str, pairs: str) -> str:
    """`{new_live}`: the candidates of `{live}` whose two records are both still free after `{pairs}`."""
    return f"""
    CREATE OR REPLACE TEMP TABLE {new_live} AS
    SELECT e.* FROM {live} e
    WHERE NOT EXISTS (SELECT 1 FROM {pairs} p WHERE p.o_line = e.o_line)
      AND NOT EXISTS (SELECT 1 FROM {pairs} p WHERE p.t_line = e.t_line)
    """


def offsets_query(first_round: str) -> str:
    """Median time gap (lower median) of unambiguous pairs, per day and overall (day NULL).

    Unambiguous pairs are the isolated edges of the candidate graph: both records have one candidate.
    """
    return f"""
    SELECT day, percentile_disc(0.5) WITHIN GROUP (ORDER BY tgap) AS offset_s, count(*) AS pairs
    FROM {first_round} WHERE o_deg = 1 AND t_deg = 1
    GROUP BY GROUPING SETS ((day), ())
    """


def matches_step(pairs: str, duration_tolerance_s: int) -> str:
    """`matches`: each pair with both records, the raw gaps (theirs − ours) and its class."""
    return f"""
    CREATE OR REPLACE TEMP TABLE matches AS
    SELECT o.line AS ours_line, o.record_id AS ours_record_id,
           t.line AS theirs_line, t.record_id AS theirs_record_id,
           o.a_number AS a_number, o.b_number AS b_number,
           o.start_epoch AS ours_start_epoch, t.start_epoch AS theirs_start_epoch,
           o.duration_s AS ours_duration_s, t.duration_s AS theirs_duration_s,
           t.start_epoch - o.start_epoch AS time_gap_s,
           t.duration_s - o.duration_s AS duration_gap_s,
           CASE WHEN t.duration_s - o.duration_s = 0 THEN 'exact'
                WHEN abs(t.duration_s - o.duration_s) <= {duration_tolerance_s} THEN 'partial'
                ELSE 'duration_mismatch' END AS class,
           o.day AS day
    FROM {pairs} p
    JOIN ours o ON o.line = p.o_line
    JOIN theirs t ON t.line = p.t_line
    """


def unmatched_select(side: str, key: str) -> str:
    """The records of `side` that are neither duplicates nor in `matches` (joined on `key`)."""
    return f"""
    SELECT r.line, r.record_id, r.a_number, r.b_number, r.start_epoch, r.duration_s, r.day
    FROM {side} r
    WHERE NOT r.duplicate AND NOT EXISTS (SELECT 1 FROM matches m WHERE m.{key} = r.line)
    """


def daily_step() -> str:
    """`daily`: per day, counts by class and the durations each side declared (matched and in all)."""
    return """
    CREATE OR REPLACE TEMP TABLE daily AS
    WITH facts AS (
        SELECT day, class, 1 AS ours_n, 1 AS theirs_n,
               ours_duration_s AS ours_d, theirs_duration_s AS theirs_d FROM matches
        UNION ALL
        SELECT day, 'only_ours', 1, 0, duration_s, 0 FROM only_ours
        UNION ALL
        SELECT day, 'only_theirs', 0, 1, 0, duration_s FROM only_theirs
        UNION ALL
        SELECT day, 'duplicate_ours', 1, 0, 0, 0 FROM ours WHERE duplicate
        UNION ALL
        SELECT day, 'duplicate_theirs', 0, 1, 0, 0 FROM theirs WHERE duplicate
    )
    SELECT day,
           CAST(sum(ours_n) AS BIGINT) AS ours, CAST(sum(theirs_n) AS BIGINT) AS theirs,
           count(*) FILTER (WHERE class IN ('exact', 'partial', 'duration_mismatch')) AS matched,
           count(*) FILTER (WHERE class = 'exact') AS exact,
           count(*) FILTER (WHERE class = 'partial') AS partial,
           count(*) FILTER (WHERE class = 'duration_mismatch') AS duration_mismatch,
           count(*) FILTER (WHERE class = 'only_ours') AS only_ours,
           count(*) FILTER (WHERE class = 'only_theirs') AS only_theirs,
           count(*) FILTER (WHERE class = 'duplicate_ours') AS duplicates_ours,
           count(*) FILTER (WHERE class = 'duplicate_theirs') AS duplicates_theirs,
           CAST(COALESCE(sum(ours_d), 0) AS BIGINT) AS ours_duration_s,
           CAST(COALESCE(sum(theirs_d), 0) AS BIGINT) AS theirs_duration_s,
           CAST(COALESCE(sum(ours_d) FILTER (WHERE class IN ('exact', 'partial', 'duration_mismatch')), 0)
               AS BIGINT) AS matched_ours_duration_s,
           CAST(COALESCE(sum(theirs_d) FILTER (WHERE class IN ('exact', 'partial', 'duration_mismatch')), 0)
               AS BIGINT) AS matched_theirs_duration_s
    FROM facts
    GROUP BY day
    """
