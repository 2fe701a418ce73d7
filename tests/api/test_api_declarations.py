"""Declarations by upload: a file POSTed to the hub (streamed in chunks) becomes the same declaration a local
`o2o usage import` of the same file makes (figures, hash, rows and rejects); the same file again is the same
declaration; an analyst declares only as its own operator, for its own agreements; a declaration is shown
to its declarer only, with its rejected rows; no upload leaves a file behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from api.conftest import Hub, invoker, problem

BAD_ROWS = (
    b"bad-1,,not-a-number,447700900002,2026-10-03T10:00:00Z,30,0,\n"
    b"bad-2,,447700900001,447700900002,2026-09-30T10:00:00Z,30,0,\n"
)


def _usage_file(hub: Hub, declarer: str) -> tuple[Path, dict[str, Any]]:
    """One of the generated usage files `declarer` declared (a voice one)."""
    net = hub.home.parent / "net"
    files = [f for f in hub.cli("usage", "list", "--json").json() if f["declarer"] == declarer]
    voice = next(f for f in files if f["service"].startswith("voice"))
    return net / "usage" / hub.agreement / voice["source"], voice


def _chunks(data: bytes, size: int = 7919) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def _declare(hub: Hub, headers: dict[str, str], body: Any, **params: Any) -> Any:
    query = {"agreement": hub.agreement, "period": hub.period, **params}
    return hub.client.post(
        "/api/v1/declarations", params=query, content=body, headers=headers | {"Content-Type": "text/csv"}
    )


def test_an_upload_is_the_declaration_a_local_import_makes(
    fresh_hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = fresh_hub
    source, voice = _usage_file(hub, hub.parties[0])
    changed = tmp_path / "corrected" / source.name
    changed.parent.mkdir()
    changed.write_bytes(source.read_bytes() + BAD_ROWS)
    analyst = hub.auth(hub.parties[0], "analyst")
    r = _declare(hub, analyst, _chunks(changed.read_bytes()), service=voice["service"],
                 filename=changed.name, replace="true")  # fmt: skip
    assert r.status_code == 201, r.text
    up = r.json()
    assert (up["declarer"], up["supersedes"], up["replaced"]) == (hub.parties[0], voice["id"], voice["id"])
    assert up["rejected"] == 2 and up["source"] == changed.name
    shown = hub.cli("usage", "show", up["id"], "--json").json()
    detail = hub.client.get(f"/api/v1/declarations/{up['id']}", headers=analyst).json()
    assert [(x["line"], x["reason"].split(":")[0]) for x in detail["rejects"]] == [
        (voice["rows"] + 2, "a_number"),
        (voice["rows"] + 3, "start_time"),
    ]
    assert detail["rejects_total"] == 2
    # On the ledger with who uploaded it (the admin's feed shows every entry whole).
    feed = hub.client.get("/api/v1/events", params={"limit": 1000}, headers=hub.auth("HUB", "admin")).json()
    (entry,) = [
        e
        for e in feed["events"]
        if e["type"] == "declaration.imported" and e["data"]["declaration"] == up["id"]
    ]
    assert entry["data"]["for"] == hub.parties[0] and entry["data"]["by_user"] and entry["data"]["by_token"]

    # The same file imported locally, in a workspace of its own with the same operators and agreement.
    local_home = tmp_path / "local"
    monkeypatch.setenv("O2O_HOME", str(local_home))
    monkeypatch.delenv("O2O_DATABASE_URL", raising=False)
    cli = invoker()
    net = hub.home.parent / "net"
    assert cli("operator", "add", "--file", net / "operators.toml").code == 0
    assert cli("agreement", "load", next((net / "agreements").glob("*.toml"))).code == 0
    r = cli("usage", "import", changed, "--agreement", hub.agreement, "--period", hub.period,
            "--declarer", hub.parties[0], "--service", voice["service"], "--json")  # fmt: skip
    assert r.code == 0, r.err
    local = r.json()
    figures = ("rows", "rejected", "duration_s", "volume", "sha256", "service", "period", "declarer", "role")
    assert {k: up[k] for k in figures} == {k: local[k] for k in figures}
    assert local["source"] == up["source"]
    assert pq.read_table(shown["lake_path"]).equals(pq.read_table(local["lake_path"]))
    assert Path(shown["rejects_path"]).read_text() == Path(local["rejects_path"]).read_text()
    assert list((hub.home / "uploads").iterdir()) == []


def test_the_same_file_again_is_the_same_declaration(fresh_hub: Hub) -> None:
    hub = fresh_hub
    source, voice = _usage_file(hub, hub.parties[1])
    r = _declare(hub, hub.auth(hub.parties[1], "analyst"), source.read_bytes(), service=voice["service"])
    assert r.status_code == 200, r.text
    assert r.json()["already_imported"] is True and r.json()["id"] == voice["id"]


def test_an_analyst_declares_only_as_its_operator_for_its_agreements(fresh_hub: Hub) -> None:
    hub = fresh_hub
    alfa, bravo = hub.parties
    source, voice = _usage_file(hub, alfa)
    body = source.read_bytes()
    before = hub.cli("usage", "list", "--json").json()
    for role in ("viewer", "signer"):
        problem(_declare(hub, hub.auth(alfa, role), body, service=voice["service"]), 403)
    problem(_declare(hub, hub.auth("HUB", "admin"), body, service=voice["service"]), 403)
    gone = problem(_declare(hub, hub.auth("GAMMA", "analyst"), body, service=voice["service"]), 404)
    missing = problem(
        _declare(hub, hub.auth(alfa, "analyst"), body, agreement="NOPE", service=voice["service"]), 404
    )
    assert gone["detail"].replace(hub.agreement, "NOPE") == missing["detail"], "foreign reads as missing"
    # BRAVO's analyst sending ALFA's file declares it as BRAVO's (the declarer is the caller's operator).
    r = _declare(hub, hub.auth(bravo, "analyst"), body, service=voice["service"], replace="true")
    assert r.status_code == 201 and r.json()["declarer"] == bravo
    problem(_declare(hub, hub.auth(alfa, "analyst"), body), 422)  # several services: name one
    declared = r.json()["id"]
    problem(_declare(hub, hub.auth(alfa, "analyst"), b"", service=voice["service"]), 422)
    r = hub.client.post("/api/v1/declarations", params={"agreement": hub.agreement, "period": hub.period},
                        content=body, headers=hub.auth(alfa, "analyst") | {"Content-Type": "application/json"})  # fmt: skip
    assert "format" in problem(r, 422)["detail"]
    after = hub.cli("usage", "list", "--json").json()
    assert [d["id"] for d in after if d not in before] == [declared], "only the one accepted"
    assert list((hub.home / "uploads").iterdir()) == []


def test_a_declaration_is_shown_to_its_declarer_only(hub: Hub) -> None:
    alfa, bravo = hub.parties
    _, voice = _usage_file(hub, alfa)
    path = f"/api/v1/declarations/{voice['id']}"
    for role in ("viewer", "analyst", "signer"):
        shown = hub.client.get(path, headers=hub.auth(alfa, role))
        assert shown.status_code == 200 and shown.json()["id"] == voice["id"]
        assert shown.json()["rejects"] == [] and shown.json()["rejects_total"] == 0
        for other in (bravo, "GAMMA"):
            assert voice["id"] in problem(hub.client.get(path, headers=hub.auth(other, role)), 404)["detail"]
    assert hub.client.get(path, headers=hub.auth("HUB", "admin")).status_code == 200


def test_a_refused_upload_names_the_file_as_sent_and_the_apis_option(fresh_hub: Hub, tmp_path: Path) -> None:
    """A replacement with rejected rows, sent without replace=true, is refused naming the file as the caller
    named it and the API's own option: never the hub's spool folder, nor the command line's --replace."""
    hub = fresh_hub
    source, voice = _usage_file(hub, hub.parties[0])
    analyst = hub.auth(hub.parties[0], "analyst")
    body = source.read_bytes() + BAD_ROWS
    r = _declare(hub, analyst, body, service=voice["service"], filename="corrected.csv")
    detail = problem(r, 422)["detail"]
    assert "corrected.csv" in detail and "send replace=true" in detail, detail
    assert str(hub.home) not in detail and "uploads" not in detail and "--replace" not in detail, detail
    assert list((hub.home / "uploads").iterdir()) == []
