"""The deployment of deploy/compose.yaml run for real without Docker, as separate processes of this machine on
loopback: PostgreSQL (a database of the test's own), `o2o init`, the hub (`o2o serve`), two `o2o worker`
processes with `O2O_ENGINE=spark` sharing `O2O_HOME` and the database, and a Spark standalone master and
worker started from the installed pyspark's `spark-class` with the Compose file's settings (the master's
options, the worker's 2 cores and 2 GB).

Everything goes through the hub as its users would: the admin loads a generated network's operators and
agreements over the API, each operator declares its usage with `o2o hub declare`, and the admin queues one
reconciliation job per agreement. Then: every job is done, once, and both worker processes took jobs; the
Spark master ran an application for each worker's driver and the Spark worker ran their executors; the
runs' match files are Spark's (Parquet folders); and the statements are those the same network gives
reconciled locally with DuckDB, in a workspace of its own.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from spark_standalone import compose_spark, process_group, spark_cluster, tail

from harness import cli_invoker, postgres_database, without_lake_paths
from hub_server import running_hub

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

O2O = [sys.executable, "-c", "from o2o.cli.app import main; main()"]
# A guard against a hang (a job no worker can finish), not a timing assertion: the jobs take ~1.5 min here.
JOBS_WITHIN_S = 900


@pytest.fixture
def network(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, dict[str, Any]]:
    """Three operators, an agreement for each pair, one voice direction each, zero absolute tolerance (a
    line over 1% is disputed): small, so that each Spark job's fixed cost is what the test pays."""
    net = tmp_path / "net"
    r = cli_invoker(capsys)(
        "generate", "--operators", "3", "--cdrs", "600", "--seed", "5", "--services", "voice", "--one-way",
        "--tolerance-absolute", "0", "--out", net,
    )  # fmt: skip
    assert r.code == 0, r.err
    return net, json.loads((net / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture
def hub_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The hub's workspace (`O2O_HOME`) on a fresh PostgreSQL database, dropped afterwards; in this process's
    environment, which the hub and the workers are started with (as the Compose file gives them both)."""
    for url in postgres_database():
        home = tmp_path / "hub" / "o2o-data"
        monkeypatch.setenv("O2O_HOME", str(home))
        monkeypatch.setenv("O2O_DATABASE_URL", url)
        yield home


def test_two_workers_run_the_hubs_jobs_on_a_spark_cluster(
    network: tuple[Path, dict[str, Any]],
    hub_database: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    net, truth = network
    period = truth["period"]
    agreements = sorted(ag["id"] for ag in truth["agreements"])
    cli = cli_invoker(capsys)
    assert cli("init").code == 0  # the Compose file's `init` service
    logs = tmp_path / "logs"
    logs.mkdir()
    with ExitStack() as stack:
        cluster = stack.enter_context(spark_cluster(tmp_path / "spark", compose_spark()))
        on_spark = {**cluster.env, "O2O_ENGINE": "spark", "O2O_SPARK_MASTER": cluster.master}
        workers = [
            stack.enter_context(process_group([*O2O, "worker", "--poll", "0.2", *extra],
                                              logs / f"worker-{n}.log", on_spark))
            for n, extra in ((1, []), (2, ["--no-webhooks"]))
        ]  # fmt: skip
        url = stack.enter_context(running_hub(logs / "hub.log"))
        admin = stack.enter_context(
            httpx.Client(base_url=f"{url}/api/v1", headers=_bearer(cli, "HUB", "admin"))
        )
        _load(admin, net, truth)
        _declare(cli, url, net, truth)
        cluster.wait_ready()  # started meanwhile
        queued = [
            _post(admin, "/reconcile-runs", {"period": period, "agreement": ag})["id"] for ag in agreements
        ]

        # DuckDB's statements of the same network, meanwhile, in a local workspace of its own.
        local = _reconciled_locally(cli, tmp_path / "local", net, truth, monkeypatch)

        jobs = _wait_for(admin, queued, workers, logs)
        every_job = _get(admin, "/jobs")
        apps = cluster.state()["activeapps"]  # while the workers, and so their drivers, still run
        executors = cluster.worker_state()["executors"]
        shown = {ag: _shown(cli, statement) for ag, statement in _statements(jobs).items()}
        stack.close()  # the workers, the hub and the cluster stopped (as on a failure), then the checks

    # Every job done, once, by one of the two workers, and both took some.
    assert [job["state"] for job in jobs] == ["done"] * len(agreements), [job["error"] for job in jobs]
    assert [job["attempts"] for job in jobs] == [1] * len(agreements), jobs
    assert sorted(job["id"] for job in every_job) == sorted(queued), "no other job, none queued twice"
    pids = {job["worker"].split(":")[1] for job in jobs}
    assert pids == {str(w.pid) for w in workers}, (
        f"jobs taken by {pids}; the workers are {[w.pid for w in workers]}"
    )

    # Each worker's driver was an application of the master, and its executors ran on the Spark worker.
    assert [app["name"] for app in apps] == ["o2o-settle", "o2o-settle"], apps
    app_ids = {app["id"] for app in apps}
    assert {ex["appid"] for ex in executors} == app_ids, executors
    assert {p.name for p in cluster.work_dir.iterdir()} == app_ids, "each application's executors' folder"

    # The statements are DuckDB's; the runs were matched on Spark (its outputs are Parquet folders).
    assert [s for job in jobs for s in job["result"]["statements"]] == local["reports"]
    assert any(s["disputes"] for s in local["reports"]), "zero absolute tolerance leaves some line disputed"
    assert sorted(shown) == agreements
    for ag, statement in shown.items():
        assert without_lake_paths(statement) == without_lake_paths(local["shown"][ag]), ag
        for line in statement["evidence"].values():
            assert (hub_database / "lake" / line["match"]["files"] / "matches.parquet").is_dir(), line


# --- the hub's users ---------------------------------------------------------------------------------------


def _bearer(cli: Any, operator: str, role: str) -> dict[str, str]:
    """A token made on the hub's host (`o2o hub token create`), as the Authorization header."""
    r = cli("hub", "token", "create", "--operator", operator, "--role", role, "--json")
    assert r.code == 0, r.err
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _get(client: httpx.Client, path: str) -> Any:
    r = client.get(path)
    assert r.status_code == 200, r.text
    return r.json()


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> Any:
    r = client.post(path, json=body)
    assert r.status_code in (200, 201, 202), r.text
    return r.json()


def _load(admin: httpx.Client, net: Path, truth: dict[str, Any]) -> None:
    """The admin adds the operators (the network's file) and loads each agreement, over the API."""
    with (net / "operators.toml").open("rb") as fh:
        r = admin.post("/admin/operators/file", files={"file": ("operators.toml", fh)})
    assert r.status_code in (200, 201), r.text
    for ag in truth["agreements"]:
        with (net / ag["file"]).open("rb") as fh:
            r = admin.post("/admin/agreements", files={"file": (Path(ag["file"]).name, fh)})
        assert r.status_code in (200, 201), r.text


def _declare(cli: Any, url: str, net: Path, truth: dict[str, Any]) -> None:
    """Each operator's analyst declares its usage files with `o2o hub declare` (the file streamed up)."""
    tokens = {op: _bearer(cli, op, "analyst")["Authorization"].split()[1] for op in truth["operators"]}
    for f in truth["files"]:
        r = cli("hub", "declare", net / f["file"], "--agreement", f["agreement"], "--period", truth["period"],
                "--service", f["service"], "--hub", url, "--token", tokens[f["declarer"]])  # fmt: skip
        assert r.code == 0, r.out + r.err


def _wait_for(admin: httpx.Client, queued: list[str], workers: list[Any], logs: Path) -> list[dict[str, Any]]:
    """The jobs once none is queued or running; a worker that exits meanwhile fails the test with its log."""
    deadline = time.monotonic() + JOBS_WITHIN_S
    while True:
        jobs = [_get(admin, f"/jobs/{job_id}") for job_id in queued]
        if all(job["state"] in ("done", "failed") for job in jobs):
            return jobs
        for n, worker in enumerate(workers, 1):
            assert worker.poll() is None, f"worker {n} exited: {tail(logs / f'worker-{n}.log')}"
        assert time.monotonic() < deadline, f"jobs unfinished: {jobs}\n" + "\n".join(
            tail(logs / f"worker-{n}.log", 10) for n in (1, 2)
        )
        time.sleep(0.5)


def _statements(jobs: list[dict[str, Any]]) -> dict[str, str]:
    return {s["agreement"]: s["statement"] for job in jobs for s in job["result"]["statements"]}


def _shown(cli: Any, statement: str) -> Any:
    """`o2o statement show --json` (figures, states, disputes, evidence counts) on the current workspace."""
    r = cli("statement", "show", statement, "--json")
    assert r.code == 0, r.err
    return r.json()


# --- the reference: the same network reconciled locally with DuckDB ------------------------------------------


def _reconciled_locally(
    cli: Any, home: Path, net: Path, truth: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """The network loaded and declared in a SQLite workspace of its own and reconciled (DuckDB): each
    agreement's report (as a job's result gives it) and its statement as `o2o statement show` gives it."""
    from cycle_steps import declare_all

    with monkeypatch.context() as env:
        env.setenv("O2O_HOME", str(home))
        env.delenv("O2O_DATABASE_URL")
        assert cli("operator", "add", "--file", net / "operators.toml").code == 0
        for ag in truth["agreements"]:
            assert cli("agreement", "load", net / ag["file"]).code == 0
        declare_all(cli, net, truth, truth["period"])
        r = cli("reconcile", "--period", truth["period"], "--json")
        assert r.code == 0, r.err
        keys = ("agreement", "statement", "state", "disputes")
        reports = sorted(({k: rep[k] for k in keys} for rep in r.json()), key=lambda rep: rep["agreement"])
        shown = {rep["agreement"]: _shown(cli, rep["statement"]) for rep in reports}
    return {"reports": reports, "shown": shown}
