"""Privacy mode: `o2o usage pseudonymise` of a generated CSV beside `o2o usage import` of the same file (the
baseline), and the hub's import of the pseudonymised output beside the clear import.

Prints wall time, CPU time and peak RSS of each, measured in the same run, and the ratios.
    .venv/bin/python benchmarks/pseudonymise_bench.py [--rows 1000000] [--rounds 2]
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
from import_bench import network, truth_period

ROOT = Path(__file__).resolve().parent.parent
O2O = [sys.executable, "-c", "from o2o.cli.app import main; main()"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    folder, decl = network(args.rows)
    csv_path = folder / decl["file"]
    rows = int(decl["rows"])
    period = truth_period(folder)
    declared = [
        "--agreement",
        decl["agreement"],
        "--declarer",
        decl["declarer"],
        "--service",
        decl["service"],
    ]
    runs: dict[str, list[Run]] = {"import": [], "pseudonymise": [], "import pseudonymised": []}
    (ROOT / "bench-data").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "bench-data") as tmp:
        secret = Path(tmp) / "shared.secret"
        secret.write_text(os.urandom(32).hex())
        for i in range(args.rounds):
            homes = {}
            for name in ("clear", "hub"):
                env = dict(os.environ, O2O_HOME=f"{tmp}/{name}{i}")
                env.pop("O2O_DATABASE_URL", None)
                for step in (
                    ["operator", "add", "--file", str(folder / "operators.toml")],
                    ["agreement", "load", str(folder / "agreements" / f"{decl['agreement']}.toml")],
                ):
                    subprocess.run([*O2O, *step], env=env, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
                homes[name] = env
            out = Path(tmp) / f"pseudonymised{i}.csv"
            runs["import"].append(
                measure(
                    [*O2O, "usage", "import", str(csv_path), "--period", period, *declared], homes["clear"]
                )
            )
            pseudonymise = [
                "usage",
                "pseudonymise",
                str(csv_path),
                "--secret-file",
                str(secret),
                "--out",
                str(out),
            ]
            runs["pseudonymise"].append(measure([*O2O, *pseudonymise, *declared], homes["clear"]))
            runs["import pseudonymised"].append(
                measure([*O2O, "usage", "import", str(out), "--period", period, *declared], homes["hub"])
            )
    results = {name: best(r) for name, r in runs.items()}
    print(f"rows: {rows:,} ({csv_path.stat().st_size / 1e6:.0f} MB CSV), best of {args.rounds} rounds")
    print(f"{'':28}{'wall s':>8}{'cpu s':>8}{'rows/s':>12}{'peak RSS MB':>13}")
    for name, r in results.items():
        print(
            f"{name:28}{r.seconds:>8.2f}{r.cpu_seconds:>8.2f}{rows / r.seconds:>12,.0f}{r.peak_rss_mb:>13.0f}"
        )
    base = results["import"]
    for name in ("pseudonymise", "import pseudonymised"):
        r = results[name]
        print(
            f"ratio {name} / import: {r.seconds / base.seconds:.2f}x wall, "
            f"{r.cpu_seconds / base.cpu_seconds:.2f}x CPU, {r.peak_rss_mb / base.peak_rss_mb:.2f}x peak RSS"
        )


if __name__ == "__main__":
    main()
