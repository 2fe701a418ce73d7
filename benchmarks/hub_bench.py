"""The hub under load, on loopback: a real `o2o serve` (embedded default, SQLite) and 8 operators' clients at
once, each uploading its usage files, polling status and reading statements; p50/p99 latency per kind and
the errors. Then a large upload through the API beside the local `o2o usage import` of the same file, as a
ratio (goal: within 1.3x).

    .venv/bin/python benchmarks/hub_bench.py [--cdrs 8000] [--iterations 8] [--rows 300000]
    .venv/bin/python benchmarks/hub_bench.py --rows 5000000 --skip-load     # the 5M-row upload

Load: the network is generated (8 operators, 14 agreements), every file declared and the period reconciled
before the clients start, so there are statements to read. Each client, as its operator's analyst, does per
iteration: one upload of one of its own files (the same bytes again: the hub spools and hashes the whole
body and answers 200 "already declared"; the import itself is what the second part measures), a status poll
(`GET /cycles?period=`), an events poll (`GET /events`), the statements list and each of its statements.
Upload vs local: each in a fresh workspace holding the file's two operators and agreement; the local figure
is the `o2o usage import` process (a user's command, start-up included), the upload figure the HTTP request
from the first byte sent to the answer (the server already running).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _measure import measure

ROOT = Path(__file__).resolve().parent.parent
O2O = [sys.executable, "-c", "from o2o.cli.app import main; main()"]


def o2o(env: dict[str, str], *args: str | Path) -> str:
    done = subprocess.run([*O2O, *map(str, args)], env=env, check=True, capture_output=True, text=True)
    return done.stdout


def generated(name: str, *args: str) -> tuple[Path, dict[str, Any]]:
    folder = ROOT / "bench-data" / name
    if not (folder / "truth.json").exists():
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run([*O2O, "generate", *args, "--out", str(folder)], check=True, stdout=subprocess.DEVNULL)
    return folder, json.loads((folder / "truth.json").read_text())


def workspace(tmp: Path, name: str) -> dict[str, str]:
    env = dict(os.environ, O2O_HOME=str(tmp / name))
    env.pop("O2O_DATABASE_URL", None)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([*O2O, "serve", "--port", str(self.port)], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        sys.exit("o2o serve did not start")

    def peak_rss_mb(self) -> float:
        """The server's peak resident memory so far (Linux: VmHWM)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)


def token(env: dict[str, str], operator: str, role: str = "analyst") -> str:
    return str(
        json.loads(o2o(env, "hub", "token", "create", "--operator", operator, "--role", role, "--json"))[
            "token"
        ]
    )


def chunks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while data := fh.read(size):
            yield data


# --- 8 operators at once ----------------------------------------------------------------------------------


class Client(threading.Thread):
    def __init__(
        self, url: str, tok: str, files: list[dict[str, Any]], folder: Path, period: str, n: int
    ) -> None:
        super().__init__()
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tok}"}, timeout=300)
        self.files, self.folder, self.period, self.n = files, folder, period, n
        self.latency: dict[str, list[float]] = {}
        self.errors: list[str] = []

    def call(self, kind: str, method: str, path: str, **kw: Any) -> Any:
        started = time.perf_counter()
        try:
            r = self.http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            self.errors.append(f"{kind}: {exc}")
            return None
        self.latency.setdefault(kind, []).append(time.perf_counter() - started)
        if r.status_code >= 400:
            self.errors.append(f"{kind}: {r.status_code} {r.text[:120]}")
            return None
        return r.json()

    def run(self) -> None:
        for i in range(self.n):
            f = self.files[i % len(self.files)]
            params = {"agreement": f["agreement"], "period": self.period, "service": f["service"],
                      "filename": Path(f["file"]).name}  # fmt: skip
            self.call("upload", "POST", "/api/v1/declarations", params=params,
                      content=chunks(self.folder / f["file"]), headers={"Content-Type": "text/csv"})  # fmt: skip
            self.call("status", "GET", "/api/v1/cycles", params={"period": self.period})
            self.call("events", "GET", "/api/v1/events", params={"after": -1, "limit": 100})
            listed = (
                self.call("statements", "GET", "/api/v1/statements", params={"period": self.period}) or []
            )
            for st in listed[:2]:
                self.call("statement", "GET", f"/api/v1/statements/{st['id']}")
        self.http.close()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def load(tmp: Path, cdrs: int, iterations: int) -> None:
    folder, truth = generated(f"hub-8-{cdrs}", "--operators", "8", "--cdrs", str(cdrs), "--seed", "11")
    env = workspace(tmp, "hub")
    o2o(env, "operator", "add", "--file", folder / "operators.toml")
    for ag in truth["agreements"]:
        o2o(env, "agreement", "load", folder / ag["file"])
    o2o(env, "usage", "import-dir", folder / "usage", "--period", truth["period"])
    o2o(env, "reconcile", "--period", truth["period"])
    operators = sorted({f["declarer"] for f in truth["files"]})
    tokens = {op: token(env, op) for op in operators}
    server = Server(env)
    try:
        clients = [
            Client(server.url, tokens[op], [f for f in truth["files"] if f["declarer"] == op], folder,
                   truth["period"], iterations)
            for op in operators
        ]  # fmt: skip
        started = time.perf_counter()
        for c in clients:
            c.start()
        for c in clients:
            c.join()
        wall = time.perf_counter() - started
    finally:
        server.stop()
    kinds: dict[str, list[float]] = {}
    for c in clients:
        for kind, values in c.latency.items():
            kinds.setdefault(kind, []).extend(values)
    errors = [e for c in clients for e in c.errors]
    total = sum(len(v) for v in kinds.values())
    print(f"load: {len(clients)} operators' clients at once, {iterations} iterations each, "
          f"{total} requests in {wall:.1f} s ({total / wall:.1f} req/s), errors: {len(errors)}")  # fmt: skip
    print(f"  {'kind':<11} {'n':>5} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}")
    for kind, values in kinds.items():
        print(f"  {kind:<11} {len(values):>5} {pct(values, 0.5) * 1e3:>9.1f} {pct(values, 0.99) * 1e3:>9.1f} "
              f"{max(values) * 1e3:>9.1f}")  # fmt: skip
    for e in errors[:5]:
        print(f"  error: {e}")


