"""The SQL steps of record matching, in the subset DuckDB and Spark SQL both accept.

Each function returns the text of one materialised step (a temp table). The steps read only the views the
adapter (`sources`) made, `ours` and `theirs` (line, record_id, a_key, b_key, start_epoch, duration_s), with
integer keys and epoch seconds; every ranking orders by an explicit key that ends with the unique record
key (`line`) and says NULLS LAST. Round 1 takes the isolated edges (both records have one candidate) with
hash aggregates; later rounds rank what is left with window functions.

Why the rounds are exact: a round commits a pair (o, t) only when it is mutually best by
(|duration gap|, |time gap|, line) and one of the two has no other live candidate. Some optimal matching
(maximum, then least total |duration gap|, then least total |time gap|) contains such a pair: if o has
only t and an optimal matching pairs t with o', swapping o' for o keeps its size and does not raise its
cost, and if t were free, adding (o, t) would make it larger.
Pairs both of whose records have other candidates are left for the exact per-component solver.
"""

from __future__ import annotations

SECONDS_PER_DAY = 86400
# What a candidate edge carries for the detail files, so that writing them needs no join back.
PAYLOAD = "o_id, t_id, o_start, t_start, t_dur"
_MATCHABLE = "r.a_key IS NOT NULL AND r.b_key IS NOT NULL AND r.start_epoch IS NOT NULL"


def duplicates_step(side: str) -> str:
    """`{side}_dups(line)`: the records repeating (a, b, start, duration) of an earlier line of `side`.

    Groups are found by a hash aggregate; only the few repeated records are joined back.
    Records with a missing number or time are never duplicates (they cannot be matched either).
    """
    return f"""
    CREATE OR REPLACE TEMP TABLE {side}_dups AS
    SELECT r.line
    FROM {side} r
    JOIN (SELECT a_key, b_key, start_epoch, duration_s, min(line) AS first_line FROM {side} r
          WHERE {_MATCHABLE}
          GROUP BY a_key, b_key, start_epoch, duration_s HAVING count(*) > 1) g
      ON r.a_key = g.a_key AND r.b_key = g.b_key AND r.start_epoch = g.start_epoch
     AND r.duration_s IS NOT DISTINCT FROM g.duration_s
    WHERE r.line <> g.first_line
    """


def _live(side: str) -> str:
    return f"{_MATCHABLE} AND NOT EXISTS (SELECT 1 FROM {side}_dups d WHERE d.line = r.line)"


def candidates_step(table: str, tolerance_s: int, offset_s: int) -> str:
    """`{table}`: every pair of live records with equal numbers and start times within the tolerance.

    Their start times are corrected by `offset_s` (theirs − ours); `tgap` is the corrected gap, `dgap`
    the duration gap. Times are bucketed so the join is an equality join: a bucket is wider than twice
    the tolerance, so their window [s − tol, s + tol] touches at most two buckets and each candidate
    pair is produced exactly once.
    """
    width = max(3600, 2 * tolerance_s + 1)
    return f"""
    CREATE OR REPLACE TEMP TABLE {table} AS
    WITH o AS (
        SELECT r.line, r.record_id, r.a_key, r.b_key, r.start_epoch, r.duration_s,
               CAST(floor(r.start_epoch / {width}.0) AS BIGINT) AS bucket
        FROM ours r WHERE {_live("ours")}
    ), t0 AS (
        SELECT r.line, r.record_id, r.a_key, r.b_key, r.start_epoch,
               r.start_epoch - ({offset_s}) AS start_corr, r.duration_s
        FROM theirs r WHERE {_live("theirs")}
    ), t1 AS (
        SELECT t0.*,
               CAST(floor((start_corr - {tolerance_s}) / {width}.0) AS BIGINT) AS lo,
               CAST(floor((start_corr + {tolerance_s}) / {width}.0) AS BIGINT) AS hi
        FROM t0
    ), t AS (
        SELECT line, record_id, a_key, b_key, start_epoch, start_corr, duration_s, lo + k.i AS bucket
        FROM t1 CROSS JOIN (VALUES (0), (1)) AS k(i)
        WHERE k.i = 0 OR hi <> lo
    )
    SELECT o.line AS o_line, t.line AS t_line,
           CAST(floor(o.start_epoch / {SECONDS_PER_DAY}.0) AS BIGINT) AS day,
           t.start_corr - o.start_epoch AS tgap,
           t.duration_s - o.duration_s AS dgap,
           o.duration_s AS o_dur,
           o.record_id AS o_id, t.record_id AS t_id,
           o.start_epoch AS o_start, t.start_epoch AS t_start, t.duration_s AS t_dur
    FROM o JOIN t
      ON o.a_key = t.a_key AND o.b_key = t.b_key AND o.bucket = t.bucket
    WHERE t.start_corr - o.start_epoch BETWEEN -{tolerance_s} AND {tolerance_s}
    """


