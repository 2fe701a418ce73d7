"""`rate_usage_spark`: the rating engine's steps on Spark, the twin of `o2o.rating.engine`'s DuckDB adapter.

The rules are the step texts of `o2o.rating.steps` (clock, bands and increments, longest prefix, the rate
in force, tiers, exact rounding), generated from the same context (`engine.step_context`, the deck of
`o2o.rating.deck`) with the Spark `Dialect` (`div`, DECIMAL(38, 0) for 128-bit arithmetic). What this
adapter spells itself, outside the step texts:
- the usage: each lake Parquet file read by Spark (local or any filesystem Spark reads), its canonical
  columns cast as the DuckDB adapter casts them (a column a file lacks is NULL), `src` the file's index;
- the deck's small tables: Spark DataFrames of the deck's Arrow tables (plain strings where DuckDB makes
  ENUMs; the names are the same);
- the outputs: `rated.parquet`, `summary.parquet` and `unrated.parquet` as Parquet folders (Spark's
  `part-…` files) with the DuckDB adapter's columns and types (the day a DATE by `date_add`), the summary
  read back from the rated folder as DuckDB reads it back from the rated file; the totals and the line
  amount by the DuckDB adapter's own `line_amounts`.
The step views stay lazy: the rated and unrated writes each run the steps once over the usage (DuckDB's
pass 2 re-runs them too). A tiered service's cumulative window orders every record in one partition, as
the rule demands (each record's price depends on all before it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from o2o.domain.agreements import Agreement
from o2o.domain.periods import Period
from o2o.domain.usage import CANONICAL_COLUMNS
from o2o.rating import steps
from o2o.rating.engine import (
    RATED_FILE,
    STATS_SQL,
    SUMMARY_FILE,
    UNRATED_FILE,
    check_usage,
    line_amounts,
    max_price,
    step_context,
)
from o2o.rating.exact import MICROS, UNROUNDED_PLACES, Dialect
from o2o.rating.result import QUANTITY_UNITS, RatingResult
from o2o.spark.session import spark_errors

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SPARK = Dialect(name="spark", int128="DECIMAL(38, 0)")
_PRECISION_LOSS = "spark.sql.decimalOperations.allowPrecisionLoss"

# DuckDB's type names of the canonical columns, as Spark spells them.
_SPARK_TYPES = {"BIGINT": "BIGINT", "VARCHAR": "STRING"}
_INPUT_COLS = (
    "CAST(src AS INT) AS src, CAST(line AS BIGINT) AS line, record_id, service, a_number, b_number, "
    "CAST(start_epoch AS BIGINT) AS start_epoch, CAST(duration_s AS BIGINT) AS duration_s, "
    "CAST(volume AS BIGINT) AS volume, route"
)
_DAY_SQL = "date_add(DATE '1970-01-01', CAST(local_day AS INT))"
_DECK_TABLES = ("deck_prefixes", "deck_pids", "deck_expanded", "deck_rates", "deck_names")
# The DuckDB adapter's tables and views of the steps, in its order (each a lazy view here).
_STEP_VIEWS: dict[str, Callable[[steps.StepContext], str]] = {
    "rating_rates": steps.prefix_rates_select,
    "rating_names": steps.prefix_names_select,
    "rating_declared": lambda _: steps.declared_select(),
    "rating_clock": steps.clock_view,
    "rating_banded": steps.banded_view,
    "rating_destined": steps.destined_view,
    "rating_priced": steps.priced_view,
    "rating_records": steps.records_view,
}


def rate_usage_spark(
    spark: SparkSession,
    agreement: Agreement,
    service_id: str,
    usage_paths: Sequence[Path | str],
    out_dir: Path | str,
    period: Period | None = None,
    *,
    usage_columns: bool = True,
) -> RatingResult:
    """Price the usage of `service_id` in `usage_paths` (canonical lake Parquet) on `spark` and write the
    rated, summary and unrated Parquet folders under `out_dir`: the records, figures and amounts
    `o2o.rating.rate_usage` gives on the same files (the rated records keyed by (src, line) alone without
    `usage_columns`, as `rate_groups` writes them). The result's paths are None when `out_dir` is a URL."""
    check_usage(agreement, service_id, usage_paths)
    out = str(out_dir).rstrip("/")
    local = "://" not in out
    if local:
        Path(out).mkdir(parents=True, exist_ok=True)
    # Spark's decimal products drop digits past 38 of precision (DECIMAL(38, 0) × DECIMAL(38, 10) to scale 6)
    # unless told not to: then they keep the scale, and a value that does not fit is an error, as on DuckDB.
    exact, kept = _PRECISION_LOSS, spark.conf.get(_PRECISION_LOSS, None)
    spark.conf.set(exact, "false")
    with spark_errors():
        try:
            paths = [str(p) for p in usage_paths]
            return _rate(spark, agreement, service_id, paths, out, period, local, usage_columns)
        finally:
            if kept is None:
                spark.conf.unset(exact)
            else:
                spark.conf.set(exact, kept)
            for name in ("usage", "usage_files", "rating_summary", *_DECK_TABLES, *_STEP_VIEWS):
                spark.catalog.dropTempView(name)
            for i in range(len(usage_paths)):
                spark.catalog.dropTempView(f"rating_input_{i}")


