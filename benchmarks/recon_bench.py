"""Record matching benchmark: `o2o recon match` against a DuckDB exact-key FULL JOIN and pandas merge_asof.

Data: `o2o generate` with two operators, one voice direction, N calls (default 5,000,000) and 5% redials
(a 2–8 s dropped call, then 3–10 s after it ends a call of 31 s or more on the same pair), with the
generator's defaults otherwise: 1% missing on each side, 2% partial, 1% mismatch (2–20 s), 0.5% duplicated
rows per side, switch clocks up to 4 s apart, numbers in mixed forms, some files with local offsets.
Contenders, each in its own subprocess, timed from after its libraries are imported (wall time and the
process's CPU time from getrusage), with the whole process's time, CPU time and peak RSS (wait4) beside;
project and floor run `--repeat` rounds back to back and the medians are compared (the machine is shared):
- project: `match_files` (normalise, duplicates, candidates, mutual-best rounds, exact components, files);
- floor: DuckDB reading both CSVs, FULL JOIN on the raw (a_number, b_number, start_time), to Parquet;
- pandas: read, normalise numbers, parse times, drop duplicates, merge_asof (by numbers, nearest, 5 s),
  then keep each of their records once (the nearest), as people write it today.
Accuracy: the project's counts against truth.json, and wrong pairings: a pair whose durations differ by
more than 20 s (planted mismatches are 2–20 s, a redial's two calls differ by 23 s or more).

    .venv/bin/python benchmarks/recon_bench.py [--small] [--rows N] [--seed S] [--only project,floor,pandas]
                                               [--repeat 3]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "bench-data" / "recon"
COUNTS = (
    "ours", "theirs", "matched", "exact", "partial", "duration_mismatch", "only_ours", "only_theirs",
    "duplicates_ours", "duplicates_theirs",
)  # fmt: skip
WRONG_GAP_S = 20
LIBRARIES = {"project": ["o2o.reconcile"], "floor": ["duckdb"], "pandas": ["pandas", "pyarrow.parquet"]}


def prepare(n: int, seed: int) -> dict[str, Any]:
    """Generate (or reuse) the network; the two files, both numbering plans and the truth of the direction."""
    from o2o.schemas.agreement import load_agreement_file, to_domain
    from o2o.synth import SynthOptions, generate_network

    folder = DATA_DIR / f"gen-{n}-s{seed}"
    if (folder / "truth.json").exists():
        truth = json.loads((folder / "truth.json").read_text())
    else:
        opts = SynthOptions(operators=2, cdrs=n, seed=seed, services=("voice",), one_way=True, redial=0.05)
        truth = generate_network(opts, folder).truth
    (rec,) = truth["reconciliations"]
    ag = to_domain(load_agreement_file(folder / "agreements" / f"{rec['agreement']}.toml"))
    plans = [ag.party(rec[role]).numbering for role in ("provider", "customer")]
    return {
        "ours": str(folder / rec["provider_file"]),
        "theirs": str(folder / rec["customer_file"]),
        "plans": [[p.country_code, p.trunk_prefix, p.international_prefix] for p in plans],
        "truth": rec,
    }


def run_project(job: dict[str, Any], out: Path) -> dict[str, Any]:
    from o2o.domain.operators import NumberingPlan
    from o2o.reconcile import MatchOptions, match_files

    ours_plan, theirs_plan = (NumberingPlan(*p) for p in job["plans"])
    s = match_files(
        Path(job["ours"]),
        Path(job["theirs"]),
        MatchOptions(ours_plan=ours_plan, theirs_plan=theirs_plan),
        out,
    )
    return {**s.as_report(), "rounds": s.rounds, "contested_components": s.contested_components}


def count_wrong(out: Path) -> dict[str, Any]:
    """The project's wrong pairings, counted after its run (not timed)."""
    import duckdb

    sql = f"SELECT count(*) FROM '{out}/matches.parquet' WHERE abs(duration_gap_s) > {WRONG_GAP_S}"
    return {"wrong": int(duckdb.sql(sql).fetchall()[0][0])}


