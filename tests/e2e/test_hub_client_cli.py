"""An operator's client commands against a real `o2o serve` on loopback, on SQLite and PostgreSQL:
`o2o hub declare` streams each party's usage file up with its own token, `o2o hub status` and
`o2o hub statements` show what the hub holds for that operator, `o2o hub events` reads the feed with its
cursor; refusals are one line. The hub's administration (loading, reconciling) runs on the hub's host.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import cycle_steps
import hub_server


def _one_line(r: Any) -> str:
    assert r.code != 0 and r.out == "", (r.code, r.out, r.err)
    assert r.err.strip().count("\n") == 0 and "Traceback" not in r.err, r.err
    return str(r.err.strip())


def test_an_operator_declares_follows_and_reads_its_cycle_through_the_hub(
    db_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = db_cli
    net, truth = cycle_steps.generated(cli, tmp_path, cdrs=300, seed=9)
    ag = cycle_steps.loaded(cli, net, truth)
    period, (first, second) = truth["period"], ag["parties"]
    tokens = {op: cli("hub", "token", "create", "--operator", op, "--role", "analyst", "--json").json()["token"]
              for op in ag["parties"]}  # fmt: skip
    with hub_server.running_hub(tmp_path / "serve.log") as url:
        monkeypatch.setenv("O2O_HUB_URL", url)

        def as_(op: str, *args: Any) -> Any:
            return cli("hub", *args, "--token", tokens[op])

        me = as_(first, "status", "--json")
        assert me.code == 0, me.err
        assert me.json()["me"]["operator"] == first and me.json()["cycles"] == []

        for f in truth["files"]:
            r = as_(f["declarer"], "declare", net / f["file"], "--agreement", f["agreement"], "--period",
                    period, "--service", f["service"], "--json")  # fmt: skip
            assert r.code == 0, r.err
            done = r.json()
            assert done["declarer"] == f["declarer"] and done["rows"] == f["rows"]
            assert done["already_imported"] is False and done["source"] == Path(f["file"]).name
        # The same file again is the same declaration; the hub's own listing has each file once.
        f = truth["files"][0]
        again = as_(f["declarer"], "declare", net / f["file"], "--agreement", f["agreement"], "--period", period,
                    "--service", f["service"], "--json")  # fmt: skip
        assert again.code == 0 and again.json()["already_imported"] is True
        listed = cli("usage", "list", "--period", period, "--json").json()
        assert sorted((d["declarer"], d["service"], d["rows"]) for d in listed) == sorted(
            (x["declarer"], x["service"], x["rows"]) for x in truth["files"]
        )
        # The other party follows the same cycle with its own token.
        (cycle,) = as_(second, "status", "--period", period, "--json").json()["cycles"]
        assert cycle["agreement"] == ag["id"] and cycle["state"] == "declared"

        # The hub's host reconciles; both operators see the statement, and the feed tells them.
        assert cli("reconcile", "--agreement", ag["id"], "--period", period).code == 0
        for op in ag["parties"]:
            (st,) = as_(op, "statements", "--period", period, "--json").json()
            assert st["id"] == f"ST-{ag['id']}-{period}" and st["signatures"] == []
        page = as_(first, "events", "--json").json()
        kinds = [e["type"] for e in page["events"]]
        assert "declaration.imported" in kinds
        assert all(e["agreement"] in (ag["id"], None) for e in page["events"])
        cursor = page["next_after"]
        later = as_(first, "events", "--after", str(cursor), "--json").json()
        assert all(e["seq"] > cursor for e in later["events"])
        text = as_(first, "statements")
        assert text.code == 0 and "Statements" in text.out and st["state"] in text.out

        # Refusals, one line each, nothing declared.
        before = len(cli("usage", "list", "--history", "--json").json())
        err = _one_line(as_(first, "declare", net / f["file"], "--agreement", "NOPE-404", "--period", period))
        assert "404" in err and "NOPE-404" in err
        assert "not YYYY-MM" in _one_line(as_(first, "statements", "--period", "2026-13"))
        assert "401" in _one_line(cli("hub", "status", "--token", "not-a-token"))
        missing = tmp_path / "missing.csv"
        assert "no such file" in _one_line(as_(first, "declare", missing, "--agreement", ag["id"],
                                               "--period", period))  # fmt: skip
        assert len(cli("usage", "list", "--history", "--json").json()) == before
    monkeypatch.delenv("O2O_HUB_URL")
    assert "no hub" in _one_line(cli("hub", "events", "--token", tokens[first]))
    closed = f"http://127.0.0.1:{hub_server.free_port()}"
    assert "cannot reach the hub" in _one_line(cli("hub", "events", "--hub", closed, "--token", "t"))


ROAMING = Path(__file__).resolve().parents[2] / "docs" / "examples" / "roaming"
RA = "RA-ALFA-BRAVO-2026"


def test_an_operator_declares_its_roaming_usage_report_through_the_hub(
    db_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`o2o hub declare REPORT.json --format bwrp`: both directions declared as the token's operator, the same
    report again is nothing to do, `--service` is refused as `o2o usage import --format bwrp` refuses it; the
    hub's host reconciles the roaming statement from the reports declared on the hub."""
    cli = db_cli
    net, truth = cycle_steps.generated(cli, tmp_path, cdrs=50, seed=9)
    ag = cycle_steps.loaded(cli, net, truth)
    period = truth["period"]
    text = (ROAMING / "agreement.toml").read_text(encoding="utf-8")
    roaming = tmp_path / "roaming.toml"
    roaming.write_text(text.replace('"BETA"', '"BRAVO"').replace("RA-ALFA-BETA-2026", RA), encoding="utf-8")
    assert ag["parties"] == ["ALFA", "BRAVO"] and cli("agreement", "load", roaming).code == 0
    tokens = {op: cli("hub", "token", "create", "--operator", op, "--role", "analyst", "--json").json()["token"]
              for op in ag["parties"]}  # fmt: skip
    report = ROAMING / "usage.json"
    with hub_server.running_hub(tmp_path / "serve.log") as url:
        monkeypatch.setenv("O2O_HUB_URL", url)

        def declare(op: str, *more: Any, agreement: str = RA) -> Any:
            return cli("hub", "declare", report, "--agreement", agreement, "--period", period, "--format",
                       "bwrp", *more, "--token", tokens[op])  # fmt: skip

        r = declare("ALFA", "--json")
        assert r.code == 0, r.err
        done = r.json()
        assert (done["declarer"], done["already_imported"], done["source"]) == ("ALFA", False, "usage.json")
        assert [(d["service"], d["role"], d["rows"]) for d in done["declarations"]] == [
            ("ALFA-on-BRAVO", "customer", 6), ("BRAVO-on-ALFA", "provider", 4)
        ]  # fmt: skip
        r = declare("BRAVO")
        assert r.code == 0, r.err
        assert r.out.count("declared ") == 2 and "ALFA-on-BRAVO (provider)" in r.out
        again = declare("BRAVO")
        assert again.code == 0 and "already declared as" in again.out and "nothing to do" in again.out
        err = _one_line(declare("ALFA", "--service", "ALFA-on-BRAVO"))
        assert "--service" in err and "bwrp" in err
        err = _one_line(declare("ALFA", agreement=ag["id"]))
        assert "not a roaming agreement" in err
        listed = cli("usage", "list", "--agreement", RA, "--period", period, "--json").json()
        assert sorted((d["declarer"], d["service"]) for d in listed) == [
            ("ALFA", "ALFA-on-BRAVO"), ("ALFA", "BRAVO-on-ALFA"),
            ("BRAVO", "ALFA-on-BRAVO"), ("BRAVO", "BRAVO-on-ALFA"),
        ]  # fmt: skip

        # The hub's host reconciles: the statement of the reports declared on the hub, agreed.
        assert cli("reconcile", "--agreement", RA, "--period", period).code == 0
        statements = cli("hub", "statements", "--period", period, "--json", "--token", tokens["BRAVO"]).json()
        (st,) = [s for s in statements if s["id"] == f"ST-{RA}-{period}"]
        assert st["state"] == "agreed"
