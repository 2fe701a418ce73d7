"""Rating benchmark: `rate_usage` on N CDRs against a P-prefix deck with 3 rate versions, beside the floor.

Data (written once under bench-data/rating/, reused): a rate deck CSV of P prefixes (lengths 3–7, each its
own destination) with 3 versions (from 2026-01-01, 2026-10-11, 2026-10-21) of a peak and an off-peak
price each, an agreement TOML (Europe/Berlin, 30/6 increments, bands, setup fee, 4-decimal records), and
N canonical voice CDRs in October 2026 whose called numbers extend a deck prefix (1% match nothing).
Contenders, each in its own subprocess (wall and CPU time of the work after imports and set-up, peak RSS
of the process from wait4):
- project: `rate_usage` (local time and band, longest prefix, rate version, increments, exact charges;
  writes rated, summary and unrated Parquet);
- floor: a bare DuckDB hash join of the same CDRs to a table keyed by the first 5 digits of b_number
  (one price per key), written to Parquet.
Goal (issue 3): project at most 3x the floor's time, peak RSS under 4 GB.

    .venv/bin/python benchmarks/rating_bench.py [--small] [--rows N] [--prefixes P] [--memory-limit 3GB]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "bench-data" / "rating"
MONTH_START = 1_790_812_800  # 2026-10-01T00:00:00Z

AGREEMENT = """id = "BENCH-1"
currency = "EUR"
timezone = "Europe/Berlin"
valid_from = 2026-01-01
rounding = {{ record_decimals = 4 }}

[[parties]]
operator = "ALFA"
country_code = "49"

[[parties]]
operator = "BETA"
country_code = "7"

