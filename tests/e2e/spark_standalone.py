"""Processes of the Compose deployment started on this machine without Docker: a Spark standalone master and
worker from the installed pyspark's `spark-class` (as deploy/compose.yaml starts them), and any command in a
process group of its own, stopped whole (the Spark worker's executors and their Python workers, an
`o2o worker`'s Spark driver JVM are its children). Everything listens on 127.0.0.1 (`SPARK_LOCAL_IP`).

A plain module, not a conftest: imported by the test that runs the topology."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from hub_server import free_port

READY_WITHIN_S = 120
STOP_WITHIN_S = 20

COMPOSE = Path(__file__).resolve().parents[2] / "deploy" / "compose.yaml"

# The test's own settings, in the `spark-defaults.conf` every Spark process of it reads (SPARK_CONF_DIR): the
# master's REST submission server off (a fixed port, 6066, unused); `o2o.spark.session.SMALL_DATA`, few
# shuffle partitions, and the executors' JVMs (and the daemons') on the first JIT tier as the driver's: tiny
# data, where each Spark job's fixed cost is all there is. What the deployment sets is the Compose file's.
JIT = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
SPARK_DEFAULTS = {
    "spark.master.rest.enabled": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.executor.extraJavaOptions": JIT,
}


def require(what: str, found: bool) -> None:
    """A missing dependency: a failure in CI, else a skip."""
    if found:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is required in CI and is missing")
    pytest.skip(f"{what} is missing")


def spark_home() -> Path:
    """The installed pyspark, which carries `bin/spark-class` and the jars (the `spark` extra); not imported."""
    spec = importlib.util.find_spec("pyspark")
    require("pyspark (the spark extra)", spec is not None and spec.origin is not None)
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent


def java_found() -> bool:
    home = os.environ.get("JAVA_HOME")
    return bool(home and (Path(home) / "bin" / "java").is_file()) or shutil.which("java") is not None


def spark_env(conf_dir: Path) -> dict[str, str]:
    """The environment of every Spark process here: loopback, this pyspark, the test's spark-defaults.conf,
    and executors that run this interpreter (a real cluster's workers have o2o-settle installed)."""
    from o2o.spark.session import SMALL_DATA

    conf_dir.mkdir(parents=True, exist_ok=True)
    settings = {**SMALL_DATA, **SPARK_DEFAULTS}
    (conf_dir / "spark-defaults.conf").write_text(
        "".join(f"{key} {value}\n" for key, value in settings.items()), encoding="utf-8"
    )
    return {
        **os.environ,
        "SPARK_HOME": str(spark_home()),
        "SPARK_CONF_DIR": str(conf_dir),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
    }


@contextmanager
def process_group(command: list[str], log: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """`command` in a session of its own (its output in `log`) until the block ends, however it ends: then
    its whole process group gets SIGTERM, and SIGKILL if it has not ended within `STOP_WITHIN_S`."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        yield proc
    finally:
        _stop_group(proc)


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=STOP_WITHIN_S)
    # The leader has ended; its children (executors, a driver's JVM) may not have: the group is killed.
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@dataclass(frozen=True)
class ComposeSpark:
    """What deploy/compose.yaml gives its Spark daemons: the master's options, the worker's cores and memory."""

    master_opts: str
    cores: int
    memory: str


def compose_spark() -> ComposeSpark:
    services = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    worker = services["spark-worker"]["command"]
    return ComposeSpark(
        str((services["spark-master"].get("environment") or {}).get("SPARK_MASTER_OPTS", "")),
        int(worker[worker.index("--cores") + 1]),
        str(worker[worker.index("--memory") + 1]),
    )


@dataclass(frozen=True)
class SparkCluster:
    """A standalone master and worker: the master's URL, the web UIs, the worker's work folder, the
    processes (each with its log) and the environment they run in."""

    master: str
    master_ui: str
    worker_ui: str
    work_dir: Path
    env: dict[str, str]
    daemons: tuple[tuple[subprocess.Popen[bytes], Path], ...]

    def state(self) -> dict[str, Any]:
        """The master's JSON: workers, active and completed applications."""
        return dict(httpx.get(f"{self.master_ui}/json/", timeout=10).json())

    def worker_state(self) -> dict[str, Any]:
        """The worker's JSON: its executors (and the application each belongs to)."""
        return dict(httpx.get(f"{self.worker_ui}/json/", timeout=10).json())

    def wait_ready(self) -> None:
        """Until the master is alive with the worker registered (a daemon that exits fails with its log)."""
        deadline = time.monotonic() + READY_WITHIN_S
        while time.monotonic() < deadline:
            for proc, log in self.daemons:
                assert proc.poll() is None, f"{log.stem} exited with {proc.returncode}: {tail(log)}"
            try:
                state = self.state()
                if state["status"] == "ALIVE" and state["aliveworkers"] == 1:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        logs = "\n".join(tail(log) for _, log in self.daemons)
        raise AssertionError(f"the Spark cluster not ready within {READY_WITHIN_S} s: {logs}")


@contextmanager
def spark_cluster(folder: Path, compose: ComposeSpark) -> Iterator[SparkCluster]:
    """A Spark master and one worker started as deploy/compose.yaml starts them (its master's options, its
    worker's cores and memory for executors), on free loopback ports, both at once (the worker retries until the master listens): the block
    runs while they start, `wait_ready()` waits for them. Stopped (with their executors) when it ends."""
    require("Java (for Spark)", java_found())
    env = spark_env(folder / "conf")
    spark_class = str(spark_home() / "bin" / "spark-class")
    port, master_ui_port, worker_ui_port = free_port(), free_port(), free_port()
    master = f"spark://127.0.0.1:{port}"
    work_dir = folder / "work"
    commands = {
        "spark-master": ["org.apache.spark.deploy.master.Master",
                         "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(master_ui_port)],
        "spark-worker": ["org.apache.spark.deploy.worker.Worker", master,
                         "--host", "127.0.0.1", "--cores", str(compose.cores), "--memory", compose.memory,
                         "--webui-port", str(worker_ui_port), "--work-dir", str(work_dir)],
    }  # fmt: skip
    daemon_env = {**env, "SPARK_DAEMON_JAVA_OPTS": JIT, "SPARK_MASTER_OPTS": compose.master_opts}
    with ExitStack() as stack:
        daemons = tuple(
            (stack.enter_context(process_group([spark_class, *args], folder / f"{name}.log", daemon_env)),
             folder / f"{name}.log")
            for name, args in commands.items()
        )  # fmt: skip
        ui = "http://127.0.0.1:{}".format
        yield SparkCluster(master, ui(master_ui_port), ui(worker_ui_port), work_dir, env, daemons)


def tail(log: Path, lines: int = 40) -> str:
    """The end of a process's log, for a failure's message."""
    if not log.is_file():
        return f"(no log at {log})"
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
