"""Record matching benchmark: `o2o recon match` against a DuckDB exact-key FULL JOIN and pandas merge_asof.

Data: two CSV files of N calls each side (default 5,000,000), written by this script with known pairings
(the record id is the call's id on both sides): 5% redials (a 2–8 s dropped call, then 3–10 s after it a
call of 31 s or more on the same pair), 1% missing on each side, 2% partial (±1 s), 1% duration mismatch,
0.5% duplicate rows per side, their clock +1 s with ±1 s jitter, numbers as `+44…` on our side and as
`0044…`/national `0…` on theirs. Contenders, each in its own subprocess (wall time and peak RSS):
- project: `match_files` (normalise, duplicates, candidates, mutual-best rounds, exact components, files);
- floor: DuckDB reading both CSVs, FULL JOIN on the raw (a_number, b_number, start_time), to Parquet;
- pandas: read, normalise numbers, parse times, drop duplicates, merge_asof(by numbers, nearest, 5 s),
  then keep each of their records once (nearest), as people write it today.
Accuracy: pairs whose two record ids differ (wrong pairings), and missed pairs, against the known calls.

    .venv/bin/python benchmarks/recon_bench.py [--small] [--rows N] [--seed S] [--only project,floor,pandas]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "bench-data" / "recon"
MONTH_START = 1_790_812_800  # 2026-10-01T00:00:00Z
MONTH_S = 30 * 86400


def _iso(epoch: np.ndarray) -> pa.Array:
    ts = pa.array(epoch.astype("datetime64[s]"), pa.timestamp("s"))
    return pc.strftime(ts, format="%Y-%m-%dT%H:%M:%SZ")


def _calls(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """n calls: 5% of them the redial halves of a dropped call; pairs repeat about three times a month."""
    n_redial = n // 20
    n_slots = n - n_redial
    pair = rng.permutation(n_slots) // 3
    start = MONTH_START + 3600 + rng.integers(0, MONTH_S - 7200, n_slots)
    duration = np.maximum(rng.exponential(90, n_slots).astype(np.int64), 1)
    first = rng.choice(n_slots, n_redial, replace=False)
    duration[first] = rng.integers(2, 9, n_redial)
    r_start = start[first] + duration[first] + rng.integers(3, 11, n_redial)
    r_duration = 31 + rng.exponential(120, n_redial).astype(np.int64)
    redial = np.zeros(n, dtype=bool)
    redial[first] = True
    redial[n_slots:] = True
    return {
        "pair": np.concatenate([pair, pair[first]]),
        "start": np.concatenate([start, r_start]),
        "duration": np.concatenate([duration, r_duration]),
        "redial": redial,
    }


def _side_table(
    calls: dict[str, np.ndarray], keep: np.ndarray, dup_rate: float, ours: bool, rng: Any
) -> pa.Table:
    idx = np.flatnonzero(keep)
    dups = idx[rng.random(len(idx)) < dup_rate]
    idx = np.sort(np.concatenate([idx, dups]), kind="stable")
    pair = calls["pair"][idx]
    a = 2079_000_000 + pair % 900_000
    b = 7911_000_000 + pair // 900_000 * 7 + pair % 7
    start = calls["start_ours" if ours else "start_theirs"][idx]
    duration = calls["duration_ours" if ours else "duration_theirs"][idx]
    a_text = pc.binary_join_element_wise("+44", pa.array(a).cast(pa.string()), "")
    b_text = pc.binary_join_element_wise("+44", pa.array(b).cast(pa.string()), "")
    if not ours:
        a_text = pc.binary_join_element_wise("0044", pa.array(a).cast(pa.string()), "")
        b_text = pc.binary_join_element_wise("0", pa.array(b).cast(pa.string()), "")
    order = np.argsort(start, kind="stable")
    return pa.table(
        {
            "record_id": pc.binary_join_element_wise("c", pa.array(idx).cast(pa.string()), "").take(order),
            "a_number": a_text.take(order),
            "b_number": b_text.take(order),
            "start_time": _iso(start[order]),
            "duration_s": pa.array(duration[order]),
        }
    )


def generate(n: int, seed: int) -> tuple[Path, Path]:
    """Write ours.csv and theirs.csv for n calls (reused when present)."""
    folder = DATA_DIR / f"n{n}-s{seed}"
    ours, theirs = folder / "ours.csv", folder / "theirs.csv"
    if ours.exists() and theirs.exists():
        return ours, theirs
    rng = np.random.default_rng(seed)
    calls = _calls(n, rng)
    m = len(calls["start"])
    category = rng.choice(
        5, m, p=[0.01, 0.01, 0.02, 0.01, 0.95]
    )  # missing ours/theirs, partial, mismatch, exact
    category[calls["redial"]] = 4
    delta = np.zeros(m, dtype=np.int64)
    delta[category == 2] = rng.choice([-1, 1], int((category == 2).sum()))
    mismatch = category == 3
    delta[mismatch] = rng.integers(2, 21, int(mismatch.sum())) * rng.choice([-1, 1], int(mismatch.sum()))
    calls["start_ours"] = calls["start"]
    calls["start_theirs"] = calls["start"] + 1 + rng.integers(-1, 2, m)
    calls["duration_ours"] = calls["duration"]
    calls["duration_theirs"] = np.maximum(calls["duration"] + delta, 0)
    folder.mkdir(parents=True, exist_ok=True)
    for path, is_ours, missing in ((ours, True, 0), (theirs, False, 1)):
        table = _side_table(calls, category != missing, 0.005, is_ours, rng)
        pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="none"))
    return ours, theirs


def run_project(ours: Path, theirs: Path, out: Path) -> dict[str, Any]:
    from o2o.domain.operators import NumberingPlan
    from o2o.reconcile import MatchOptions, match_files

    uk = NumberingPlan(country_code="44")
    s = match_files(ours, theirs, MatchOptions(ours_plan=uk, theirs_plan=uk), out)
    return {**s.as_report(), "rounds": s.rounds, "contested_components": s.contested_components}


def run_floor(ours: Path, theirs: Path, out: Path) -> dict[str, Any]:
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"memory_limit": "1500MB", "temp_directory": str(out / "tmp")})
    con.execute(
        f"""COPY (SELECT o.record_id AS ours_record_id, t.record_id AS theirs_record_id
                  FROM read_csv('{ours}') o FULL JOIN read_csv('{theirs}') t
                  ON o.a_number = t.a_number AND o.b_number = t.b_number AND o.start_time = t.start_time)
            TO '{out}/floor.parquet' (FORMAT parquet)"""
    )
    rows = con.execute(f"SELECT count(*) FROM '{out}/floor.parquet'").fetchall()[0][0]
    return {"rows": int(rows)}


def _pandas_side(path: Path) -> Any:
    import pandas as pd

    df = pd.read_csv(path, engine="pyarrow", dtype={"a_number": str, "b_number": str, "record_id": str})
    for col in ("a_number", "b_number"):
        s = df[col].str.replace(r"[\s\-().\/]", "", regex=True)
        s = s.where(~s.str.startswith("+"), s.str[1:])
        s = s.where(~s.str.startswith("00"), s.str[2:])
        df[col] = s.where(~s.str.startswith("0"), "44" + s.str[1:])
    df["start"] = pd.to_datetime(df["start_time"], utc=True).dt.as_unit("s").astype("int64")
    return df.drop_duplicates(["a_number", "b_number", "start", "duration_s"]).sort_values("start")


def run_pandas(ours: Path, theirs: Path, out: Path) -> dict[str, Any]:
    import pandas as pd

    o, t = _pandas_side(ours), _pandas_side(theirs)
    t = t.rename(columns={"record_id": "theirs_id", "duration_s": "theirs_duration"})
    t["theirs_start"] = t["start"]
    m = pd.merge_asof(
        o, t[["a_number", "b_number", "start", "theirs_start", "theirs_id", "theirs_duration"]],
        on="start", by=["a_number", "b_number"], tolerance=5, direction="nearest",
    )  # fmt: skip
    m = m.dropna(subset=["theirs_id"])
    m["gap"] = (m["theirs_start"] - m["start"]).abs()
    m = m.sort_values(["theirs_id", "gap"]).drop_duplicates("theirs_id")  # each of theirs once, nearest
    out.mkdir(parents=True, exist_ok=True)
    m[["record_id", "theirs_id"]].to_parquet(out / "pairs.parquet")
    return {"matched": len(m), "wrong": int((m["record_id"] != m["theirs_id"]).sum())}


def accuracy(out: Path, ours: Path) -> dict[str, int]:
    import duckdb

    wrong = duckdb.sql(
        f"SELECT count(*) FROM '{out}/matches.parquet' WHERE ours_record_id <> theirs_record_id"
    ).fetchall()[0][0]
    return {"wrong": int(wrong)}


def child(name: str, ours: Path, theirs: Path, out: Path) -> None:
    started = time.perf_counter()
    result = {"project": run_project, "floor": run_floor, "pandas": run_pandas}[name](ours, theirs, out)
    result["seconds"] = time.perf_counter() - started
    print(json.dumps(result))


def measure(name: str, ours: Path, theirs: Path, out: Path) -> dict[str, Any]:
    """Run one contender in a subprocess; its wall time, its own peak RSS (MB) and its result."""
    cmd = [sys.executable, __file__, "--child", name, str(ours), str(theirs), str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
    stdout = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed with exit code {proc.returncode}")
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    result["rss_mb"] = usage.ru_maxrss / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", action="store_true", help="200,000 calls instead of 5,000,000")
    parser.add_argument("--rows", type=int, default=None, help="calls per side")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", default="project,floor,pandas")
    parser.add_argument("--child", nargs=4, metavar=("NAME", "OURS", "THEIRS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, ours, theirs, out = args.child
        child(name, Path(ours), Path(theirs), Path(out))
        return
    n = args.rows or (200_000 if args.small else 5_000_000)
    started = time.perf_counter()
    ours, theirs = generate(n, args.seed)
    print(f"data: {n:,} calls, {ours.parent} (ready in {time.perf_counter() - started:.1f} s)")
    results: dict[str, dict[str, Any]] = {}
    for name in args.only.split(","):
        out = ours.parent / f"out-{name}"
        results[name] = measure(name, ours, theirs, out)
        if name == "project":
            results[name].update(accuracy(out, ours))
        r = results[name]
        print(f"{name:8s} {r['seconds']:8.2f} s  peak RSS {r['rss_mb']:8.0f} MB  {json.dumps(r)}")
    if "project" in results:
        p = results["project"]
        for base in ("floor", "pandas"):
            if base in results:
                b = results[base]
                print(
                    f"project vs {base}: time {p['seconds'] / b['seconds']:.2f}x of {base} "
                    f"({b['seconds'] / p['seconds']:.2f}x faster), RSS {p['rss_mb'] / b['rss_mb']:.2f}x"
                )
        matched = max(p["matched"], 1)
        print(f"wrong pairings: project {p['wrong']} ({100 * p['wrong'] / matched:.4f}%)", end="")
        if "pandas" in results:
            q = results["pandas"]
            print(f", pandas {q['wrong']} ({100 * q['wrong'] / max(q['matched'], 1):.4f}%)")
        else:
            print()


if __name__ == "__main__":
    main()
