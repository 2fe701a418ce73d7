"""`o2o demo --hub` against `o2o demo` on the same seed and size: the same figures (every one of the summary
but the timings and the ledger, whose entries also register the hub's tokens' work: key requests and
approvals), though through the hub every operator is a separate client with its own token and its own key;
afterwards the hub's workspace holds no operator's private key (only the hub's own), the operators' key
folder is gone and the server is stopped."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness import postgres_database

SIZE = ("--operators", "3", "--cdrs", "6000", "--seed", "11")


def _comparable(figures: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v for k, v in figures.items() if k not in ("seconds", "reconciliation_seconds", "ledger", "hub")
    }


@pytest.mark.slow
def test_the_demo_through_a_hub_prints_the_local_demos_figures(
    cli: Any, workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = cli("demo", *SIZE, "--json")
    assert local.code == 0, local.err
    hub_home = tmp_path / "hub-home"
    monkeypatch.setenv("O2O_HOME", str(hub_home))
    through = cli("demo", *SIZE, "--hub", "--json")
    assert through.code == 0, through.err
    figures, hub_figures = local.json(), through.json()

    assert _comparable(hub_figures) == _comparable(figures)
    assert hub_figures["disputes"] > 0 and hub_figures["netting_round"]["state"] == "settled"
    assert set(hub_figures["cycles"]) == {"closed"}
    ledger = hub_figures["ledger"]
    assert ledger["verified"] is True and ledger["findings"] == []
    assert ledger["entries"] > figures["ledger"]["entries"]  # the key requests approved on the ledger

    hub = hub_figures["hub"]
    operators = hub["operators"]
    assert len(operators) == 3
    # No operator's private key in the hub's workspace: the one private key there is the hub's own.
    private = sorted(
        p.relative_to(hub_home).as_posix()
        for p in hub_home.rglob("*")
        if p.is_file() and b"PRIVATE KEY" in p.read_bytes()
    )
    assert private == ["keys/HUB.pem"]
    assert [p for op in operators for p in hub_home.rglob(f"{op}*.pem")] == []
    assert not Path(hub["operator_keys"]).exists()
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{hub['url']}/ready", timeout=2)

    # Each statement is signed by both parties with the keys they registered through the hub (the ledger's
    # public keys), and the signatures verify against them.
    registered = json.loads((hub_home / "demo-report" / "public-keys.json").read_text())["keys"]
    ring = {(k["operator"], k["key_id"]) for k in registered}
    assert {op for op, _ in ring} == {*operators, "HUB"}
    statements = cli("statement", "list", "--json").json()
    assert len(statements) == figures["agreements"]
    for st in statements:
        shown = cli("statement", "show", st["id"], "--json").json()
        assert sorted(s["operator"] for s in shown["signatures"]) == sorted(shown["document"]["parties"])
        assert {(s["operator"], s["key_id"]) for s in shown["signatures"]} <= ring


@pytest.mark.slow
@pytest.mark.postgres
def test_the_demo_through_a_hub_on_postgresql(
    cli: Any, workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hub's server and the demo on a PostgreSQL database: the figures of the local demo on SQLite."""
    local = cli("demo", *SIZE, "--json")
    assert local.code == 0, local.err
    for url in postgres_database():
        monkeypatch.setenv("O2O_HOME", str(tmp_path / "hub-home"))
        monkeypatch.setenv("O2O_DATABASE_URL", url)
        through = cli("demo", *SIZE, "--hub", "--json")
        assert through.code == 0, through.err
        assert _comparable(through.json()) == _comparable(local.json())
        assert through.json()["ledger"]["verified"] is True
        monkeypatch.delenv("O2O_DATABASE_URL")


def test_the_hub_is_stopped_when_a_step_fails_or_the_demo_is_terminated(
    workspace: Path, tmp_path: Path
) -> None:
    from o2o.bootstrap import open_workspace
    from o2o.config import Settings
    from o2o.services.demo_hub import serving

    ws = open_workspace(Settings())
    urls = []
    with pytest.raises(RuntimeError, match="a step failed"), serving(ws, tmp_path / "failed.log") as url:
        urls.append(url)
        assert httpx.get(f"{url}/ready", timeout=10).status_code == 200
        raise RuntimeError("a step failed")
    # A SIGTERM to the demo ends it as Ctrl-C does, through the block that stops the server.
    with pytest.raises(SystemExit) as ended, serving(ws, tmp_path / "terminated.log") as url:
        urls.append(url)
        assert httpx.get(f"{url}/ready", timeout=10).status_code == 200
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)  # the signal's handler raises before this ends
    assert ended.value.code == 128 + signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # put back as it was
    for url in urls:
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{url}/ready", timeout=2)
