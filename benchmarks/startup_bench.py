"""Start-up of the `o2o` command: `--version`, `--help` and the light database commands, beside the
interpreter's own start-up (`python -c pass`) measured in the same run.

Each command runs in a fresh child process through the installed `o2o` entry point, on a workspace made
for the run (SQLite, two operators); the best of `--runs` wall and CPU times is kept (CPU time, user +
system, is the steadier figure on a shared machine), with its ratio to `python -c pass`. What a light
command may cost: the CLI framework and, for a database command, SQLAlchemy and the settings; never the
engines' libraries (DuckDB, Arrow, NumPy, OR-Tools, HiGHS), which load only in the commands that compute.
Goals: `o2o --version` under 0.3 s, the light database commands well under 1 s.

    .venv/bin/python benchmarks/startup_bench.py             # 7 runs of each command
    .venv/bin/python benchmarks/startup_bench.py --runs 3
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _measure import Run, best, measure

OPERATORS = """
[[operators]]
id = "ALFA"
name = "Alfa Telecom plc"
currency = "GBP"
country_code = "44"

[[operators]]
id = "BETA"
name = "Beta Netz GmbH"
currency = "EUR"
country_code = "49"
"""

COMMANDS: list[list[str]] = [
    ["--version"],
    ["version"],
    ["--help"],
    ["operator", "list"],
    ["usage", "list"],
    ["cycle", "status"],
    ["dispute", "list"],
    ["payment", "list"],
]


def _workspace(home: Path, o2o: Path, env: dict[str, str]) -> None:
    """Create the run's workspace (its database migrated once, outside the measurements)."""
    operators = home.parent / "operators.toml"
    operators.write_text(OPERATORS, encoding="utf-8")
    for args in (["init"], ["operator", "add", "--file", str(operators)]):
        subprocess.run([str(o2o), *args], env=env, check=True, stdout=subprocess.DEVNULL)


def _row(name: str, run: Run, floor: Run) -> str:
    return (
        f"{name:22}{run.seconds:9.3f}{run.cpu_seconds:9.3f}"
        f"{run.seconds / floor.seconds:10.1f}x{run.cpu_seconds / max(floor.cpu_seconds, 1e-3):9.1f}x"
        f"{run.peak_rss_mb:10.0f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7, help="runs of each command (the best is kept)")
    args = ap.parse_args()
    o2o = Path(sys.executable).with_name("o2o")
    if not o2o.exists():
        sys.exit(f"no o2o entry point beside {sys.executable}: run `make venv` first")
    with tempfile.TemporaryDirectory(prefix="o2o-startup-") as tmp:
        home = Path(tmp) / "o2o-data"
        env = {k: v for k, v in os.environ.items() if k != "O2O_DATABASE_URL"} | {"O2O_HOME": str(home)}
        _workspace(home, o2o, env)
        floor = best([measure([sys.executable, "-c", "pass"], env) for _ in range(args.runs)])
        runs = {
            " ".join(cmd): best([measure([str(o2o), *cmd], env) for _ in range(args.runs)])
            for cmd in COMMANDS
        }
    print(f"o2o start-up, best of {args.runs} runs each, beside `python -c pass`")
    print(f"{'':22}{'wall s':>9}{'cpu s':>9}{'wall/pass':>11}{'cpu/pass':>10}{'RSS MB':>10}")
    print(_row("python -c pass", floor, floor))
    for name, run in runs.items():
        print(_row(f"o2o {name}", run, floor))


if __name__ == "__main__":
    main()
