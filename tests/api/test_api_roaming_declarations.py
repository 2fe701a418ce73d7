"""A roaming agreement's usage declared through the hub: each party's analyst uploads its BWRP usage report
(`POST /roaming-declarations`, streamed), which declares both directions as the caller's operator, as
`o2o usage import --format bwrp` does; the same report again is the same declarations; the admin's
reconciliation job then writes the statement a local workspace writes from the same reports. Refusals are
one-line problems: a malformed report names the file as sent and the field, a foreign agreement is unknown,
a role that may not declare is forbidden."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api.conftest import Hub, client_of, invoker, problem, wait_job

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "roaming"
RA = "RA-ALFA-BRAVO-2026"


def _agreement(tmp_path: Path) -> Path:
    """The documented example agreement between the hub's ALFA and BRAVO, in their currency."""
    text = (EXAMPLES / "agreement.toml").read_text(encoding="utf-8")
    text = text.replace('"BETA"', '"BRAVO"').replace("RA-ALFA-BETA-2026", RA)
    path = tmp_path / "roaming.toml"
    path.write_text(text.replace('currency = "EUR"', 'currency = "GBP"'), encoding="utf-8")
    return path


def _reports(tmp_path: Path) -> dict[str, Path]:
    """ALFA's report is the example; BRAVO counts a little more SMS of ALFA's customers on its network."""
    bravo = json.loads((EXAMPLES / "usage.json").read_text(encoding="utf-8"))
    assert bravo["inbound"][0]["service"] == "SMS MO"
    bravo["inbound"][0]["usage"] = "3400"
    path = tmp_path / "bravo-usage.json"
    path.write_text(json.dumps(bravo), encoding="utf-8")
    return {"ALFA": EXAMPLES / "usage.json", "BRAVO": path}


def _post(client: Any, headers: dict[str, str], body: bytes, **params: Any) -> Any:
    return client.post(
        "/api/v1/roaming-declarations", params=params,
        content=body, headers=headers | {"Content-Type": "application/json"},
    )  # fmt: skip


def _lines(statement: dict[str, Any]) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = statement["document"]["lines"]
    return lines


