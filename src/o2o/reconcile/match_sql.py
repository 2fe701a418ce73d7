"""The SQL steps that settle record matching, in the subset DuckDB and Spark SQL both accept.

Each function returns the text of one materialised step (a temp table). The steps read only the views the
adapter (`sources`) made, `ours` and `theirs` (line, record_id, a_key, b_key, start_epoch, duration_s), with
integer keys and epoch seconds; every ranking orders by an explicit key that ends with the unique record
key (`line`) and says NULLS LAST.

One pass does the bulk: `cand` is a FULL JOIN of the two sides on (a, b, time bucket) with the tolerance
band, so it holds every candidate edge *and* every record without a candidate (a row with the other side
NULL), each with the columns the detail files need. Degrees come from two aggregates on the integer lines
(`multi`, read as `multi_o` and `multi_t`; the adapter may count them its own way, `multi_step` is the
reference); an edge both of whose records have one candidate is settled there (round 1) and never copied
again. Only the contested edges and the candidate-less records (`{side}_open`, a few per
cent) are copied on: duplicates are looked for among them alone, which finds every one, because records
repeating (a, b, start, duration) have the same candidates: none (both candidate-less) or some, each of
which then has two candidates (all contested).

Why the rounds are exact: a round commits a pair (o, t) only when it is mutually best by
(|duration gap|, |time gap|, line) and one of the two has no other live candidate. Some optimal matching
(maximum, then least total |duration gap|, then least total |time gap|) contains such a pair: if o has
only t and an optimal matching pairs t with o', swapping o' for o keeps its size and does not raise its
cost, and if t were free, adding (o, t) would make it larger.
Pairs both of whose records have other candidates are left for the exact per-component solver.
"""

from __future__ import annotations

SECONDS_PER_DAY = 86400
# The columns of a candidate edge (a row of `cand` with both sides), what the detail files need; the
# contested edges carry their corrected time gap as well (`tgap`, theirs − offset − ours).
CAND_EDGE = "a_key, b_key, o_line, t_line, o_id, t_id, o_start, t_start, o_dur, t_dur"
EDGE = CAND_EDGE + ", tgap"
_MATCHABLE = "r.a_key IS NOT NULL AND r.b_key IS NOT NULL AND r.start_epoch IS NOT NULL"
BOTH = "o_line IS NOT NULL AND t_line IS NOT NULL"


def day_of(epoch: str) -> str:
    """SQL for the UTC epoch day of an epoch-seconds column."""
    return f"CAST(floor({epoch} / {SECONDS_PER_DAY}.0) AS BIGINT)"


def candidates_step(table: str, tolerance_s: int, offset_s: int) -> str:
    """`{table}`: the FULL JOIN of the sides on equal numbers and start times within the tolerance.

    Their start times are corrected by `offset_s` (theirs − ours) for the band. Times are
    bucketed so the join is an equality join: a bucket is wider than twice the tolerance, so their window
    [s − tol, s + tol] touches at most two buckets and their record is repeated in the second one
    (`spill`); each candidate pair is produced exactly once. A row with one side NULL is a record without a
    candidate in that bucket: a spilled copy's such rows are dropped, and an unspilled copy's is wrong only
    when the spilled copy found a candidate (`open_step` leaves those out).
    """
    width = max(3600, 2 * tolerance_s + 1)
    return f"""
    CREATE OR REPLACE TEMP TABLE {table} AS
    WITH o AS (
        SELECT line, record_id, a_key, b_key, start_epoch, duration_s,
               CAST(floor(start_epoch / {width}.0) AS BIGINT) AS bucket
        FROM ours
    ), t1 AS (
        SELECT line, record_id, a_key, b_key, start_epoch, duration_s,
               CAST(floor((start_epoch - ({offset_s}) - {tolerance_s}) / {width}.0) AS BIGINT) AS lo,
               CAST(floor((start_epoch - ({offset_s}) + {tolerance_s}) / {width}.0) AS BIGINT) AS hi
        FROM theirs
    ), t AS (
        SELECT line, record_id, a_key, b_key, start_epoch, duration_s,
               lo + k.i AS bucket, k.i = 1 AS spill
        FROM t1 CROSS JOIN (VALUES (0), (1)) AS k(i)
        WHERE k.i = 0 OR hi <> lo
    )
    SELECT COALESCE(o.a_key, t.a_key) AS a_key, COALESCE(o.b_key, t.b_key) AS b_key,
           o.line AS o_line, t.line AS t_line, o.record_id AS o_id, t.record_id AS t_id,
           o.start_epoch AS o_start, t.start_epoch AS t_start, o.duration_s AS o_dur, t.duration_s AS t_dur,
           t.spill
    FROM o FULL JOIN t
      ON o.a_key = t.a_key AND o.b_key = t.b_key AND o.bucket = t.bucket
     AND t.start_epoch - ({offset_s}) - o.start_epoch BETWEEN -{tolerance_s} AND {tolerance_s}
    WHERE o.line IS NOT NULL OR NOT t.spill
    """


def multi_step(cand: str) -> str:
    """`multi`: the records with more than one candidate (aggregates on integer lines), both sides from one
    statement, one of its two columns set per row (`o_line` or `t_line`, typed as the lines are)."""
    both = " UNION ALL ".join(
        f"""SELECT {"o_line" if s == "o" else "NULL"} AS o_line, {"t_line" if s == "t" else "NULL"} AS t_line
            FROM {cand} WHERE {BOTH} GROUP BY {s}_line HAVING count(*) > 1"""
        for s in ("o", "t")
    )
    return f"CREATE OR REPLACE TEMP TABLE multi AS {both}"