def run_floor(job: dict[str, Any], out: Path) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect(config={"memory_limit": "1500MB", "temp_directory": str(out / "tmp")})
    con.execute(
        f"""COPY (SELECT o.record_id AS ours_record_id, t.record_id AS theirs_record_id
                  FROM read_csv('{job["ours"]}') o FULL JOIN read_csv('{job["theirs"]}') t
                  ON o.a_number = t.a_number AND o.b_number = t.b_number AND o.start_time = t.start_time)
            TO '{out}/floor.parquet' (FORMAT parquet)"""
    )
    return {"rows": int(con.execute(f"SELECT count(*) FROM '{out}/floor.parquet'").fetchall()[0][0])}


def _pandas_side(path: str, plan: list[str]) -> Any:
    import pandas as pd

    cc, trunk, intl = plan
    df = pd.read_csv(path, dtype={"a_number": str, "b_number": str, "record_id": str}, usecols=range(6))
    for col in ("a_number", "b_number"):
        s = df[col].str.replace(r"[\s\-().\/]", "", regex=True)
        plus, international = s.str.startswith("+"), s.str.startswith(intl)
        national = ~plus & ~international & s.str.startswith(trunk) if trunk else False
        s = s.where(~plus, s.str[1:]).where(~international | plus, s.str[len(intl) :])
        df[col] = s.where(~national, cc + s.str[len(trunk) :])
    df["start"] = pd.to_datetime(df["start_time"], utc=True, format="ISO8601").astype("int64") // 10**9
    df = df.drop_duplicates(["a_number", "b_number", "start", "duration_s"])
    return df.sort_values("start")


def run_pandas(job: dict[str, Any], out: Path) -> dict[str, Any]:
    import pandas as pd

    o, t = _pandas_side(job["ours"], job["plans"][0]), _pandas_side(job["theirs"], job["plans"][1])
    t = t.rename(columns={"record_id": "theirs_id", "duration_s": "theirs_duration"})
    t["theirs_start"] = t["start"]
    m = pd.merge_asof(
        o, t[["a_number", "b_number", "start", "theirs_start", "theirs_id", "theirs_duration"]],
        on="start", by=["a_number", "b_number"], tolerance=5, direction="nearest",
    )  # fmt: skip
    m = m.dropna(subset=["theirs_id"])
    m["gap"] = (m["theirs_start"] - m["start"]).abs()
    m = m.sort_values(["theirs_id", "gap"]).drop_duplicates("theirs_id")  # each of theirs once, the nearest
    m[["record_id", "theirs_id"]].to_parquet(out / "pairs.parquet")
    wrong = int(((m["theirs_duration"] - m["duration_s"]).abs() > WRONG_GAP_S).sum())
    return {"matched": len(m), "wrong": wrong}


def child(name: str, job_file: Path, out: Path) -> None:
    if name == "prepare":  # in a child too, so that the parent stays small and cannot inflate children's RSS
        n, seed = (int(x) for x in out.name.split("-"))
        job_file.write_text(json.dumps(prepare(n, seed)))
        return
    if name == "wrong":
        print(json.dumps(count_wrong(out)))
        return
    job = json.loads(job_file.read_text())
    out.mkdir(parents=True, exist_ok=True)
    # Each contender's libraries are loaded before its clock starts (a service loads them once).
    for module in LIBRARIES[name]:
        importlib.import_module(module)
    started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    result = {"project": run_project, "floor": run_floor, "pandas": run_pandas}[name](job, out)
    after = resource.getrusage(resource.RUSAGE_SELF)
    result["seconds"] = time.perf_counter() - started
    result["cpu_s"] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(json.dumps(result))


