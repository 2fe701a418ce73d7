"""`match_files_spark`: record matching on Spark with the engine's own step texts.

The same passes as `o2o.reconcile.file_match` (whose DuckDB adapter this mirrors, step for step): the
candidates' FULL JOIN, degrees (the portable `multi_step`), the contested edges, open records and
duplicates, the safe mutual-best rounds until none is new, the exact solve of what is left — connected
components labelled by min-label propagation in SQL, then each component solved by `solve_components` in
a grouped map over Arrow (`applyInArrow`), with its edges in the order the DuckDB adapter gives them —, the
classes, days and the detail files. The clock offsets are lower medians of the same gap histogram.
Outputs are Parquet datasets (a folder per file, as Spark writes) with the DuckDB adapter's columns.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from o2o.reconcile import match_results_sql as results_sql
from o2o.reconcile import match_sql
from o2o.reconcile.components import solve_components
from o2o.reconcile.file_match import offsets_from_histogram
from o2o.reconcile.match_model import MatchOptions, MatchSummary
from o2o.reconcile.match_results_sql import MATCH_CLASSES
from o2o.spark.inputs import register_side
from o2o.spark.session import spark_errors
from o2o.spark.steps import SparkSteps

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_PASS_VIEWS = ["pairs", "multi_o", "multi_t"]
_PASS_TABLES = ["cand", "multi", "ours_open", "theirs_open", "ours_dups", "theirs_dups", "pairs_c"]


def _solver() -> Callable[[pa.Table], pa.Table]:
    """The grouped map of one component: its edges, in (o_line, t_line) order, to the chosen pairs."""

    def solve(edges: pa.Table) -> pa.Table:
        rows = sorted(
            zip(*(edges.column(c).to_pylist() for c in ("o_line", "t_line", "dgap", "tgap")), strict=True)
        )
        pairs = solve_components(rows).pairs
        return pa.table(
            {
                "o_line": pa.array([o for o, _ in pairs], pa.int32()),
                "t_line": pa.array([t for _, t in pairs], pa.int32()),
            }
        )

    return solve


def _exact_components(steps: SparkSteps, live: str) -> tuple[str, int]:
    """Solve what the rounds left; the pairs with their gaps in `pairs_exact`, and the components with
    more than one edge."""
    spark = steps.spark
    steps.table(
        "comp_0", spark.sql(f"SELECT o_line, t_line, t_dur - o_dur AS dgap, tgap, o_line AS comp FROM {live}")
    )
    label, k = "comp_0", 0
    total = spark.sql(f"SELECT sum(CAST(comp AS BIGINT)) FROM {label}").collect()[0][0]
    while True:  # labels only fall: an unchanged sum means no label changed
        k += 1
        steps.table(
            f"comp_{k}",
            spark.sql(
                f"""SELECT o_line, t_line, dgap, tgap, min(comp_t) OVER (PARTITION BY o_line) AS comp
                    FROM (SELECT *, min(comp) OVER (PARTITION BY t_line) AS comp_t FROM {label}) x"""
            ),
        )
        steps.drop(label)
        label = f"comp_{k}"
        now = spark.sql(f"SELECT sum(CAST(comp AS BIGINT)) FROM {label}").collect()[0][0]
        if now == total:
            break
        total = now
    components = int(
        spark.sql(
            f"SELECT count(*) FROM (SELECT comp FROM {label} GROUP BY comp HAVING count(*) > 1)"
        ).collect()[0][0]
    )
    solved = spark.table(label).groupBy("comp").applyInArrow(_solver(), "o_line INT, t_line INT")
    steps.table("exact_keys", solved)
    steps.drop(label)
    steps.run(
        f"""CREATE OR REPLACE TEMP TABLE pairs_exact AS
            SELECT e.* FROM {live} e JOIN exact_keys k ON k.o_line = e.o_line AND k.t_line = e.t_line"""
    )
    steps.drop("exact_keys")
    return "pairs_exact", components


def _settle(steps: SparkSteps, options: MatchOptions, offset_s: int) -> tuple[int, int]:
    """As `file_match._settle`: (rounds that found pairs with round 1, contested components)."""
    for text in [
        match_sql.multi_step("cand"),
        *match_sql.multi_views(),
        match_sql.contested_edges_step("contested", "cand", offset_s),
    ]:
        steps.run(text)
    for side in ("ours", "theirs"):
        steps.run(match_sql.open_step(side, "cand", "contested"))
        steps.run(match_sql.duplicates_step(side))
    steps.run(match_sql.live_of_contested_step("live_1", "contested"))
    steps.drop("contested")
    rounds, live, found = [], "live_1", 0
    for k in range(2, options.max_rounds + 1):
        pairs = f"pairs_{k}"
        steps.run(match_sql.round_step(pairs, live, first=k == 2))
        # One job: the round's pairs, and whether any was contested (round 1's isolated ones were not).
        size, contested = steps.spark.sql(f"SELECT count(*), count_if(NOT isolated) FROM {pairs}").collect()[
            0
        ]
        if size == 0:
            steps.drop(pairs)
            break
        if k > 2 or contested:
            found += 1
        rounds.append(pairs)
        steps.run(match_sql.live_step(f"live_{k}", live, pairs))
        steps.drop(live)
        live = f"live_{k}"
    exact, components = _exact_components(steps, live)
    steps.run(results_sql.later_pairs_step(rounds, exact))
    steps.drop(live, exact, *rounds)
    steps.run(results_sql.pairs_view(options.duration_tolerance_s))
    return 1 + found, components


def _offsets(spark: SparkSession, histogram_sql: str) -> tuple[int | None, dict[int, int]]:
    """As `file_match._offsets`: overall and per-day lower medians of the histogram's gaps."""
    return offsets_from_histogram(spark.sql(histogram_sql).collect())