def multi_views() -> list[str]:
    """`multi_o`/`multi_t`: the lines of each side in `multi` (made by `multi_step` or by the adapter)."""
    return [
        "CREATE OR REPLACE TEMP VIEW multi_o AS SELECT o_line FROM multi WHERE o_line IS NOT NULL",
        "CREATE OR REPLACE TEMP VIEW multi_t AS SELECT t_line FROM multi WHERE t_line IS NOT NULL",
    ]


def isolated_where(alias: str) -> str:
    """The condition on a `cand` row (`alias`) of round 1: an edge both of whose records have one candidate.

    They are mutual-best pairs of degree one, so safe; they are also the unambiguous pairs of the
    clock offset estimate. They stay in `cand`, never copied.
    """
    return f"""{alias}.o_line IS NOT NULL AND {alias}.t_line IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM multi_o m WHERE m.o_line = {alias}.o_line)
      AND NOT EXISTS (SELECT 1 FROM multi_t m WHERE m.t_line = {alias}.t_line)"""


def contested_edges_step(table: str, cand: str, offset_s: int) -> str:
    """`{table}`: the candidate edges left after round 1 (those touching a record with several), with their
    time gap corrected by `offset_s`."""
    return f"""
    CREATE OR REPLACE TEMP TABLE {table} AS
    SELECT {CAND_EDGE}, c.t_start - ({offset_s}) - c.o_start AS tgap FROM {cand} c
    WHERE c.o_line IS NOT NULL AND c.t_line IS NOT NULL
      AND (c.o_line IN (SELECT o_line FROM multi_o) OR c.t_line IN (SELECT t_line FROM multi_t))
    """


def open_step(side: str, cand: str, contested: str) -> str:
    """`{side}_open`: the records of `side` round 1 did not settle (candidate-less or contested), as
    `(line, record_id, a_key, b_key, start_epoch, duration_s)`; the copies of the few records whose
    spilled copy found a candidate are not candidate-less."""
    s, other = ("o", "t") if side == "ours" else ("t", "o")
    cols = f"{s}_line AS line, {s}_id AS record_id, a_key, b_key, {s}_start AS start_epoch, {s}_dur AS duration_s"
    spilled = ""
    if side == "theirs":
        spilled = f"""AND NOT EXISTS (SELECT 1 FROM {cand} x
                                      WHERE x.spill AND x.o_line IS NOT NULL AND x.t_line = c.t_line)"""
    return f"""
    CREATE OR REPLACE TEMP TABLE {side}_open AS
    SELECT {cols} FROM {cand} c WHERE c.{other}_line IS NULL {spilled}
    UNION
    SELECT {cols} FROM {contested}
    """


def duplicates_step(side: str) -> str:
    """`{side}_dups(line)`: the records of `{side}_open` repeating (a, b, start, duration) of an earlier line.

    Records with a missing number or time are never duplicates (they cannot be matched either).
    """
    return f"""
    CREATE OR REPLACE TEMP TABLE {side}_dups AS
    SELECT r.line
    FROM {side}_open r
    JOIN (SELECT a_key, b_key, start_epoch, duration_s, min(line) AS first_line FROM {side}_open r
          WHERE {_MATCHABLE}
          GROUP BY a_key, b_key, start_epoch, duration_s HAVING count(*) > 1) g
      ON r.a_key = g.a_key AND r.b_key = g.b_key AND r.start_epoch = g.start_epoch
     AND r.duration_s IS NOT DISTINCT FROM g.duration_s
    WHERE r.line <> g.first_line
    """


def live_of_contested_step(live: str, contested: str) -> str:
    """`{live}`: the contested edges neither of whose records is a duplicate."""
    return f"""
    CREATE OR REPLACE TEMP TABLE {live} AS
    SELECT c.* FROM {contested} c
    WHERE NOT EXISTS (SELECT 1 FROM ours_dups d WHERE d.line = c.o_line)
      AND NOT EXISTS (SELECT 1 FROM theirs_dups d WHERE d.line = c.t_line)
    """


def round_step(pairs: str, live: str, first: bool) -> str:
    """`{pairs}`: the safe mutual-best pairs among the `{live}` candidates (see the module's docstring).

    In the first round over the contested edges, an edge both of whose records have one live candidate is
    isolated (its rival was a duplicate): flagged so, as round 1's edges are.
    """
    isolated = "o_deg = 1 AND t_deg = 1" if first else "FALSE"
    return f"""
    CREATE OR REPLACE TEMP TABLE {pairs} AS
    SELECT {EDGE}, {isolated} AS isolated
    FROM (
        SELECT {EDGE},
               count(*) OVER (PARTITION BY o_line) AS o_deg,
               count(*) OVER (PARTITION BY t_line) AS t_deg,
               row_number() OVER (PARTITION BY o_line
                                  ORDER BY abs(t_dur - o_dur) ASC NULLS LAST, abs(tgap) ASC NULLS LAST,
                                           t_line ASC NULLS LAST) AS o_rank,
               row_number() OVER (PARTITION BY t_line
                                  ORDER BY abs(t_dur - o_dur) ASC NULLS LAST, abs(tgap) ASC NULLS LAST,
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