def test_both_parties_declare_their_reports_on_the_hub_and_the_admin_reconciles(
    fresh_hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = fresh_hub
    admin = hub.auth("HUB", "admin")
    reports = _reports(tmp_path)
    with client_of(hub.app) as client:  # the app's lifespan starts its job runner
        with _agreement(tmp_path).open("rb") as fh:
            r = client.post("/api/v1/admin/agreements", files={"file": ("roaming.toml", fh)}, headers=admin)
        assert r.status_code == 201, r.text

        declared: dict[str, list[str]] = {}
        for op, report in reports.items():
            r = _post(client, hub.auth(op, "analyst"), report.read_bytes(), agreement=RA, period=hub.period,
                      filename=report.name)  # fmt: skip
            assert r.status_code == 201, r.text
            up = r.json()
            assert (up["agreement"], up["period"], up["declarer"], up["source"]) == (
                RA, hub.period, op, report.name
            )  # fmt: skip
            assert up["already_imported"] is False
            roles = {"ALFA": ("customer", "provider"), "BRAVO": ("provider", "customer")}[op]
            assert [(d["service"], d["role"], d["declarer"]) for d in up["declarations"]] == [
                ("ALFA-on-BRAVO", roles[0], op), ("BRAVO-on-ALFA", roles[1], op)
            ]  # fmt: skip
            declared[op] = [d["id"] for d in up["declarations"]]
            # Each declaration is the caller's to see, with no rejected rows.
            shown = client.get(f"/api/v1/declarations/{declared[op][0]}", headers=hub.auth(op, "viewer"))
            assert shown.status_code == 200 and shown.json()["rejects_total"] == 0

        # The same report again: the same declarations, nothing new.
        alfa = hub.auth("ALFA", "analyst")
        again = _post(client, alfa, reports["ALFA"].read_bytes(), agreement=RA, period=hub.period)
        assert again.status_code == 200, again.text
        assert again.json()["already_imported"] is True
        assert [d["id"] for d in again.json()["declarations"]] == declared["ALFA"]
        assert all(d["already_imported"] for d in again.json()["declarations"])

        # On the ledger: each direction's declaration, in BWRP, with who uploaded it for which operator.
        feed = client.get("/api/v1/events", params={"limit": 1000}, headers=admin).json()
        entries = [e for e in feed["events"] if e["type"] == "declaration.imported" and e["agreement"] == RA]
        assert sorted(e["data"]["declaration"] for e in entries) == sorted(
            i for ids in declared.values() for i in ids
        )
        assert all(e["data"]["format"] == "bwrp" and e["data"]["by_user"] for e in entries)
        assert {e["data"]["for"] for e in entries} == {"ALFA", "BRAVO"}
        (cycle,) = [c for c in client.get("/api/v1/cycles", params={"period": hub.period}, headers=alfa).json()
                    if c["agreement"] == RA]  # fmt: skip
        assert cycle["state"] == "declared"

        # The admin's reconciliation job prices both reports and writes the statement.
        r = client.post("/api/v1/reconcile-runs", json={"period": hub.period, "agreement": RA}, headers=admin)
        assert r.status_code == 202, r.text
        job = wait_job(client, r.json()["id"], admin)
        assert job["state"] == "done", job
        (done,) = job["result"]["statements"]
        assert done["statement"] == f"ST-{RA}-{hub.period}"
        on_hub = hub.cli("statement", "show", done["statement"], "--json").json()
        seen = client.get(f"/api/v1/statements/{done['statement']}", headers=hub.auth("BRAVO", "viewer"))
        assert seen.status_code == 200 and seen.json()["state"] == on_hub["state"]
    assert list((hub.home / "uploads").iterdir()) == []

    # The same reports declared and reconciled in a local workspace give the same statement.
    net = hub.home.parent / "net"
    monkeypatch.setenv("O2O_HOME", str(tmp_path / "local"))
    monkeypatch.delenv("O2O_DATABASE_URL", raising=False)
    cli = invoker()
    assert cli("operator", "add", "--file", net / "operators.toml").code == 0
    assert cli("agreement", "load", _agreement(tmp_path)).code == 0
    for op, report in reports.items():
        r = cli("usage", "import", report, "--agreement", RA, "--period", hub.period, "--declarer", op,
                "--format", "bwrp", "--json")  # fmt: skip
        assert r.code == 0, r.err
    r = cli("reconcile", "--agreement", RA, "--period", hub.period, "--json")
    assert r.code == 0, r.err
    local = cli("statement", "show", done["statement"], "--json").json()
    assert len(_lines(local)) == 6
    assert on_hub["document"] == local["document"] and on_hub["digest"] == local["digest"]
    assert on_hub["state"] == "disputed" and len(on_hub["disputes"]) == len(local["disputes"]) > 0


def test_refusals_are_one_line_problems(fresh_hub: Hub, tmp_path: Path) -> None:
    hub = fresh_hub
    with _agreement(tmp_path).open("rb") as fh:
        r = hub.client.post("/api/v1/admin/agreements", files={"file": ("roaming.toml", fh)},
                            headers=hub.auth("HUB", "admin"))  # fmt: skip
    assert r.status_code == 201, r.text
    body = (EXAMPLES / "usage.json").read_bytes()
    alfa = hub.auth("ALFA", "analyst")
    where = {"agreement": RA, "period": hub.period}
    before = hub.cli("usage", "list", "--history", "--json").json()

    # Only an operator's analyst declares, as its own operator; an outsider's agreement is unknown.
    for role in ("viewer", "signer"):
        problem(_post(hub.client, hub.auth("ALFA", role), body, **where), 403)
    problem(_post(hub.client, hub.auth("HUB", "admin"), body, **where), 403)
    gone = problem(_post(hub.client, hub.auth("GAMMA", "analyst"), body, **where), 404)
    missing = problem(_post(hub.client, alfa, body, agreement="RA-NOPE", period=hub.period), 404)
    assert gone["detail"].replace(RA, "RA-NOPE") == missing["detail"], "foreign reads as missing"

    # A malformed report: one line naming the file as sent and the field, never the hub's folders.
    bad = json.loads(body)
    bad["inbound"][1]["usage"] = "lots"
    r = _post(hub.client, alfa, json.dumps(bad).encode(), filename="alfa-usage.json", **where)
    detail = problem(r, 422)["detail"]
    assert "alfa-usage.json" in detail and "inbound[1].usage" in detail and "'lots'" in detail, detail
    assert "\n" not in detail and str(hub.home) not in detail and "uploads" not in detail
    assert "malformed JSON" in problem(_post(hub.client, alfa, b"{", **where), 422)["detail"]
    # A TADIG pair of neither direction, and an agreement that is not a roaming one.
    foreign = json.dumps([{"service": "GPRS", "usage": "1", "charges": "1", "taxes": "0",
                           "homeTadig": "XXXXX", "visitorTadig": "AAZVF"}]).encode()  # fmt: skip
    assert "not a direction" in problem(_post(hub.client, alfa, foreign, **where), 422)["detail"]
    other = problem(_post(hub.client, alfa, body, agreement=hub.agreement, period=hub.period), 422)
    assert "not a roaming agreement" in other["detail"]
    # A report sent to the usage files' route is pointed to this one.
    r = hub.client.post("/api/v1/declarations", params=where | {"format": "bwrp"}, content=body,
                        headers=alfa | {"Content-Type": "application/json"})  # fmt: skip
    assert "/api/v1/roaming-declarations" in problem(r, 422)["detail"]

    assert hub.cli("usage", "list", "--history", "--json").json() == before, "nothing declared"
    assert list((hub.home / "uploads").iterdir()) == []