def _estimate_clock(steps: SparkSteps, options: MatchOptions) -> tuple[int | None, dict[int, int]]:
    steps.run(match_sql.candidates_step("cand", max(options.time_tolerance_s, options.clock_window_s), 0))
    _settle(steps, options, 0)
    isolated = "SELECT day, time_gap_s AS tgap FROM pairs WHERE isolated"
    estimate = _offsets(steps.spark, results_sql.gap_histogram_query(isolated))
    steps.drop(*_PASS_VIEWS, *_PASS_TABLES)
    return estimate


def _class_name(code: str) -> str:
    return f"CASE {code} " + " ".join(f"WHEN {i} THEN '{n}'" for i, n in enumerate(MATCH_CLASSES)) + " END"


def _date(day: str) -> str:
    return f"date_add(DATE '1970-01-01', CAST({day} AS INT))"


def _number(key: str) -> str:
    return f"substr(CAST({key} AS STRING), 2)"


def _write(spark: SparkSession, select: str, out: str) -> None:
    spark.sql(select).write.mode("overwrite").parquet(out)


def _write_outputs(spark: SparkSession, out: str, per_day: dict[int, int]) -> None:
    """The detail files with the DuckDB adapter's columns and types (`file_match._write_outputs`)."""
    wide = "CAST({} AS BIGINT)".format
    a, b = _number("a_key"), _number("b_key")
    _write(
        spark,
        f"""SELECT {wide("o_line")} AS ours_line, o_id AS ours_record_id,
                   {wide("t_line")} AS theirs_line, t_id AS theirs_record_id,
                   o_start AS ours_start_epoch, t_start AS theirs_start_epoch,
                   {wide("ours_duration_s")} AS ours_duration_s, {wide("theirs_duration_s")} AS theirs_duration_s,
                   time_gap_s, {wide("duration_gap_s")} AS duration_gap_s, {_class_name("code")} AS class,
                   {_date("day")} AS day
            FROM pairs""",
        f"{out}/matches.parquet",
    )
    for name in ("only_ours", "only_theirs"):
        _write(
            spark,
            f"""SELECT {wide("line")} AS line, record_id, {a} AS a_number, {b} AS b_number, start_epoch,
                       {wide("duration_s")} AS duration_s, {_date("day")} AS day
                FROM {name} ORDER BY line""",
            f"{out}/{name}.parquet",
        )
    _write(
        spark,
        " UNION ALL ".join(
            f"""SELECT '{side}' AS side, {wide("line")} AS line, CAST(record_id AS STRING) AS record_id,
                       {a} AS a_number, {b} AS b_number, start_epoch, {wide("duration_s")} AS duration_s
                FROM ({results_sql.duplicates_select(side)}) d"""
            for side in ("ours", "theirs")
        )
        + " ORDER BY side, line",
        f"{out}/duplicates.parquet",
    )
    offsets = spark.createDataFrame(sorted(per_day.items()), "day BIGINT, clock_offset_s BIGINT")
    offsets.createOrReplaceTempView("day_offsets")
    columns = ", ".join(f"d.{c}" for c in spark.table("daily").columns if c != "day")
    _write(
        spark,
        f"""SELECT {_date("d.day")} AS day, {columns}, o.clock_offset_s
            FROM daily d LEFT JOIN day_offsets o ON o.day = d.day ORDER BY d.day NULLS LAST""",
        f"{out}/daily.parquet",
    )
    spark.catalog.dropTempView("day_offsets")


def match_files_spark(
    spark: SparkSession, ours: str | Path, theirs: str | Path, options: MatchOptions, out_dir: str | Path
) -> MatchSummary:
    """Match `ours` against `theirs` on `spark` (the caller's session, or `spark_session(master)`), write
    the detail files under `out_dir` (any path Spark writes), return the counts: identical to
    `o2o.reconcile.match_files` on the same files."""
    with spark_errors():  # Spark's errors carry the JVM's trace: the user gets its first line
        return _match(spark, str(ours), str(theirs), options, str(out_dir).rstrip("/"))


def _match(spark: SparkSession, ours: str, theirs: str, options: MatchOptions, out: str) -> MatchSummary:
    local_out = Path(out) if "://" not in out else None
    if local_out is not None:
        local_out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".recon-spark-", dir=options.temp_directory))
    steps = SparkSteps(spark)
    try:
        counts = (
            register_side(spark, "ours", ours, options.ours_plan, scratch),
            register_side(spark, "theirs", theirs, options.theirs_plan, scratch),
        )
        estimate = _estimate_clock(steps, options) if options.correct_clock else None
        offset_s = (estimate[0] or 0) if estimate else 0
        steps.run(match_sql.candidates_step("cand", options.time_tolerance_s, offset_s))
        rounds, components = _settle(steps, options, offset_s)
        steps.run(results_sql.unmatched_step("only_ours", "ours", "o_line"))
        steps.run(results_sql.unmatched_step("only_theirs", "theirs", "t_line"))
        steps.run(results_sql.day_facts_step())
        steps.run(results_sql.daily_step())
        offset, per_day = estimate or _offsets(spark, results_sql.day_facts_histogram())
        _write_outputs(spark, out, per_day)
        row = spark.sql(results_sql.totals_query()).collect()[0]
        return MatchSummary.from_totals(counts, row, offset, rounds, components, local_out)
    finally:
        steps.drop(*_PASS_VIEWS, *_PASS_TABLES, "only_ours", "only_theirs", "day_facts", "daily")
        for view in ("ours", "theirs", "ours_keyed", "theirs_keyed", "ours_raw_lines", "theirs_raw_lines"):
            spark.catalog.dropTempView(view)
        shutil.rmtree(scratch, ignore_errors=True)
