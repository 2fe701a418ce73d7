"""Record matching and rating on Spark beside DuckDB: the same steps (`o2o.spark`), the same lake Parquet.

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
Rating (`--rating`): the provider's file made canonical once (`usage_file_to_canonical`, as `o2o rate file`
does), rated by the generated agreement's tariff for its period with `rate_usage` and `rate_usage_spark`;
the figures (records, rated, unrated by reason, quantity, amounts) of both must be equal.

    .venv/bin/python benchmarks/spark_bench.py [--rows 200000[,1000000,...]] [--master local[2]] [--repeat 1]
        [--rating]
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


def bench_rating(rows: int, seed: int, master: str, repeat: int, spark: Any) -> dict[str, Any]:
    import dataclasses

    from o2o.domain.periods import Period
    from o2o.domain.usage import numbers_required
    from o2o.rating import rate_usage, usage_file_to_canonical
    from o2o.schemas.agreement import load_agreement_file, to_domain
    from o2o.spark import rate_usage_spark

    job = prepare(rows, seed)
    rec = job["truth"]
    folder = DATA_DIR / f"gen-{rows}-s{seed}"
    agreement = to_domain(load_agreement_file(folder / "agreements" / f"{rec['agreement']}.toml"))
    service = agreement.service(rec["service"])
    canonical = folder / "provider.canonical.parquet"
    if not canonical.exists():
        plan = agreement.party(rec["provider"]).numbering
        usage_file_to_canonical(
            Path(job["ours"]), plan, canonical, numbers_required=numbers_required(service)
        )
    import json

    period = Period.parse(json.loads((folder / "truth.json").read_text())["period"])
    out = DATA_DIR / f"spark-rating-{rows}"
    runs: dict[str, list[float]] = {"duckdb": [], "spark": []}
    figures = {}
    for _ in range(repeat):
        for name, run in (
            ("duckdb", lambda: rate_usage(agreement, service.id, [canonical], out / "duckdb", period)),
            (
                "spark",
                lambda: rate_usage_spark(spark, agreement, service.id, [canonical], out / "spark", period),
            ),
        ):
            shutil.rmtree(out / name, ignore_errors=True)
            wall, _, result = timed(run)
            runs[name].append(wall)
            figures[name] = dataclasses.replace(result, rated_path=None, summary_path=None, unrated_path=None)
    if figures["duckdb"] != figures["spark"]:
        raise SystemExit(f"figures differ: duckdb {figures['duckdb']} spark {figures['spark']}")
    duck, on_spark = statistics.median(runs["duckdb"]), statistics.median(runs["spark"])
    records = figures["duckdb"].records
    return {
        "rows": rows,
        "records": records,
        "duckdb_s": duck,
        "spark_s": on_spark,
        "ratio": on_spark / duck,
        "spark_core_us_per_record": on_spark * cores(master) / records * 1e6,
        "amount": figures["duckdb"].amount,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", default="200000", help="calls generated, comma-separated sizes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--rating", action="store_true", help="rate the provider's file instead of matching")
    args = parser.parse_args()
    from o2o.spark import spark_session

    started, _, spark = timed(lambda: spark_session(args.master))
    print(f"Spark {spark.version} on {args.master}: session started in {started:.1f} s (not counted)")
    print(
        f"{'calls':>10} {'records':>10} {'duckdb s':>9} {'cpu s':>7} {'spark s':>9} {'ratio':>7} {'us/rec/core':>12}"
    )
    for rows in (int(r) for r in args.rows.split(",")):
        if args.rating:
            r = bench_rating(rows, args.seed, args.master, args.repeat, spark)
            print(
                f"{r['rows']:>10,} {r['records']:>10,} {r['duckdb_s']:>9.2f} {'':>7} "
                f"{r['spark_s']:>9.2f} {r['ratio']:>6.1f}x {r['spark_core_us_per_record']:>12.1f}"
            )
            print(f"           rating figures equal on both engines (amount {r['amount']})")
            continue
        r = bench(rows, args.seed, args.master, args.repeat, spark)
        print(
            f"{r['rows']:>10,} {r['records']:>10,} {r['duckdb_s']:>9.2f} {r['duckdb_cpu_s']:>7.2f} "
            f"{r['spark_s']:>9.2f} {r['ratio']:>6.1f}x {r['spark_core_us_per_record']:>12.1f}"
        )
        print(f"           counts equal on both engines ({r['matched']:,} matched)")
    spark.stop()


if __name__ == "__main__":
    main()
