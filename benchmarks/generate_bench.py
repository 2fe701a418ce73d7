"""`o2o generate` speed: a whole synthetic network beside DuckDB writing the same number of bare CSV rows.

The floor is DuckDB's multi-threaded `COPY … TO` of as many rows as the network holds (same header,
numbers and times built by SQL from a counter): what writing that much CSV costs with no discrepancy
planning, no number habits, no truth. Each contender runs in a child process; wall time, CPU time
(user + system, steadier on a shared machine) and peak RSS are printed, with the ratios.

    .venv/bin/python benchmarks/generate_bench.py            # 10M calls, 8 operators
    .venv/bin/python benchmarks/generate_bench.py --small    # 200k calls
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _measure import measure

ROOT = Path(__file__).resolve().parents[1]
GENERATE = (
    "from pathlib import Path; from o2o.synth import SynthOptions, generate_network; "
    "generate_network(SynthOptions(operators={operators}, cdrs={cdrs}, seed=1), Path({out!r}))"
)
FLOOR_SQL = """
COPY (
    SELECT i AS record_id, 'voice-ALFA-BRAVO' AS service,
           '+4915' || CAST(100000000 + hash(i) % 900000000 AS VARCHAR) AS a_number,
           '+4477' || CAST(10000000 + hash(i + 1) % 90000000 AS VARCHAR) AS b_number,
           strftime(make_timestamp(CAST((1790812800 + i % 2500000) * 1000000 AS BIGINT)),
                    '%Y-%m-%dT%H:%M:%SZ') AS start_time,
           CAST(1 + hash(i + 2) % 600 AS BIGINT) AS duration_s, CAST(NULL AS BIGINT) AS volume,
           'TRK-ALFA-1' AS route
    FROM range({rows}) t(i)
) TO '{path}' (HEADER, DELIMITER ',')
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", action="store_true", help="200k calls instead of 10M")
    ap.add_argument("--cdrs", type=int, default=None)
    ap.add_argument("--operators", type=int, default=8)
    ap.add_argument("--data", type=Path, default=ROOT / "bench-data" / "generate")
    args = ap.parse_args()
    cdrs = args.cdrs or (200_000 if args.small else 10_000_000)
    out = args.data / f"net-{args.operators}x{cdrs}"
    shutil.rmtree(out, ignore_errors=True)
    py = sys.executable
    # The engine as `o2o generate` calls it, without the start-up of every other CLI command group.
    gen = measure([py, "-c", GENERATE.format(out=str(out), operators=args.operators, cdrs=cdrs)])
    truth = json.loads((out / "truth.json").read_text())
    rows = truth["totals"]["rows"]
    floor_csv = args.data / "floor.csv"
    floor = measure(
        [
            py,
            "-c",
            f"import duckdb; duckdb.connect().execute({FLOOR_SQL.format(rows=rows, path=floor_csv)!r})",
        ]
    )
    size = sum(p.stat().st_size for p in (out / "usage").rglob("*.csv"))
    print(f"o2o generate: {args.operators} operators, {cdrs:,} calls, {truth['totals']['files']} files, "
          f"{rows:,} rows, {size / 1e9:.2f} GB")  # fmt: skip
    print(f"{'':22}{'wall s':>9}{'cpu s':>9}{'rows/s':>13}{'peak RSS MB':>13}")
    for name, run in (("o2o generate", gen), ("duckdb COPY (floor)", floor)):
        print(
            f"{name:22}{run.seconds:9.1f}{run.cpu_seconds:9.1f}{rows / run.seconds:13,.0f}{run.peak_rss_mb:13.0f}"
        )
    print(
        f"ratio generate/floor: wall {gen.seconds / floor.seconds:.2f}x, cpu {gen.cpu_seconds / floor.cpu_seconds:.2f}x"
    )
    floor_csv.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
