"""Record matching on Spark beside DuckDB: the same steps (`o2o.spark`), the same lake Parquet files.

Data: `recon_bench.prepare` (`o2o generate`, two operators, one voice direction, 5% redials, the
generator's defaults otherwise), each side converted once to canonical lake Parquet (line, record_id,
a_number, b_number, start_epoch, duration_s). Contenders, in this process one after the other:
- duckdb: `match_files` (memory limit 1500MB);
- spark: `match_files_spark` on a SparkSession started before the clock (`--master`, default local[2]);
  its start-up time is printed apart.
Each runs `--repeat` times (medians); the counts of both must be equal, or the bench fails. Printed: time
and process CPU of each, the ratio spark/duckdb, and Spark's cost per record and core (time × cores /
records of both sides), from which docs/spark.md estimates larger runs. `--rows` takes several sizes for a
scaling table (e.g. `--rows 1000000,5000000`).

    .venv/bin/python benchmarks/spark_bench.py [--rows 200000[,1000000,...]] [--master local[2]] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recon_bench import DATA_DIR, prepare


def lake_parquet(csv_path: str) -> Path:
    """The side as canonical lake Parquet (made once, beside the CSV)."""
    import duckdb

    out = Path(csv_path).with_suffix(".lake.parquet")
    if not out.exists():
        duckdb.sql(
            f"""COPY (SELECT row_number() OVER () + 1 AS line, record_id, a_number, b_number,
                             CAST(epoch(CAST(start_time AS TIMESTAMPTZ)) AS BIGINT) AS start_epoch,
                             TRY_CAST(duration_s AS BIGINT) AS duration_s
                      FROM read_csv('{csv_path}', all_varchar = true))
                TO '{out}' (FORMAT parquet)"""
        )
    return out


def timed(run: Any) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def cores(master: str) -> int:
    """Cores the master runs tasks on: local[N], local[*] (this machine's), else `SPARK_BENCH_CORES`."""
    match = re.fullmatch(r"local\[(\d+)\]", master)
    if match:
        return int(match.group(1))
    if master in ("local", "local[*]"):
        return os.cpu_count() or 1
    return int(os.environ.get("SPARK_BENCH_CORES", "1"))


def bench(rows: int, seed: int, master: str, repeat: int, spark: Any) -> dict[str, Any]:
    from o2o.domain.operators import NumberingPlan
    from o2o.reconcile import MatchOptions, match_files
    from o2o.spark import match_files_spark

    job = prepare(rows, seed)
    ours, theirs = lake_parquet(job["ours"]), lake_parquet(job["theirs"])
    ours_plan, theirs_plan = (NumberingPlan(*p) for p in job["plans"])
    options = MatchOptions(ours_plan=ours_plan, theirs_plan=theirs_plan)
    out = DATA_DIR / f"spark-out-{rows}"
    runs: dict[str, list[tuple[float, float]]] = {"duckdb": [], "spark": []}
    reports = {}
    for _ in range(repeat):
        for name, run in (
            ("duckdb", lambda: match_files(ours, theirs, options, out / "duckdb")),
            ("spark", lambda: match_files_spark(spark, ours, theirs, options, out / "spark")),
        ):
            shutil.rmtree(out / name, ignore_errors=True)
            wall, cpu, summary = timed(run)
            runs[name].append((wall, cpu))
            reports[name] = summary.as_report()
    if reports["duckdb"] != reports["spark"]:
        raise SystemExit(f"counts differ: duckdb {reports['duckdb']} spark {reports['spark']}")
    records = reports["duckdb"]["ours"] + reports["duckdb"]["theirs"]
    duck = statistics.median(w for w, _ in runs["duckdb"])
    on_spark = statistics.median(w for w, _ in runs["spark"])
    return {
        "rows": rows,
        "records": records,
        "duckdb_s": duck,
        "duckdb_cpu_s": statistics.median(c for _, c in runs["duckdb"]),
        "spark_s": on_spark,
        "spark_driver_cpu_s": statistics.median(c for _, c in runs["spark"]),
        "ratio": on_spark / duck,
        "spark_core_us_per_record": on_spark * cores(master) / records * 1e6,
        "matched": reports["duckdb"]["matched"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", default="200000", help="calls generated, comma-separated sizes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    from o2o.spark import spark_session

    started, _, spark = timed(lambda: spark_session(args.master))
    print(f"Spark {spark.version} on {args.master}: session started in {started:.1f} s (not counted)")
    print(
        f"{'calls':>10} {'records':>10} {'duckdb s':>9} {'cpu s':>7} {'spark s':>9} {'ratio':>7} {'us/rec/core':>12}"
    )
    for rows in (int(r) for r in args.rows.split(",")):
        r = bench(rows, args.seed, args.master, args.repeat, spark)
        print(
            f"{r['rows']:>10,} {r['records']:>10,} {r['duckdb_s']:>9.2f} {r['duckdb_cpu_s']:>7.2f} "
            f"{r['spark_s']:>9.2f} {r['ratio']:>6.1f}x {r['spark_core_us_per_record']:>12.1f}"
        )
        print(f"           counts equal on both engines ({r['matched']:,} matched)")
    spark.stop()


if __name__ == "__main__":
    main()
