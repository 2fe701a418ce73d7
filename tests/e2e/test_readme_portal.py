"""The README's "The analyst portal" block runs as written, in bash: a password user made from a file,
`o2o serve` in the background, a signed-out request for the portal's first page redirected to the sign-in,
the server stopped. Only the port is changed, to one free on this machine; the workspace has the operator
the block names. Then the user signs in with that password, as the browser would."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PORT = "8765"


def portal_block() -> str:
    section = README.read_text(encoding="utf-8").split("\n## The analyst portal\n", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"^```sh\n(.*?)^```", section, flags=re.DOTALL | re.MULTILINE)
    return block


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(not shutil.which("curl"), reason="needs curl")
def test_the_portal_block_runs_as_written(tmp_path: Path) -> None:
    block = portal_block()
    assert "o2o hub user create" in block and "o2o serve" in block and PORT in block
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
    port = str(_free_port())
    script = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + block.replace(
        PORT, port
    )
    run = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=180
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "signs in with that password" in run.stdout
    assert run.stdout.strip().endswith(f"http://127.0.0.1:{port}/login?next=/"), run.stdout
    # the password the block wrote signs the user in
    from o2o.bootstrap import open_workspace
    from o2o.config import Settings
    from o2o.services.portal_sign_in import sign_in_password

    password = (tmp_path / "ann.pw").read_text().rstrip("\n")
    ws = open_workspace(Settings(home=tmp_path / "o2o-data", database_url=None))
    actor = sign_in_password(ws, "ann", password)
    assert (actor.operator, actor.role.value) == ("ALFA", "analyst")
