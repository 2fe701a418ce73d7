"""A period's reconciliation against matching the same records as one file pair.

Data: `o2o generate` with 8 operators and N calls (default 1,000,000, seed 2026, the demo's network:
absolute tolerance 1, customers missing 1.8%), loaded into a fresh SQLite workspace and every usage file
imported, as `o2o demo` does; the store right after the imports is kept, and put back before each round.
Contenders, each in its own subprocess, timed from after its libraries are imported (wall time and the
process's CPU time from getrusage), with the whole process's time, CPU time and peak RSS (wait4) beside;
they run `--repeat` rounds back to back and the medians are compared (the machine is shared):
- period: what `o2o reconcile --period P` runs: every declared agreement of the period, each usage line's
  declarations rated and matched (the lines as one batch), the summaries compared, the statements written;
  the ratings are not stored beforehand by `o2o rate`: the period rates them (with `--rated`, they are,
  untimed, before the first round: the period then reads them, as reconciliation after `o2o rate` does);
- pair: `match_files` on the same records as one file pair: every provider-side lake file of the period in
  one Parquet file and every customer-side one in another (lines renumbered), with the agreements' tolerance.
The period's match counts summed over its lines are printed beside the pair's (they agree when no two
lines share a call, as in generated networks).

    .venv/bin/python benchmarks/reconcile_period_bench.py [--cdrs N] [--seed S] [--repeat 3] [--rated]
                                                          [--src DIR]

`--src` runs another source tree (e.g. `git archive` of an older commit's `src`): a tree from before the
batch reconciles the period's agreements one after the other.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "bench-data" / "reconcile-period"
LIBRARIES = {
    "period": ["o2o.services.reconciliation", "o2o.reconcile", "o2o.rating", "o2o.cli.context"],
    "pair": ["o2o.reconcile"],
}
COUNTS = ("ours", "theirs", "matched", "only_ours", "only_theirs", "duplicates_ours", "duplicates_theirs")


def prepare(folder: Path, cdrs: int, seed: int) -> dict[str, Any]:
    """Generate the network, load it and import every usage file into the workspace `folder/home` (the
    store after the imports kept as `declared.sqlite`); both sides' records as one file pair."""
    from concurrent.futures import ThreadPoolExecutor

    import duckdb

    from o2o.cli.context import workspace
    from o2o.domain.agreements import Role
    from o2o.services import registry_data
    from o2o.services.ledger import generate_key, key_path
    from o2o.services.usage import import_usage
    from o2o.synth.generator import generate_network
    from o2o.synth.options import SynthOptions

    ws = workspace()
    opts = SynthOptions(operators=8, cdrs=cdrs, seed=seed, tolerance_absolute=1, missing_customer=0.018)
    truth = generate_network(opts.check(), folder / "network", force=True).truth
    registry_data.add_operators_file(ws, folder / "network" / "operators.toml")
    for ag in truth["agreements"]:
        registry_data.load_agreement(ws, folder / "network" / ag["file"])
    for op in [o.id for o in registry_data.list_operators(ws)] + ["HUB"]:
        if not key_path(ws, op).exists():
            generate_key(ws, op)
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda f: import_usage(ws, folder / "network" / f["file"], f["agreement"],
                                             truth["period"], f["declarer"], f["service"]), truth["files"]))  # fmt: skip
    with ws.uow() as uow:
        decls = uow.declarations.all(None, truth["period"])
    tolerances = {
        (ag.tolerance.time_s, ag.tolerance.duration_s)
        for ag in (registry_data.get_agreement(ws, a["id"])[0] for a in truth["agreements"])
    }
    if len(tolerances) != 1:
        raise SystemExit(f"the agreements' matching tolerances differ ({tolerances}): no one file pair")
    pair = folder / "pair"
    pair.mkdir(exist_ok=True)
    for role in (Role.PROVIDER, Role.CUSTOMER):
        files = ", ".join(f"'{ws.lake.resolve(d.lake_path)}'" for d in decls if d.role is role)
        duckdb.sql(
            f"""COPY (SELECT * REPLACE (row_number() OVER () AS line) FROM read_parquet([{files}]))
                TO '{pair / role.value}.parquet' (FORMAT parquet)"""
        )
    ((time_s, duration_s),) = tolerances
    return {"period": truth["period"], "lines": len(decls) // 2, "time_s": time_s, "duration_s": duration_s}


def run_period(job: dict[str, Any], folder: Path) -> dict[str, Any]:
    from o2o.cli.context import workspace
    from o2o.services import reconciliation as rec

    ws = workspace()
    try:
        from o2o.services.period_reconciliation import reconcile_period
    except ImportError:  # a source tree from before the batch (`--src`): the agreements one after the other
        ids = rec.agreements_to_reconcile(ws, job["period"])  # type: ignore[attr-defined]
        reports = [rec.reconcile_agreement(ws, a, job["period"]) for a in ids]  # type: ignore[attr-defined]
    else:
        reports = reconcile_period(ws, job["period"])  # every declared agreement of the period
    matches = [ln.match for r in reports for ln in r.lines if ln.match is not None]
    out: dict[str, Any] = {k: sum(getattr(m, k) for m in matches) for k in COUNTS}
    return {**out, "lines": len(matches), "agreements": len(reports)}


def run_pair(job: dict[str, Any], folder: Path) -> dict[str, Any]:
    from o2o.reconcile import MatchOptions, match_files

    options = MatchOptions(time_tolerance_s=job["time_s"], duration_tolerance_s=job["duration_s"])
    pair = folder / "pair"
    shutil.rmtree(pair / "out", ignore_errors=True)
    s = match_files(pair / "provider.parquet", pair / "customer.parquet", options, pair / "out")
    return {k: getattr(s, k) for k in COUNTS}


def rate_all(job: dict[str, Any]) -> None:
    """What `o2o rate --agreement ID --period P` stores, for every declared agreement of the period."""
    from o2o.cli.context import workspace
    from o2o.services.rating import rate_declarations

    ws = workspace()
    with ws.uow() as uow:
        agreements = sorted({d.agreement_id for d in uow.declarations.all(None, job["period"])})
    for agreement in agreements:
        rate_declarations(ws, agreement, job["period"])


def child(name: str, folder: Path, cdrs: int, seed: int) -> None:
    if name == "prepare":
        (folder / "job.json").write_text(json.dumps(prepare(folder, cdrs, seed)))
        return
    job = json.loads((folder / "job.json").read_text())
    if name == "rate":
        rate_all(job)
        return
    for module in LIBRARIES[name]:  # loaded before the clock starts (a service loads them once)
        importlib.import_module(module)
    started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    result = {"period": run_period, "pair": run_pair}[name](job, folder)
    after = resource.getrusage(resource.RUSAGE_SELF)
    result["seconds"] = time.perf_counter() - started
    result["cpu_s"] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(json.dumps(result))


def _env(folder: Path, src: Path = ROOT / "src") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "O2O_DATABASE_URL"}  # SQLite in the workspace
    return {**env, "PYTHONPATH": str(src), "O2O_HOME": str(folder / "home")}


