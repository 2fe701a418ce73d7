"""Usage import: `o2o usage import` of a generated CSV beside DuckDB's bare read_csv → Parquet (the floor).

Prints rows/s and peak RSS of both, measured in the same run, and the ratio. Goal: at most 2x the floor.
    .venv/bin/python benchmarks/import_bench.py [--rows 5000000] [--rounds 2] [--bytecode]

Where PYTHONDONTWRITEBYTECODE is set and the environment was installed without compiled bytecode, every
`o2o` process compiles its ~500 modules from source first (about 1.5 s CPU here); the floor imports
little Python. `--bytecode` runs both contenders with a bytecode cache (PYTHONPYCACHEPREFIX under bench-data/, warmed
first), as an environment installed with compiled bytecode would; the figures say which it was.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _measure import Run, best, measure

ROOT = Path(__file__).resolve().parent.parent
O2O = [sys.executable, "-c", "from o2o.cli.app import main; main()"]

FLOOR = """
import duckdb, sys
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute(f"COPY (SELECT * FROM read_csv('{sys.argv[1]}')) TO '{sys.argv[2]}' (FORMAT parquet, COMPRESSION zstd)")
"""


def network(rows: int) -> tuple[Path, dict[str, str]]:
    """A generated bilateral voice network of about `rows` calls (cached under bench-data/)."""
    folder = ROOT / "bench-data" / f"import-{rows}"
    if not (folder / "truth.json").exists():
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run(
            [*O2O, "generate", "--operators", "2", "--services", "voice", "--one-way",
             "--cdrs", str(rows), "--seed", "7", "--out", str(folder)],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    truth = json.loads((folder / "truth.json").read_text())
    decl = max(truth["files"], key=lambda d: d["rows"])
    return folder, decl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--bytecode", action="store_true", help="run with a warmed bytecode cache")
    args = parser.parse_args()
    base_env = bytecode_env() if args.bytecode else dict(os.environ)
    folder, decl = network(args.rows)
    csv_path = folder / decl["file"]
    rows = int(decl["rows"])
    floor_runs: list[Run] = []
    ours_runs: list[Run] = []
    with tempfile.TemporaryDirectory(dir=ROOT / "bench-data") as tmp:
        for i in range(args.rounds):
            floor_runs.append(
                measure([sys.executable, "-c", FLOOR, str(csv_path), f"{tmp}/floor{i}.parquet"], base_env)
            )
            env = dict(base_env, O2O_HOME=f"{tmp}/ws{i}")
            env.pop("O2O_DATABASE_URL", None)
            subprocess.run([*O2O, "operator", "add", "--file", str(folder / "operators.toml")], env=env,
                           check=True, stdout=subprocess.DEVNULL)  # fmt: skip
            subprocess.run([*O2O, "agreement", "load", str(folder / "agreements" / f"{decl['agreement']}.toml")],
                           env=env, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
            ours_runs.append(
                measure(
                    [
                        *O2O,
                        "usage",
                        "import",
                        str(csv_path),
                        "--agreement",
                        decl["agreement"],
                        "--period",
                        truth_period(folder),
                        "--declarer",
                        decl["declarer"],
                        "--service",
                        decl["service"],
                    ],
                    env,
                )
            )
    floor, ours = best(floor_runs), best(ours_runs)
    print(f"rows: {rows:,} ({csv_path.stat().st_size / 1e6:.0f} MB CSV), best of {args.rounds} rounds")
    compiled = args.bytecode or not os.environ.get("PYTHONDONTWRITEBYTECODE") or _installed_compiled()
    print(f"python bytecode: {'cached' if compiled else 'compiled from source in every process'}")
    print(f"{'':28}{'wall s':>8}{'cpu s':>8}{'rows/s':>12}{'peak RSS MB':>13}")
    for name, r in (("DuckDB read_csv → Parquet", floor), ("o2o usage import", ours)):
        print(
            f"{name:28}{r.seconds:>8.2f}{r.cpu_seconds:>8.2f}{rows / r.seconds:>12,.0f}{r.peak_rss_mb:>13.0f}"
        )
    print(
        f"ratio import / floor: {ours.seconds / floor.seconds:.2f}x wall, "
        f"{ours.cpu_seconds / floor.cpu_seconds:.2f}x CPU, {ours.peak_rss_mb / floor.peak_rss_mb:.2f}x peak RSS"
        "   (goal: at most 2x)"
    )


def _installed_compiled() -> bool:
    """Whether the environment holds compiled bytecode (as `make` installs it) for what the import loads."""
    import importlib.util

    import sqlalchemy

    import o2o.cli.app

    sources = (Path(sqlalchemy.__file__), Path(o2o.cli.app.__file__))
    return all(Path(importlib.util.cache_from_source(str(p))).exists() for p in sources)


def bytecode_env() -> dict[str, str]:
    """An environment whose bytecode cache (under bench-data/) holds every module both contenders import."""
    env = dict(os.environ, PYTHONPYCACHEPREFIX=str(ROOT / "bench-data" / "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a module first imported later is cached then
    modules = "o2o.cli.app, o2o.cli.usage, o2o.services.usage, o2o.lake.usage_import, o2o.services.settlement"
    subprocess.run([sys.executable, "-c", f"import duckdb, pyarrow.parquet, {modules}"], env=env, check=True)
    return env


def truth_period(folder: Path) -> str:
    return str(json.loads((folder / "truth.json").read_text())["period"])


if __name__ == "__main__":
    main()
