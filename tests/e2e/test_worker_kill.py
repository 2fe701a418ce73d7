"""Workers are processes that die: on PostgreSQL, two `o2o worker` processes take each queued job once, and a
worker killed (SIGKILL) in the middle of a reconciliation leaves the job `running` under a lease that runs
out; the next worker takes it again and finishes it, or fails it with the reason once its attempts are used
up. Either way nothing is half-applied: the statement is the one a whole run writes, and the store agrees
with the ledger. Jobs are started and watched through the HTTP API, as the hub's admin does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import cycle_steps
from harness import cli_invoker, postgres_database

pytestmark = pytest.mark.postgres

WORKER = [sys.executable, "-c", "from o2o.cli.app import main; main()", "worker"]


@pytest.fixture
def declared_pg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[tuple[Any, Any, dict[str, Any], Path]]:
    """A PostgreSQL workspace with a generated network declared (big enough that a reconciliation takes a
    while), an API client and the hub admin's token."""
    for url in postgres_database():
        home = tmp_path / "o2o-data"
        monkeypatch.setenv("O2O_HOME", str(home))
        monkeypatch.setenv("O2O_DATABASE_URL", url)
        cli = cli_invoker(capsys)
        _, truth, ag = cycle_steps.declared(cli, tmp_path, cdrs=20000, seed=7, keys=False)
        token = cli("hub", "token", "create", "--operator", "HUB", "--role", "admin", "--json").json()[
            "token"
        ]
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*httpx.*")
            from fastapi.testclient import TestClient
        from o2o.api.app import create_app

        client = TestClient(create_app())
        client.headers["Authorization"] = f"Bearer {token}"
        yield cli, client, {"agreement": ag["id"], "period": truth["period"]}, home


def _job(client: Any, job_id: str) -> dict[str, Any]:
    r = client.get(f"/api/v1/jobs/{job_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def _kill_mid_reconciliation(client: Any, home: Path, job_id: str) -> int:
    """Start a worker, wait until it is rating (its claim on a results run is in the lake's staging), kill it."""
    proc = subprocess.Popen([*WORKER, "--lease", "3", "--poll", "0.1"], env=dict(os.environ),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    staging = home / "lake" / ".staging"
    deadline = time.monotonic() + 120

    def rating() -> bool:
        claims = list(staging.glob(f"{proc.pid}-*.run")) if staging.is_dir() else []
        return bool(claims) and bool(claims[0].read_text(encoding="utf-8").strip())

    while time.monotonic() < deadline and proc.poll() is None and not rating():
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the worker ended before it could be killed"
    job = _job(client, job_id)
    assert job["state"] == "running", "killed mid-job: nothing recorded the job as ended"
    assert job["worker"] is not None and f":{proc.pid}:" in job["worker"]
    return proc.pid


def _after_lease(client: Any, job_id: str) -> None:
    lease = datetime.fromisoformat(_job(client, job_id)["lease_until"])
    while datetime.now(lease.tzinfo) <= lease:
        time.sleep(0.1)


def _store_matches_ledger(cli: Any) -> None:
    r = cli("ledger", "verify", "--store", "--json")
    assert r.code == 0, r.out + r.err
    assert r.json()["ok"] is True


def test_a_killed_worker_leaves_the_job_retried_or_failed_never_half_applied(
    declared_pg: tuple[Any, Any, dict[str, Any], Path],
) -> None:
    cli, client, ids, home = declared_pg
    run = {"period": ids["period"], "agreement": ids["agreement"], "max_attempts": 2}
    job_id = client.post("/api/v1/reconcile-runs", json=run).json()["id"]
    dead = _kill_mid_reconciliation(client, home, job_id)
    assert cli("statement", "list", "--period", ids["period"], "--json").json() == [], "no statement yet"

    _after_lease(client, job_id)
    r = cli("worker", "--once", "--lease", "3", "--json")
    assert r.code == 0, r.err
    (finished,) = r.json()
    job = _job(client, job_id)
    assert finished["id"] == job_id and job["state"] == "done" and job["attempts"] == 2
    assert f":{dead}:" not in job["worker"]
    (statement,) = cli("statement", "list", "--period", ids["period"], "--json").json()
    assert job["result"]["statements"][0]["statement"] == statement["id"]
    _store_matches_ledger(cli)

    # Once more with one attempt: the worker dies re-reconciling; the job fails with why, and the statement
    # the first job wrote stands as it was.
    run["max_attempts"] = 1
    job_id = client.post("/api/v1/reconcile-runs", json=run).json()["id"]
    _kill_mid_reconciliation(client, home, job_id)
    _after_lease(client, job_id)
    r = cli("worker", "--once", "--json")
    assert r.code == 0, r.err
    assert r.json() == []
    job = _job(client, job_id)
    assert job["state"] == "failed" and job["attempts"] == 1
    assert "stopped (its lease expired" in job["error"] and "attempt 1 of 1; not taken again" in job["error"]
    assert cli("statement", "list", "--period", ids["period"], "--json").json() == [statement]
    _store_matches_ledger(cli)


def test_two_worker_processes_take_each_job_once(declared_pg: tuple[Any, Any, dict[str, Any], Path]) -> None:
    """Netting jobs of a month with nothing signed: each worker fails the ones it takes, at once, with the
    reason; between them every job is taken, and none twice."""
    _, client, _, _ = declared_pg
    queued = {
        client.post("/api/v1/netting-rounds", json={"period": "2026-01"}).json()["id"] for _ in range(24)
    }
    procs = [
        subprocess.Popen(
            [*WORKER, "--once", "--no-webhooks", "--json"],
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
    taken = [job["id"] for out in outputs for job in out]
    assert sorted(taken) == sorted(queued), "every job taken, none twice"
    for out in outputs:
        for job in out:
            stored = _job(client, job["id"])
            assert stored["state"] == "failed" and stored["attempts"] == 1
            assert stored["worker"] == job["worker"]
            assert "no signed statements with open obligations" in stored["error"]
