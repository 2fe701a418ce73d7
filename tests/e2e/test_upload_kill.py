"""A hub killed in the middle of an upload: a real `o2o serve` process receives half a usage file and is
killed (SIGKILL); no declaration is recorded, the half file sits only in its upload folder, and the next
start of the hub sweeps that folder away. The restarted hub then takes the whole file."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import cycle_steps
from hub_server import free_port


class Server:
    """`o2o serve` in a process of its own, on a free loopback port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [
            sys.executable,
            "-c",
            "from o2o.cli.app import main; main()",
            "serve",
            "--port",
            str(self.port),
        ]
        self.proc = subprocess.Popen(
            cmd, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "o2o serve exited"
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("o2o serve did not answer")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


@pytest.fixture
def served(cli: Any, workspace: Path, tmp_path: Path) -> Iterator[tuple[Any, Server, dict[str, Any]]]:
    net, truth, ag = cycle_steps.declared(cli, tmp_path, cdrs=4000, seed=5, keys=False)
    token = cli("hub", "token", "create", "--operator", "ALFA", "--role", "analyst", "--json").json()["token"]
    (f,) = [f for f in truth["files"] if f["declarer"] == "ALFA" and f["service"].startswith("voice")][:1]
    server = Server(free_port())
    try:
        yield cli, server, {"token": token, "file": net / f["file"], "service": f["service"],
                            "agreement": ag["id"], "period": truth["period"]}  # fmt: skip
    finally:
        server.stop()


def _send_half(server: Server, ctx: dict[str, Any], body: bytes) -> socket.socket:
    """An upload whose body stops half way: the headers announce it all, half of it is sent."""
    query = f"agreement={ctx['agreement']}&period={ctx['period']}&service={ctx['service']}&filename=half.csv"
    head = (
        f"POST /api/v1/declarations?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {ctx['token']}\r\nContent-Type: text/csv\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(head.encode() + body[: len(body) // 2])
    return sock


def test_a_hub_killed_during_an_upload_leaves_no_declaration_and_no_stray_file(
    served: tuple[Any, Server, dict[str, Any]], workspace: Path
) -> None:
    cli, server, ctx = served
    before = cli("usage", "list", "--json").json()
    # The file is changed (one row more), so that it would be a new declaration, not the same one again.
    body = ctx["file"].read_bytes() + b"extra-1,,447700900001,447700900002,2026-10-03T10:00:00Z,30,0,\n"
    uploads = workspace / "uploads"
    server.start()
    sock = _send_half(server, ctx, body)
    deadline = time.monotonic() + 60
    # The upload's file is made once the caller is authorised and the agreement checked; the body then
    # goes to it a few megabytes at a time, so half of this small file is still in the server's hands.
    while time.monotonic() < deadline and not list(uploads.glob("*/half.csv")):
        time.sleep(0.01)
    (partial,) = uploads.glob("*/half.csv")
    time.sleep(0.2)
    server.kill()
    sock.close()
    assert partial.stat().st_size < len(body), "killed in the middle of the upload"
    assert cli("usage", "list", "--json").json() == before, "no declaration from half a file"
    assert [p.name for p in uploads.iterdir()] == [partial.parent.name], "its upload folder, nothing else"

    server.start()  # the start-up sweeps what the dead process left
    assert list(uploads.iterdir()) == []
    r = httpx.post(
        f"{server.url}/api/v1/declarations",
        params={
            "agreement": ctx["agreement"],
            "period": ctx["period"],
            "service": ctx["service"],
            "filename": "whole.csv",
        },
        headers={"Authorization": f"Bearer {ctx['token']}", "Content-Type": "text/csv"},
        content=body,
        timeout=120,
    )
    assert r.status_code == 201, r.text
    assert r.json()["source"] == "whole.csv" and r.json()["supersedes"] is not None
    assert list(uploads.iterdir()) == []
    after = cli("usage", "list", "--json").json()
    assert [d["id"] for d in after if d not in before] == [r.json()["id"]]
