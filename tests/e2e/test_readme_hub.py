"""The README's "Run a hub" block runs as written, in bash: `o2o serve` in the background, a token made,
`curl` waits for /ready and calls /api/v1/me with the token, and the server is stopped. Only the port is
changed, to one free on this machine; the workspace has the operator the block names.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hub_server import free_port

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PORT = "8765"


def hub_block() -> str:
    section = README.read_text(encoding="utf-8").split("\n## Run a hub\n", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"^```sh\n(.*?)^```", section, flags=re.DOTALL | re.MULTILINE)
    return block


def _documents(text: str) -> list[Any]:
    """The JSON documents printed one after another (curl adds no newline)."""
    decoder, found, at = json.JSONDecoder(), [], text.find("{")
    while at != -1:
        value, end = decoder.raw_decode(text, at)
        found.append(value)
        at = text.find("{", end)
    return found


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl and jq")
def test_the_hub_block_runs_as_written(tmp_path: Path) -> None:
    block = hub_block()
    assert "o2o serve" in block and "/api/v1/me" in block and PORT in block
    env = {
        **os.environ,
        "O2O_HOME": str(tmp_path / "o2o-data"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("O2O_DATABASE_URL", None)
    o2o = str(Path(sys.executable).parent / "o2o")
    made = subprocess.run(
        [o2o, "operator", "add", "ALFA", "--name", "Alfa", "--currency", "GBP", "--country-code", "44"],
        env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    script = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + block.replace(
        PORT, str(free_port())
    )
    run = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    ready, me = _documents(run.stdout)
    assert ready == {"status": "ready"}
    assert (me["operator"], me["role"], me["agreements"]) == ("ALFA", "viewer", [])
