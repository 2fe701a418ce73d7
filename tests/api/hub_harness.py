"""What tests/api's fixtures are made of, importable by name (`from hub_harness import Hub, problem`):
`import conftest` is ambiguous when tests/e2e is collected in the same session (see tests/harness.py).

A hub over a workspace after a real cycle, built through the CLI as a user would:
a generated ALFA–BRAVO network declared and reconciled at zero tolerance (so some lines are disputed),
both parties' keys generated (in the test workspace, standing for each operator's own side), and an
operator GAMMA that is party to nothing. Tokens for every operator and role, and the hub's admin.

starlette's TestClient warns on import that it would rather have `httpx2`; pytest runs warnings as errors,
so `client_of()` imports it with that one warning silenced.
"""

from __future__ import annotations

import io
import json
import time
import warnings
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cycle_steps import declared, resolve_by_split
from harness import CliResult

ROLES = ("viewer", "analyst", "signer")
OUTSIDER = "GAMMA"


def client_of(app: Any) -> Any:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient
    return TestClient(app)


def invoker() -> Any:
    """`o2o ARGS…` in-process, its output captured here (module-scoped fixtures have no capsys)."""
    from o2o.cli.app import run

    def invoke(*args: str | Path) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = run([str(a) for a in args])
        return CliResult(code, out.getvalue(), err.getvalue())

    return invoke


@dataclass
class Hub:
    """The hub under test: its workspace, app, client, tokens by (operator, role) and the cycle's ids."""

    home: Path
    app: Any
    client: Any
    cli: Any
    tokens: dict[tuple[str, str], str]
    agreement: str
    period: str
    parties: tuple[str, str]
    statement: str
    disputes: list[str] = field(default_factory=list)

    def auth(self, operator: str, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[(operator, role)]}"}


def build_hub(
    tmp: Path, monkeypatch: pytest.MonkeyPatch, database_url: str | None, *, settle: bool = False
) -> Hub:
    """Reconciled (disputes open); with `settle`, disputes split, both signed and netted (payments)."""
    home = tmp / "o2o-data"
    monkeypatch.setenv("O2O_HOME", str(home))
    if database_url is None:
        monkeypatch.delenv("O2O_DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("O2O_DATABASE_URL", database_url)
    cli = invoker()
    _, truth, ag = declared(cli, tmp, cdrs=200, seed=7)
    period = truth["period"]
    r = cli("reconcile", "--agreement", ag["id"], "--period", period, "--json")
    assert r.code == 0, r.err
    (report,) = r.json()
    assert report["disputes"], "zero tolerance leaves some line disputed"
    if settle:
        for d_id in report["disputes"]:
            resolve_by_split(cli, d_id)
        st_id = cli("statement", "list", "--period", period, "--json").json()[0]["id"]
        for op in ag["parties"]:
            r = cli("statement", "sign", st_id, "--as", op)
            assert r.code == 0, r.err
        r = cli("net", "run", "--period", period, "--mode", "direct", "--json")
        assert r.code == 0, r.err
    r = cli("operator", "add", OUTSIDER, "--name", "Gamma", "--currency", "EUR", "--country-code", "33")
    assert r.code == 0, r.err
    tokens: dict[tuple[str, str], str] = {}
    for op in (*ag["parties"], OUTSIDER):
        for role in ROLES:
            r = cli("hub", "token", "create", "--operator", op, "--role", role, "--json")
            assert r.code == 0, r.err
            tokens[(op, role)] = r.json()["token"]
    r = cli("hub", "token", "create", "--operator", "HUB", "--role", "admin", "--json")
    tokens[("HUB", "admin")] = r.json()["token"]
    statements = cli("statement", "list", "--period", period, "--json").json()
    from o2o.api.app import create_app
    from o2o.config import Settings

    app = create_app(Settings())
    return Hub(
        home, app, client_of(app), cli, tokens, ag["id"], period, tuple(ag["parties"]),
        statements[0]["id"], list(report["disputes"]),
    )  # fmt: skip


def problem(response: Any, status: int) -> dict[str, Any]:
    """The RFC 9457 problem a response must be."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = json.loads(response.text)
    assert body["status"] == status
    assert body["type"].startswith("urn:o2o:problem:")
    assert body["title"] and body["detail"]
    return dict(body)


def wait_job(client: Any, job_id: str, headers: dict[str, str], timeout: float = 120) -> dict[str, Any]:
    """The hub's job `job_id` once done or failed (polled through the API)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
        if job["state"] in ("done", "failed"):
            return dict(job)
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not end: {job}")
