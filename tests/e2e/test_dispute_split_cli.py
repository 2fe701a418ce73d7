"""Splitting a dispute from the command line: `o2o dispute split` on the local workspace and `o2o hub dispute
split` against a real `o2o serve` on loopback, each accepting a part of the contested amount and leaving the
rest contested; refusals are one line and change nothing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import cycle_steps
import hub_server


def _one_line(r: Any) -> str:
    assert r.code != 0 and r.out == "", (r.code, r.out, r.err)
    assert r.err.strip().count("\n") == 0 and "Traceback" not in r.err, r.err
    return str(r.err.strip())


def _lower(d: dict[str, Any]) -> str:
    lower = Decimal(d["customer_amount"]) < Decimal(d["provider_amount"])
    return str(d["customer"] if lower else d["provider"])


def _part(d: dict[str, Any]) -> str:
    return str(max((Decimal(d["contested_amount"]) / 4).quantize(Decimal("0.01")), Decimal("0.01")))


def test_split_locally_and_through_the_hub(cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, report, ag = cycle_steps.reconciled(cli, tmp_path, cdrs=400, seed=5)
    shown = [cli("dispute", "show", d, "--json").json() for d in report["disputes"]]
    wide = sorted((d for d in shown if Decimal(d["contested_amount"]) > Decimal("0.02")),
                  key=lambda d: Decimal(d["contested_amount"]))  # fmt: skip
    assert len(wide) >= 2, "two disputes with room for a split"
    local, remote = wide[-1], wide[-2]

    # locally, as the lower figure's party
    part = _part(local)
    r = cli(
        "dispute", "split", local["id"], "--as", _lower(local), "--amount", part, "--note", "fair", "--json"
    )
    assert r.code == 0, r.err
    after = r.json()
    assert Decimal(after["contested_amount"]) == Decimal(local["contested_amount"]) - Decimal(part)
    assert after["proposals"][-1]["status"] == "conceded" and after["proposals"][-1]["note"] == "fair"
    assert [h["kind"] for h in after["history"]] == ["opened", "conceded"]
    assert "--amount" in _one_line(
        cli("dispute", "split", local["id"], "--as", _lower(local), "--amount", "0.001")
    )
    whole = after["contested_amount"]
    assert "less than the contested" in _one_line(
        cli("dispute", "split", local["id"], "--as", _lower(local), "--amount", whole)
    )
    table = cli("dispute", "show", local["id"])
    assert table.code == 0 and "conceded" in table.out

    # through the hub, with the party's own token
    low = _lower(remote)
    token = cli("hub", "token", "create", "--operator", low, "--role", "analyst", "--json").json()["token"]
    viewer = cli("hub", "token", "create", "--operator", low, "--role", "viewer", "--json").json()["token"]
    other = next(p for p in ag["parties"] if p != low)
    with hub_server.running_hub(tmp_path / "serve.log") as url:
        monkeypatch.setenv("O2O_HUB_URL", url)
        part = _part(remote)
        r = cli("hub", "dispute", "split", remote["id"], "--amount", part, "--token", token, "--json")
        assert r.code == 0, r.err
        assert Decimal(r.json()["contested_amount"]) == Decimal(remote["contested_amount"]) - Decimal(part)
        said = cli("hub", "dispute", "split", remote["id"], "--amount", "0.01", "--token", token)
        assert said.code == 0 and f"split {remote['id']}" in said.out
        assert "403" in _one_line(
            cli("hub", "dispute", "split", remote["id"], "--amount", "1", "--token", viewer)
        )
        assert "--amount" in _one_line(
            cli("hub", "dispute", "split", remote["id"], "--amount", "ten", "--token", token)
        )
        assert "404" in _one_line(
            cli("hub", "dispute", "split", "DSP-NOPE", "--amount", "1", "--token", token)
        )
    stored = cli("dispute", "show", remote["id"], "--json").json()
    assert Decimal(stored["contested_amount"]) == Decimal(remote["contested_amount"]) - Decimal(
        part
    ) - Decimal("0.01")
    assert [p["by"] for p in stored["proposals"]] == [low, low] and other not in {
        h["by"] for h in stored["history"][1:]
    }