[[services]]
id = "voice"
kind = "voice"
provider = "ALFA"
customer = "BETA"
increments = {{ first = 30, next = 6 }}
setup_fee = 0.001
rate_deck = "{deck}"
bands = [
  {{ name = "peak", days = ["mon", "tue", "wed", "thu", "fri"], start = 08:00:00, end = 20:00:00 }},
  {{ name = "offpeak", days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], start = 00:00:00, end = 00:00:00 }},
]
"""


def _deck(prefixes: int, path: Path, seed: int) -> None:
    rng = random.Random(seed)
    seen: set[str] = set()
    while len(seen) < prefixes:
        length = rng.choice([3, 4, 4, 5, 5, 5, 6, 6, 7])
        seen.add(str(rng.randint(1, 9)) + "".join(rng.choice("0123456789") for _ in range(length - 1)))
    with path.open("w", encoding="utf-8") as fh:
        fh.write("prefix,destination,price,valid_from,band,version\n")
        for i, p in enumerate(sorted(seen)):
            base = rng.randint(100, 900_000)
            for v, day in enumerate(("2026-01-01", "2026-10-11", "2026-10-21")):
                peak = base + v * 1234
                fh.write(f"{p},D{i},{peak / 1e6:.6f},{day},peak,v{v + 1}\n")
                fh.write(f"{p},D{i},{peak * 6 // 10 / 1e6:.6f},{day},offpeak,v{v + 1}\n")


def _cdrs(rows: int, deck: Path, path: Path) -> None:
    con = duckdb.connect()
    con.execute(
        f"CREATE TABLE p AS SELECT row_number() OVER (ORDER BY prefix) - 1 AS k, prefix "
        f"FROM (SELECT DISTINCT CAST(prefix AS VARCHAR) AS prefix FROM read_csv('{deck}', all_varchar = true))"
    )
    n = con.execute("SELECT COUNT(*) FROM p").fetchall()[0][0]
    con.execute(
        f"""COPY (
        SELECT CAST(i + 1 AS BIGINT) AS line, 'r' || i AS record_id, 'voice' AS service,
               '7916' || lpad(CAST(i % 10000000 AS VARCHAR), 7, '0') AS a_number,
               CASE WHEN i % 100 = 99 THEN '0' || lpad(CAST(i AS VARCHAR), 10, '0')
                    ELSE substr(p.prefix || lpad(CAST((i * 2654435761) % 100000000000 AS VARCHAR), 11, '0'), 1, 11)
               END AS b_number,
               CAST(NULL AS VARCHAR) AS a_raw, CAST(NULL AS VARCHAR) AS b_raw,
               CAST({MONTH_START} + (i * 7919) % (31 * 86400) AS BIGINT) AS start_epoch,
               CAST((i * 37) % 900 AS BIGINT) AS duration_s, CAST(NULL AS BIGINT) AS volume,
               'trunk' || (i % 8) AS route
        FROM range({rows}) r(i) JOIN p ON p.k = (i * 7907) % {n}
        ORDER BY start_epoch
        ) TO '{path}' (FORMAT parquet)"""
    )
    con.close()


def prepare(rows: int, prefixes: int, seed: int) -> Path:
    folder = DATA_DIR / f"{rows}x{prefixes}"
    usage = folder / "usage.parquet"
    if usage.is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    print(f"writing {prefixes:,} prefixes x 3 versions and {rows:,} CDRs to {folder} …", flush=True)
    _deck(prefixes, folder / "deck.csv", seed)
    (folder / "agreement.toml").write_text(AGREEMENT.format(deck="deck.csv"), encoding="utf-8")
    _cdrs(rows, folder / "deck.csv", usage)
    return folder


def run_project(folder: Path, memory_limit: str) -> dict[str, float]:
    import pyarrow as pa

    from o2o.rating import rate_usage
    from o2o.schemas.agreement import load_agreement_file, to_domain

    pa.array([0])  # warm the imports (pyarrow pulls in pandas when present), as the floor's are
    t0 = time.perf_counter()
    agreement = to_domain(load_agreement_file(folder / "agreement.toml"))
    t1, cpu1 = time.perf_counter(), time.process_time()
    result = rate_usage(
        agreement, "voice", [folder / "usage.parquet"], folder / "out-project", memory_limit=memory_limit
    )
    t2, cpu2 = time.perf_counter(), time.process_time()
    return {
        "seconds": t2 - t1,
        "cpu": cpu2 - cpu1,
        "load_seconds": t1 - t0,
        "records": result.records,
        "rated": result.rated,
        "amount": float(result.amount),
    }


def run_floor(folder: Path, memory_limit: str) -> dict[str, float]:
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET preserve_insertion_order = false")  # as the engine's connection
    con.execute(
        f"""CREATE TABLE keyed AS
        SELECT substr(prefix, 1, 5) AS key, MIN(CAST(price AS DECIMAL(18, 6))) AS price
        FROM read_csv('{folder / "deck.csv"}', all_varchar = true) GROUP BY 1"""
    )
    t0, cpu0 = time.perf_counter(), time.process_time()
    out = folder / "out-floor.parquet"
    con.execute(
        f"""COPY (SELECT u.*, k.price FROM read_parquet('{folder / "usage.parquet"}') u
                  JOIN keyed k ON k.key = substr(u.b_number, 1, 5))
            TO '{out}' (FORMAT parquet)"""
    )
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    joined = con.execute(f"SELECT COUNT(*) FROM read_parquet('{out}')").fetchall()[0][0]
    return {"seconds": seconds, "cpu": cpu, "records": joined}


def _child(role: str, folder: Path, memory_limit: str) -> tuple[dict[str, float], float]:
    cmd = [sys.executable, __file__, "--child", role, "--folder", str(folder), "--memory-limit", memory_limit]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{role} failed with exit code {proc.returncode}")
    return json.loads(out), usage.ru_maxrss / 1024  # KiB → MiB on Linux


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", action="store_true", help="200,000 CDRs against 5,000 prefixes")
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--prefixes", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--memory-limit", default="3GB")
    ap.add_argument("--child", choices=["project", "floor"], help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        fn = run_project if args.child == "project" else run_floor
        print(json.dumps(fn(args.folder, args.memory_limit)))
        return
    rows, prefixes = (200_000, 5_000) if args.small else (args.rows, args.prefixes)
    folder = prepare(rows, prefixes, args.seed)
    floor, floor_rss = _child("floor", folder, args.memory_limit)
    project, project_rss = _child("project", folder, args.memory_limit)
    p_rate, f_rate = project["records"] / project["seconds"], floor["records"] / floor["seconds"]
    print(
        f"CDRs {rows:,}, deck {prefixes:,} prefixes x 3 versions x 2 bands; load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'contender':<10} {'seconds':>9} {'records/s':>12} {'work CPU s':>11} {'peak RSS MiB':>13}")
    for name, res, rss, rate in (
        ("project", project, project_rss, p_rate),
        ("floor", floor, floor_rss, f_rate),
    ):
        print(f"{name:<10} {res['seconds']:>9.2f} {rate:>12,.0f} {res['cpu']:>11.2f} {rss:>13,.0f}")
    print(f"project/floor time ratio: {project['seconds'] / floor['seconds']:.2f}x (goal <= 3x)")
    print(
        f"project/floor CPU ratio:  {project['cpu'] / floor['cpu']:.2f}x (steadier when the cores are shared)"
    )
    print(f"project peak RSS: {project_rss / 1024:.2f} GiB (goal < 4 GiB)")
    print(f"agreement load (deck CSV validated): {project['load_seconds']:.2f} s, not in the ratio")
    print(f"rated {project['rated']:,} of {project['records']:,}; amount {project['amount']:.2f} EUR")


if __name__ == "__main__":
    main()
