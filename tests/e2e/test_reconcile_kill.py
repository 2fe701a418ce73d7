"""Clean-up after a kill, through the CLI on SQLite and PostgreSQL: a reconciliation killed mid-way leaves
a claimed `lake/results/…/run-*` folder that the next reconciliation (or any write's staging sweep)
removes, never a live or committed run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import cycle_steps

PERIOD = "2026-10"


@pytest.fixture
def declared(db_cli: Any, db_workspace: Path, tmp_path: Path) -> tuple[Any, dict[str, Any]]:
    """A generated two-operator network, every usage file declared."""
    net, truth, ag = cycle_steps.declared(
        db_cli, tmp_path, cdrs=3000, seed=7, zero_tolerance=False, keys=False, period=PERIOD
    )
    return db_cli, {"truth": truth, "net": net, "home": db_workspace, "agreement": ag["id"]}


def runs(home: Path, agreement: str) -> dict[str, set[Path]]:
    """Each results run folder of the period and the files in it."""
    folder = home / "lake" / "results" / agreement / PERIOD
    return {run.name: {p for p in run.rglob("*") if p.is_file()} for run in folder.iterdir()}


def named_run(cli: Any, agreement: str) -> str:
    """The run folder the stored statement's evidence names."""
    evidence = json.dumps(cli("statement", "show", f"ST-{agreement}-{PERIOD}", "--json").json())
    (name,) = {part for part in evidence.split("/") if part.startswith("run-")}
    return name


def reconcile(cli: Any, agreement: str) -> None:
    r = cli("reconcile", "--agreement", agreement, "--period", PERIOD)
    assert r.code == 0, r.err


def test_a_killed_reconciliation_leaves_no_orphan_run_after_the_next(
    declared: tuple[Any, dict[str, Any]],
) -> None:
    cli, ctx = declared
    home, ag = ctx["home"], ctx["agreement"]
    reconcile(cli, ag)
    committed = runs(home, ag)
    (first,) = committed
    assert named_run(cli, ag) == first

    cmd = [sys.executable, "-c", "from o2o.cli.app import main; main()", "reconcile", "--agreement", ag,
           "--period", PERIOD]  # fmt: skip
    proc = subprocess.Popen(cmd, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    staging = home / "lake" / ".staging"
    deadline = time.monotonic() + 120

    def started() -> bool:  # its claim is written and the folder it names is made: rating has begun
        claims = list(staging.glob(f"{proc.pid}-*.run"))
        # A claim read while it is being written is empty (and "lake/" + "" is a folder): wait for its text.
        named = claims[0].read_text(encoding="utf-8").strip() if claims else ""
        return bool(named) and (home / "lake" / named).is_dir()

    while time.monotonic() < deadline and proc.poll() is None and not started():
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the reconciliation ended before it could be killed mid-way"
    (orphan,) = set(runs(home, ag)) - {first}  # what the killed process left: its run folder, claimed
    assert list(staging.glob(f"{proc.pid}-*.run"))

    reconcile(cli, ag)
    after = runs(home, ag)
    assert orphan not in after
    assert not list(staging.iterdir())
    assert after[first] == committed[first]  # the earlier committed run is intact
    (latest,) = set(after) - {first}
    assert named_run(cli, ag) == latest
    assert after[latest]


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def claim(home: Path, pid: int, token: str, suffix: str, agreement: str, make: bool = True) -> Path:
    """A run folder and its claim, as a reconciliation by `pid` leaves them."""
    run = f"results/{agreement}/{PERIOD}/run-{token}"
    if make:
        (home / "lake" / run / "voice").mkdir(parents=True)
        (home / "lake" / run / "voice" / "part.parquet").write_bytes(b"PAR1")
    path = home / "lake" / ".staging" / f"{pid}-{token}{suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(run, encoding="utf-8")
    return path


def test_sweeps_remove_dead_writers_runs_only(declared: tuple[Any, dict[str, Any]]) -> None:
    cli, ctx = declared
    home, ag = ctx["home"], ctx["agreement"]
    reconcile(cli, ag)
    (first,) = committed = runs(home, ag)
    dead = dead_pid()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        live_claim = claim(home, live.pid, "0a11fe01", ".run", ag)
        # A writer killed within its commit: one run committed (the statement names it), one not. Only a
        # sweep that asks the store (the next reconciliation) can tell them apart.
        in_commit = claim(home, dead, first.removeprefix("run-"), ".committing", ag, make=False)
        uncommitted = claim(home, dead, "0dead002", ".committing", ag)
        reconcile(cli, ag)
        after = runs(home, ag)
        assert after[first] == committed[first]
        assert "run-0dead002" not in after
        assert "run-0a11fe01" in after and live_claim.exists()
        assert not in_commit.exists() and not uncommitted.exists()

        # Any write's staging sweep (here a usage import) removes a run whose writer died before committing.
        orphan = claim(home, dead, "0dead001", ".run", ag)
        uncommitted = claim(home, dead, "0dead003", ".committing", ag)
        f = ctx["truth"]["files"][0]
        header, *rows = (ctx["net"] / f["file"]).read_text(encoding="utf-8").splitlines()
        corrected = ctx["net"] / "corrected.csv"
        corrected.write_text("\n".join([header, *rows[1:], rows[0]]) + "\n", encoding="utf-8")
        r = cli("usage", "import", corrected, "--agreement", f["agreement"], "--period", PERIOD,
                "--declarer", f["declarer"], "--service", f["service"])  # fmt: skip
        assert r.code == 0, r.err
        assert not orphan.exists() and "run-0dead001" not in runs(home, ag)
        assert {"run-0a11fe01", "run-0dead003", first} <= set(runs(home, ag)) and uncommitted.exists()
        assert live_claim.exists()
    finally:
        live.kill()
        live.wait()
