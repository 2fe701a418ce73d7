"""An anvil node on loopback for tests (installed by `make anvil` from npm's @foundry-rs/anvil), importable
by name from any test folder (`from anvil_node import Anvil`): started on a free port, its state saved to a
file when it stops (SIGTERM), so it can be restarted where it was."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]


def anvil_binary() -> Path:
    found = sorted((ROOT / ".tools" / "npm" / "node_modules" / "@foundry-rs").glob("anvil-*/bin/anvil"))
    if not found:
        pytest.fail("anvil is not installed: `make anvil` installs it from npm (@foundry-rs/anvil)")
    return found[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Anvil:
    """One anvil process on loopback, its state saved to a file when it stops (SIGTERM)."""

    port: int
    state: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(anvil_binary()), "--host", "127.0.0.1", "--port", str(self.port), "--state", str(self.state),
             "--silent"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                answer = requests.post(
                    self.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, timeout=1
                )
                if answer.ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise AssertionError("anvil did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # anvil writes its state on the way out
            self.process.wait(timeout=30)
        self.process = None
