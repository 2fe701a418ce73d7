"""The two inputs as Spark temp views `ours` and `theirs`, with the columns the DuckDB adapter makes.

`(line INT, record_id BIGINT|STRING, a_key BIGINT, b_key BIGINT, start_epoch BIGINT, duration_s INT)`:
- Parquet (canonical lake files, local or on any filesystem Spark reads) is read by Spark; the line is
  its `line` column, else the row's index in the file + 1; the number keys are made over Arrow batches
  (`mapInArrow`) by the same `o2o.columnar.arrow_numbers.NumberKeyer` the DuckDB adapter calls, so every
  key is the same; durations beyond ±(2^30 − 1) s are NULL and a line beyond 2^31 − 1 is refused, as there;
  record ids are BIGINT when every id of the file is a plain integer (the rule of `arrow_input.IdTyping`).
- CSV is read on the driver by the DuckDB adapter's own reader (`sources.load_side`: its line numbers,
  dialects and time parsing) and handed to Spark as a keyed Parquet file in the scratch folder: a CSV is a
  single machine's file anyway; large inputs come as lake Parquet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from o2o.columnar.arrow_numbers import NumberKeyer
from o2o.domain.errors import ImportRefusedError
from o2o.domain.operators import NumberingPlan
from o2o.reconcile.arrow_input import MAX_DURATION_S, MAX_LINE
from o2o.reconcile.sources import load_side

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# Without a country a trunk prefix cannot be expanded (as `sources`).
_NO_COUNTRY = NumberingPlan(country_code="0", trunk_prefix="")
KEYED_SCHEMA = "line INT, record_id STRING, a_key BIGINT, b_key BIGINT, start_epoch BIGINT, duration_s INT"
# The decimal text of a BIGINT as `arrow_input.IdTyping` takes it: digits, no leading zero, at most 18.
_PLAIN_ID = "^(0|[1-9][0-9]{0,17})$"


def is_parquet_path(path: str) -> bool:
    """Parquet by its name (`.parquet`, `.pq`, or a folder of parquet parts); a local file by its magic."""
    lowered = path.lower().rstrip("/")
    if lowered.endswith((".parquet", ".pq")):
        return True
    local = Path(path)
    if "://" not in path and local.is_file():
        with local.open("rb") as fh:
            return fh.read(4) == b"PAR1"
    return "://" in path and not lowered.endswith((".csv", ".gz", ".txt", ".tsv"))


def register_side(
    spark: SparkSession, side: str, path: str, plan: NumberingPlan | None, scratch: Path
) -> int:
    """Register `side` as a temp view of the keyed rows of `path`; the number of records."""
    numbering = plan or _NO_COUNTRY
    if "://" not in path and not Path(path).exists():
        raise ImportRefusedError(f"{path}: no such file")
    if is_parquet_path(path):
        _parquet_lines(spark, path).createOrReplaceTempView(f"{side}_raw_lines")
    else:
        raw = spark.read.parquet(str(_staged_csv(side, Path(path), numbering, scratch)))
        raw.createOrReplaceTempView(side)
        return int(raw.count())
    stats = spark.sql(
        f"""SELECT count(*) AS n, min(line) AS lo, max(line) AS hi, count(record_id) AS ids,
                   count_if(NOT regexp_like(record_id, '{_PLAIN_ID}')) AS text_ids
            FROM {side}_raw_lines"""
    ).collect()[0]
    for bound in (stats["hi"], stats["lo"]):
        if bound is not None and not -MAX_LINE - 1 <= bound <= MAX_LINE:
            raise ImportRefusedError(f"{path}: line {bound} is beyond the {MAX_LINE:,} lines a file may have")
    raw = spark.sql(
        f"""SELECT CAST(line AS INT) AS line, record_id, a_raw, b_raw, start_epoch,
                   CAST(CASE WHEN duration_s BETWEEN -{MAX_DURATION_S} AND {MAX_DURATION_S} THEN duration_s END
                        AS INT) AS duration_s
            FROM {side}_raw_lines"""
    )
    raw.mapInArrow(_keying(numbering), KEYED_SCHEMA).createOrReplaceTempView(f"{side}_keyed")
    ids = "CAST(record_id AS BIGINT)" if stats["ids"] and not stats["text_ids"] else "record_id"
    keyed = spark.sql(
        f"SELECT line, {ids} AS record_id, a_key, b_key, start_epoch, duration_s FROM {side}_keyed"
    )
    # Keyed once: the steps read each side several times, and a lazy view would run the Python keyer again
    # for each read.
    keyed.localCheckpoint(eager=True).createOrReplaceTempView(side)
    return int(stats["n"])


def _parquet_lines(spark: SparkSession, path: str) -> DataFrame:
    """The raw rows of a Parquet input: line (BIGINT), record_id and numbers as text, start_epoch,
    duration_s (BIGINT)."""
    frame = spark.read.parquet(path)
    types = {f.name.lower(): f.dataType.typeName() for f in frame.schema.fields}
    names = {f.name.lower(): f.name for f in frame.schema.fields}
    missing = [c for c in ("a_number", "b_number") if c not in types]
    if "start_time" not in types and "start_epoch" not in types:
        missing.append("start_time")
    if missing:
        raise ImportRefusedError(f"{path}: missing column(s) {', '.join(missing)}")

    def col(name: str) -> str:
        return f"`{names[name]}`"

    if "start_epoch" in types:
        start = f"try_cast({col('start_epoch')} AS BIGINT)"
    elif types["start_time"] in {"timestamp", "timestamp_ntz", "date"}:
        start = f"CAST(floor(unix_micros(CAST({col('start_time')} AS TIMESTAMP)) / 1000000.0) AS BIGINT)"
    elif types["start_time"] in {"long", "integer"}:
        start = f"CAST({col('start_time')} AS BIGINT)"
    else:
        raise ImportRefusedError(
            f"{path}: the Spark engine reads start_epoch or a timestamp start_time, not {types['start_time']}"
        )
    line = f"CAST({col('line')} AS BIGINT)" if "line" in types else "_metadata.row_index + 1"
    record_id = f"CAST({col('record_id')} AS STRING)" if "record_id" in types else "CAST(NULL AS STRING)"
    duration = f"try_cast({col('duration_s')} AS BIGINT)" if "duration_s" in types else "CAST(0 AS BIGINT)"
    view = f"_o2o_input_{abs(hash(path))}"
    frame.select("*", "_metadata").createOrReplaceTempView(view)
    return spark.sql(
        f"""SELECT {line} AS line, {record_id} AS record_id,
                   CAST({col("a_number")} AS STRING) AS a_raw, CAST({col("b_number")} AS STRING) AS b_raw,
                   {start} AS start_epoch, {duration} AS duration_s FROM {view}"""
    )


def _keying(plan: NumberingPlan) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The function `mapInArrow` runs per partition: the raw batches with their numbers keyed."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        keyer = NumberKeyer(plan)
        for batch in batches:
            yield pa.record_batch(
                [
                    batch.column(0),
                    batch.column(1),
                    keyer(batch.column(2)).combine_chunks(),
                    keyer(batch.column(3)).combine_chunks(),
                    batch.column(4),
                    batch.column(5),
                ],
                names=["line", "record_id", "a_key", "b_key", "start_epoch", "duration_s"],
            )

    return run


def _staged_csv(side: str, path: Path, plan: NumberingPlan, scratch: Path) -> Path:
    """A CSV's keyed rows, read by the DuckDB adapter, as a Parquet file for Spark."""
    out = scratch / f"{side}.parquet"
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        table = load_side(con, side, path, plan, 1 << 62)
        if table is None:  # not reached with an unbounded budget; kept honest
            table = con.sql(f"SELECT * FROM {side}").to_arrow_table()
    finally:
        con.close()
    pq.write_table(table, out)
    return out