def measure(name: str, job_file: Path, out: Path) -> dict[str, Any]:
    """Run one contender in a subprocess; its wall time, CPU time (user + system), own peak RSS (MB), result."""
    cmd = [sys.executable, __file__, "--child", name, str(job_file), str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
    stdout = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{name} failed with exit code {os.waitstatus_to_exitcode(status)}")
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    result["rss_mb"] = usage.ru_maxrss / 1024
    result["process_seconds"] = time.perf_counter() - started
    result["process_cpu_s"] = usage.ru_utime + usage.ru_stime
    return result


def check(name: str, job_file: Path, out: Path) -> dict[str, Any]:
    """Run an untimed check on a contender's output in a subprocess; its result."""
    cmd = [sys.executable, __file__, "--child", name, str(job_file), str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(cmd, stdout=subprocess.PIPE, env=env, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def report(runs: dict[str, list[dict[str, Any]]], truth: dict[str, Any]) -> None:
    """Ratios of the project to each baseline: medians over the rounds, and for the floor the range of the
    ratios of the runs made back to back (the shared machine's load moves both)."""
    if not runs.get("project"):
        return
    p_runs = runs["project"]
    keys = ("seconds", "cpu_s", "rss_mb", "process_seconds", "process_cpu_s")
    p = {k: _median([r[k] for r in p_runs]) for k in keys}
    for base in ("floor", "pandas"):
        if runs.get(base):
            b_runs = runs[base]
            b = {k: _median([r[k] for r in b_runs]) for k in keys}
            print(
                f"project vs {base} (medians of {len(p_runs)} and {len(b_runs)} runs): "
                f"{p['seconds'] / b['seconds']:.2f}x the time of {base} "
                f"({b['seconds'] / p['seconds']:.2f}x faster), {p['cpu_s'] / b['cpu_s']:.2f}x its CPU time, "
                f"peak RSS {p['rss_mb'] / b['rss_mb']:.2f}x"
            )
            print(
                f"  whole processes (interpreter start and imports too): "
                f"{p['process_seconds'] / b['process_seconds']:.2f}x the time, "
                f"{p['process_cpu_s'] / b['process_cpu_s']:.2f}x the CPU time"
            )
            if base == "floor" and len(b_runs) == len(p_runs) > 1:
                wall = sorted(x["seconds"] / y["seconds"] for x, y in zip(p_runs, b_runs, strict=True))
                cpu = sorted(x["cpu_s"] / y["cpu_s"] for x, y in zip(p_runs, b_runs, strict=True))
                print(
                    f"  per round: time {wall[0]:.2f}-{wall[-1]:.2f}x, CPU {cpu[0]:.2f}-{cpu[-1]:.2f}x "
                    f"(best project run / best floor run: {min(x['seconds'] for x in p_runs) / min(y['seconds'] for y in b_runs):.2f}x time, "
                    f"{min(x['cpu_s'] for x in p_runs) / min(y['cpu_s'] for y in b_runs):.2f}x CPU)"
                )
    first = p_runs[0]
    diff = {k: (first[k], truth[k]) for k in COUNTS if first[k] != truth[k]}
    print("project counts vs truth.json:", "exact" if not diff else f"DIFFER {diff}")
    print(
        f"wrong pairings: project {first['wrong']} of {first['matched']} "
        f"({100 * first['wrong'] / max(first['matched'], 1):.4f}%)"
    )
    if runs.get("pandas"):
        q = runs["pandas"][0]
        print(
            f"wrong pairings: pandas {q['wrong']} of {q['matched']} ({100 * q['wrong'] / max(q['matched'], 1):.4f}%),"
            f" pairs missed vs truth {truth['matched'] - q['matched']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", action="store_true", help="200,000 calls instead of 5,000,000")
    parser.add_argument("--rows", type=int, default=None, help="calls in the generated network")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default="project,floor,pandas")
    parser.add_argument(
        "--repeat", type=int, default=3, help="rounds of project and floor, back to back (pandas runs once)"
    )
    parser.add_argument("--child", nargs=3, metavar=("NAME", "JOB", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    n = args.rows or (200_000 if args.small else 5_000_000)
    started = time.perf_counter()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    job_file = DATA_DIR / f"job-{n}-s{args.seed}.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    subprocess.run(
        [sys.executable, __file__, "--child", "prepare", str(job_file), f"{n}-{args.seed}"],
        env=env,
        check=True,
    )
    job = json.loads(job_file.read_text())
    truth = job["truth"]
    print(f"data: {n:,} calls; ours {truth['ours']:,} rows, theirs {truth['theirs']:,} rows, "
          f"{truth['redials']:,} redials (ready in {time.perf_counter() - started:.1f} s)")  # fmt: skip
    names = args.only.split(",")
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for round_ in range(args.repeat):
        for name in names:
            if name == "pandas" and round_ > 0:
                continue  # minutes a run, and far from its goal: once is enough
            r = measure(name, job_file, DATA_DIR / f"out-{n}-{name}")
            if name == "project" and round_ == 0:
                r.update(check("wrong", job_file, DATA_DIR / f"out-{n}-{name}"))
            runs[name].append(r)
            print(
                f"{name:8s} {r['seconds']:8.2f} s  CPU {r['cpu_s']:7.2f} s  peak RSS {r['rss_mb']:7.0f} MB  "
                f"{json.dumps(r)}"
            )
    report(runs, truth)


if __name__ == "__main__":
    main()