def _usage(spark: SparkSession, paths: list[str]) -> None:
    """The view `usage` over every file: `src` and the canonical columns, cast as the DuckDB adapter does."""
    selects = []
    for i, path in enumerate(paths):
        frame = spark.read.parquet(path)
        frame.createOrReplaceTempView(f"rating_input_{i}")
        present = {f.name.lower(): f.name for f in frame.schema.fields}
        cols = ", ".join(
            f"CAST({f'`{present[name]}`' if name in present else 'NULL'} AS {_SPARK_TYPES[kind]}) AS {name}"
            for name, kind in CANONICAL_COLUMNS.items()
        )
        selects.append(f"SELECT {i} AS src, {cols} FROM rating_input_{i}")
    spark.sql(" UNION ALL ".join(selects)).createOrReplaceTempView("usage_files")
    spark.sql("SELECT * FROM usage_files").createOrReplaceTempView("usage")


def _register_steps(spark: SparkSession, ctx: steps.StepContext) -> None:
    deck = ctx.deck
    for name, table in zip(
        _DECK_TABLES, (deck.prefixes, deck.pids, deck.expanded, deck.rates, deck.names), strict=True
    ):
        spark.createDataFrame(table).createOrReplaceTempView(name)
    for name, select in _STEP_VIEWS.items():
        spark.sql(select(ctx)).createOrReplaceTempView(name)


def _write(spark: SparkSession, select: str, path: str) -> None:
    spark.sql(select).write.mode("overwrite").parquet(path)


def _rate(
    spark: SparkSession,
    agreement: Agreement,
    service_id: str,
    paths: list[str],
    out: str,
    period: Period | None,
    local: bool,
    usage_columns: bool = True,
) -> RatingResult:
    _usage(spark, paths)
    lo, hi, max_duration, max_volume, records = spark.sql(STATS_SQL).collect()[0]
    ctx = step_context(agreement, service_id, (lo, hi, max_duration, max_volume), period, SPARK)
    _register_steps(spark, ctx)
    rated, summary, unrated = f"{out}/{RATED_FILE}", f"{out}/{SUMMARY_FILE}", f"{out}/{UNRATED_FILE}"
    places = UNROUNDED_PLACES if ctx.record_places is None else ctx.record_places
    # The DuckDB adapter's types: its price is DECIMAL(18, 6) while every price is below 10^6.
    price_type = "DECIMAL(18, 6)" if max_price(ctx.deck) < 10**12 else "DECIMAL(38, 6)"
    exact = ""
    if ctx.record_places is None:
        exact = (
            ", CAST(num AS DECIMAL(38, 0)) AS exact_numerator, "
            f"CAST({ctx.deck.base * MICROS} AS BIGINT) AS exact_denominator"
        )
    _write(
        spark,
        f"""SELECT {_INPUT_COLS if usage_columns else "src, line"}, {_DAY_SQL} AS day, band, destination, prefix, rate_version,
                   CAST(CAST(price_micros AS DECIMAL(32, 0)) * CAST('0.000001' AS DECIMAL(6, 6)) AS {price_type}) AS price,
                   CAST(billed_quantity AS BIGINT) AS billed_quantity,
                   CAST(charge AS DECIMAL({ctx.charge_width}, {places})) AS charge{exact}
            FROM rating_records WHERE reason IS NULL""",
        rated,
    )
    num = "exact_numerator" if ctx.record_places is None else "CAST(NULL AS DECIMAL(38, 0))"
    spark.read.parquet(rated).createOrReplaceTempView("rating_input_rated")
    spark.sql(
        f"""SELECT destination, CAST(datediff(day, DATE '1970-01-01') AS BIGINT) AS local_day,
                   billed_quantity, charge, {num} AS num FROM rating_input_rated"""
    ).createOrReplaceTempView("rating_rated")
    figures = spark.sql(steps.summary_select(ctx, "rating_rated")).localCheckpoint(eager=True)
    figures.createOrReplaceTempView("rating_summary")
    _write(
        spark,
        f"""SELECT service, destination, {_DAY_SQL} AS day, events, billed_quantity,
                   CAST(amount AS DECIMAL(38, {places})) AS amount
            FROM rating_summary ORDER BY service, destination, local_day""",
        summary,
    )
    count_rated, quantity, amount_sum, num_sum = spark.sql(
        "SELECT COALESCE(SUM(events), 0), COALESCE(SUM(billed_quantity), 0), "
        "CAST(COALESCE(SUM(amount), 0) AS STRING), CAST(COALESCE(SUM(num), 0) AS STRING) FROM rating_summary"
    ).collect()[0]
    where = "reason IS NOT NULL" if int(count_rated) < int(records) else "FALSE"
    _write(
        spark, f"SELECT {_INPUT_COLS}, reason FROM rating_priced WHERE {where} ORDER BY src, line", unrated
    )
    reasons = spark.read.parquet(unrated).groupBy("reason").count().collect()
    unrated_by = {str(r): int(n) for r, n in reasons}
    for view in ("rating_input_rated", "rating_rated"):
        spark.catalog.dropTempView(view)
    figures.unpersist()
    if int(count_rated) + sum(unrated_by.values()) != int(records):
        raise RuntimeError(f"rating lost records: {records} read, {count_rated} rated, {unrated_by} unrated")
    amount, unrounded = line_amounts(agreement, ctx, Decimal(amount_sum), int(num_sum))
    return RatingResult(
        agreement_id=agreement.id,
        service=ctx.service_id,
        currency=agreement.currency,
        period=str(period) if period else None,
        records=int(records),
        rated=int(count_rated),
        unrated=unrated_by,
        billed_quantity=int(quantity),
        quantity_unit=QUANTITY_UNITS[ctx.deck.kind.value],
        amount=amount,
        amount_unrounded=unrounded,
        rated_path=Path(rated) if local else None,
        summary_path=Path(summary) if local else None,
        unrated_path=Path(unrated) if local else None,
    )