# --- one big upload beside the local import ---------------------------------------------------------------


def upload_vs_local(tmp: Path, rows: int) -> None:
    folder, truth = generated(f"import-{rows}", "--operators", "2", "--services", "voice", "--one-way",
                              "--cdrs", str(rows), "--seed", "7")  # fmt: skip
    decl = max(truth["files"], key=lambda d: d["rows"])
    path = folder / decl["file"]
    agreement = folder / "agreements" / f"{decl['agreement']}.toml"
    common = ["--agreement", decl["agreement"], "--period", truth["period"], "--service", decl["service"]]
    local_env, hub_env = workspace(tmp, "local"), workspace(tmp, "upload")
    for env in (local_env, hub_env):
        o2o(env, "operator", "add", "--file", folder / "operators.toml")
        o2o(env, "agreement", "load", agreement)
    local = measure([*O2O, "usage", "import", str(path), *common, "--declarer", decl["declarer"]], local_env)
    tok = token(hub_env, decl["declarer"])
    server = Server(hub_env)
    try:
        params = {"agreement": decl["agreement"], "period": truth["period"], "service": decl["service"],
                  "filename": path.name}  # fmt: skip
        started = time.perf_counter()
        r = httpx.post(f"{server.url}/api/v1/declarations", params=params, content=chunks(path),
                       headers={"Authorization": f"Bearer {tok}", "Content-Type": "text/csv"}, timeout=3600)  # fmt: skip
        upload = time.perf_counter() - started
        server_rss = server.peak_rss_mb()
    finally:
        server.stop()
    if r.status_code != 201:
        sys.exit(f"upload failed: {r.status_code} {r.text[:300]}")
    size = path.stat().st_size / 1e6
    print(f"upload vs local import: {decl['rows']:,} rows, {size:.0f} MB CSV")
    print(
        f"  local `o2o usage import`   {local.seconds:8.2f} s   ({decl['rows'] / local.seconds:,.0f} rows/s)"
    )
    print(f"  POST /api/v1/declarations  {upload:8.2f} s   ({decl['rows'] / upload:,.0f} rows/s)")
    print(
        f"  peak RSS: local import {local.peak_rss_mb:,.0f} MB, hub server {server_rss:,.0f} MB (the body is spooled to disk)"
    )
    print(f"  ratio upload/local: {upload / local.seconds:.2f}x (goal within 1.3x); rows {r.json()['rows']:,}, "
          f"rejected {r.json()['rejected']}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cdrs", type=int, default=8000, help="calls in the 8-operator network")
    parser.add_argument("--iterations", type=int, default=8, help="rounds of requests per client")
    parser.add_argument(
        "--rows", type=int, default=300_000, help="rows of the big upload (5000000 for the goal)"
    )
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--skip-upload", action="store_true")
    args = parser.parse_args()
    (ROOT / "bench-data").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "bench-data") as tmp:
        if not args.skip_load:
            load(Path(tmp), args.cdrs, args.iterations)
        if not args.skip_upload:
            upload_vs_local(Path(tmp), args.rows)


if __name__ == "__main__":
    main()