def measure(name: str, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One contender in a subprocess: its wall time, CPU time (user + system), own peak RSS (MB), result."""
    cmd = [
        sys.executable,
        __file__,
        "--child",
        name,
        str(folder),
        "--cdrs",
        str(args.cdrs),
        "--seed",
        str(args.seed),
    ]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=_env(folder, args.src), text=True)
    stdout = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{name} failed with exit code {os.waitstatus_to_exitcode(status)}")
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    result["rss_mb"] = usage.ru_maxrss / 1024
    result["process_seconds"] = time.perf_counter() - started
    result["process_cpu_s"] = usage.ru_utime + usage.ru_stime
    return result


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def restore(folder: Path, rated: bool) -> None:
    """The store as it was after the imports (every cycle declared), and no results runs; the ratings
    `o2o rate` stored kept with `rated`, else none."""
    shutil.copyfile(folder / "declared.sqlite", folder / "home" / "o2o.sqlite")
    shutil.rmtree(folder / "home" / "lake" / "results", ignore_errors=True)
    if not rated:
        shutil.rmtree(folder / "home" / "lake" / "rated", ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cdrs", type=int, default=1_000_000, help="calls in the generated network")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeat", type=int, default=3, help="rounds of period and pair, back to back")
    parser.add_argument(
        "--rated",
        action="store_true",
        help="store every declaration's rating with `o2o rate` before the rounds (untimed): the period reuses them",
    )
    parser.add_argument(
        "--src",
        type=Path,
        default=ROOT / "src",
        help="source tree the contenders run (e.g. an older commit's)",
    )
    parser.add_argument("--child", nargs=2, metavar=("NAME", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), args.cdrs, args.seed)
        return
    folder = DATA_DIR / f"net-{args.cdrs}-s{args.seed}"
    started = time.perf_counter()
    if not (folder / "job.json").exists():
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "home").mkdir(parents=True)
        cmd = [sys.executable, __file__, "--child", "prepare", str(folder), "--cdrs", str(args.cdrs),
               "--seed", str(args.seed)]  # fmt: skip
        subprocess.run(cmd, env=_env(folder), check=True)
        # Once the child has closed the store (SQLite has folded its write-ahead log into the file).
        shutil.copyfile(folder / "home" / "o2o.sqlite", folder / "declared.sqlite")
    job = json.loads((folder / "job.json").read_text())
    print(f"data: {args.cdrs:,} calls, period {job['period']}, {job['lines']} usage lines "
          f"(ready in {time.perf_counter() - started:.1f} s)")  # fmt: skip
    restore(folder, rated=False)
    if args.rated:
        started = time.perf_counter()
        cmd = [sys.executable, __file__, "--child", "rate", str(folder), "--cdrs", str(args.cdrs),
               "--seed", str(args.seed)]  # fmt: skip
        subprocess.run(cmd, env=_env(folder, args.src), check=True)
        print(
            f"ratings stored by `o2o rate` for every agreement (untimed: {time.perf_counter() - started:.1f} s)"
        )
    runs: dict[str, list[dict[str, Any]]] = {"period": [], "pair": []}
    for _ in range(args.repeat):
        for name, rounds in runs.items():
            if name == "period":
                restore(folder, args.rated)
            r = measure(name, folder, args)
            rounds.append(r)
            print(f"{name:6s} {r['seconds']:7.2f} s  CPU {r['cpu_s']:6.2f} s  peak RSS {r['rss_mb']:6.0f} MB  "
                  f"process {r['process_seconds']:6.2f} s  {json.dumps({k: r[k] for k in COUNTS})}")  # fmt: skip
    keys = ("seconds", "cpu_s", "process_seconds", "process_cpu_s")
    p, q = ({k: _median([r[k] for r in runs[n]]) for k in keys} for n in ("period", "pair"))
    wall = sorted(x["seconds"] / y["seconds"] for x, y in zip(runs["period"], runs["pair"], strict=True))
    print(
        f"period vs pair (medians of {args.repeat} rounds): {p['seconds'] / q['seconds']:.2f}x the time "
        f"({p['seconds']:.2f} s vs {q['seconds']:.2f} s; per round {wall[0]:.2f}-{wall[-1]:.2f}x), "
        f"{p['cpu_s'] / q['cpu_s']:.2f}x the CPU time ({p['cpu_s']:.2f} s vs {q['cpu_s']:.2f} s)"
    )
    print(
        f"  whole processes (interpreter start and imports too): {p['process_seconds'] / q['process_seconds']:.2f}x "
        f"the time, {p['process_cpu_s'] / q['process_cpu_s']:.2f}x the CPU time"
    )
    first = runs["period"][0], runs["pair"][0]
    same = all(first[0][k] == first[1][k] for k in COUNTS)
    print("match counts, period's lines summed vs pair:", "equal" if same else "DIFFER")


if __name__ == "__main__":
    main()