def contested_steps(cand: str) -> list[str]:
    """`multi_o`/`multi_t`: the records with more than one candidate (hash aggregates, no sort)."""
    return [
        f"""CREATE OR REPLACE TEMP TABLE multi_{s} AS
            SELECT {s}_line FROM {cand} GROUP BY {s}_line HAVING count(*) > 1"""
        for s in ("o", "t")
    ]


def isolated_select(cand: str) -> str:
    """Round 1: the isolated candidate edges (both records have one candidate), flagged `isolated`.

    They are mutual-best pairs of degree one, so safe; they are also the unambiguous pairs of the
    clock offset estimate. Not materialised: they go straight into `pairs` (`classified_step`).
    """
    return f"""
    SELECT c.o_line, c.t_line, c.day, c.tgap, c.dgap, c.o_dur, {", ".join("c." + p for p in PAYLOAD.split(", "))},
           TRUE AS isolated
    FROM {cand} c
    WHERE NOT EXISTS (SELECT 1 FROM multi_o m WHERE m.o_line = c.o_line)
      AND NOT EXISTS (SELECT 1 FROM multi_t m WHERE m.t_line = c.t_line)
    """


def contested_edges_step(live: str, cand: str) -> str:
    """`{live}`: the candidate edges left after round 1 (those touching a record with several)."""
    return f"""
    CREATE OR REPLACE TEMP TABLE {live} AS
    SELECT c.* FROM {cand} c
    WHERE c.o_line IN (SELECT o_line FROM multi_o) OR c.t_line IN (SELECT t_line FROM multi_t)
    """


def round_step(pairs: str, live: str) -> str:
    """`{pairs}`: the safe mutual-best pairs among the `{live}` candidates (see the module's docstring)."""
    return f"""
    CREATE OR REPLACE TEMP TABLE {pairs} AS
    SELECT o_line, t_line, day, tgap, dgap, o_dur, {PAYLOAD}
    FROM (
        SELECT o_line, t_line, day, tgap, dgap, o_dur, {PAYLOAD},
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


def offsets_query(isolated: str) -> str:
    """Median time gap (lower median) of the unambiguous pairs `isolated` (a SELECT with day and tgap),
    per day and overall (day NULL)."""
    return f"""
    SELECT day, percentile_disc(0.5) WITHIN GROUP (ORDER BY tgap) AS offset_s, count(*) AS pairs
    FROM ({isolated}) i
    GROUP BY GROUPING SETS ((day), ())
    """


def classified_step(union_sql: str, duration_tolerance_s: int) -> str:
    """`pairs`: every matched pair with its raw time gap (theirs − ours), duration gap and class.

    `union_sql` gives the candidate columns and `isolated` of every pair chosen (round 1, later rounds,
    exact components).
    """
    return f"""
    CREATE OR REPLACE TEMP TABLE pairs AS
    SELECT o_line, t_line, day, t_start - o_start AS time_gap_s, dgap AS duration_gap_s,
           o_dur AS ours_duration_s, t_dur AS theirs_duration_s, {PAYLOAD}, isolated,
           CASE WHEN dgap = 0 THEN 'exact'
                WHEN abs(dgap) <= {duration_tolerance_s} THEN 'partial'
                ELSE 'duration_mismatch' END AS class
    FROM ({union_sql}) u
    """


def unmatched_step(table: str, side: str, key: str) -> str:
    """`{table}`: the line, day and duration of the records of `side` neither duplicate nor paired."""
    return f"""
    CREATE OR REPLACE TEMP TABLE {table} AS
    SELECT r.line, CAST(floor(r.start_epoch / {SECONDS_PER_DAY}.0) AS BIGINT) AS day, r.duration_s
    FROM {side} r
    WHERE NOT EXISTS (SELECT 1 FROM {side}_dups d WHERE d.line = r.line)
      AND NOT EXISTS (SELECT 1 FROM pairs p WHERE p.{key} = r.line)
    """


def daily_step() -> str:
    """`daily`: per day, counts by class and the durations each side declared (matched and in all)."""
    return f"""
    CREATE OR REPLACE TEMP TABLE daily AS
    WITH facts AS (
        SELECT day, class, 1 AS ours_n, 1 AS theirs_n,
               ours_duration_s AS ours_d, theirs_duration_s AS theirs_d FROM pairs
        UNION ALL
        SELECT day, 'only_ours', 1, 0, duration_s, 0 FROM only_ours
        UNION ALL
        SELECT day, 'only_theirs', 0, 1, 0, duration_s FROM only_theirs
        UNION ALL
        SELECT CAST(floor(r.start_epoch / {SECONDS_PER_DAY}.0) AS BIGINT), 'duplicate_ours', 1, 0, 0, 0
        FROM ours_dups d JOIN ours r ON r.line = d.line
        UNION ALL
        SELECT CAST(floor(r.start_epoch / {SECONDS_PER_DAY}.0) AS BIGINT), 'duplicate_theirs', 0, 1, 0, 0
        FROM theirs_dups d JOIN theirs r ON r.line = d.line
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
