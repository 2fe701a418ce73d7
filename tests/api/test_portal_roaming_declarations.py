"""A roaming agreement's BWRP usage report declared through the portal's declarations page: each party's
analyst picks the roaming agreement and period and uploads its report (spooled, CSRF-checked, then
`declare_roaming_upload`), which declares both directions; the answer is the first direction's declaration
page linking the other. The same report again is already imported; a malformed report is a one-line error
naming the field and declares nothing; a viewer may not declare."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from hub_harness import Hub
from portal_client import post_form, signed_in

from api.test_api_roaming_declarations import EXAMPLES, RA, _agreement, _reports


def test_both_parties_declare_their_roaming_reports_through_the_declarations_page(
    fresh_hub: Hub, tmp_path: Path
) -> None:
    hub = fresh_hub
    tmp = tmp_path
    with _agreement(tmp).open("rb") as fh:
        r = hub.client.post("/api/v1/admin/agreements", files={"file": ("roaming.toml", fh)},
                            headers=hub.auth("HUB", "admin"))  # fmt: skip
    assert r.status_code == 201, r.text
    reports = _reports(tmp)
    form = {"agreement": RA, "period": hub.period}
    page = f"/declarations?period={hub.period}"

    alfa = signed_in(hub, "ALFA", "analyst")
    shown = alfa.get(page).text
    assert 'action="/declarations/roaming"' in shown and f'<option value="{RA}">' in shown
    for field in ("ra-agreement", "ra-period", "ra-file"):  # every input of the form has its label
        assert f'<label for="{field}">' in shown and f'id="{field}"' in shown
    # the interconnect form does not offer the roaming agreement
    select = shown.split('id="d-agreement"', 1)[1].split("</select>", 1)[0]
    assert RA not in select

    # A malformed report: a one-line error naming the file and the field; nothing declared.
    before = hub.cli("usage", "list", "--history", "--json").json()
    bad = json.loads((EXAMPLES / "usage.json").read_text(encoding="utf-8"))
    bad["inbound"][1]["usage"] = "lots"
    r = post_form(alfa, page, "/declarations/roaming", form, files={"file": ("alfa.json", json.dumps(bad))})
    assert r.status_code == 422, r.text
    (message,) = [html.unescape(m) for m in re.findall(r">([^<>]*inbound\[1\]\.usage[^<>]*)<", r.text)]
    assert "alfa.json" in message and "'lots'" in message and "\n" not in message
    assert str(hub.home) not in r.text and "uploads" not in message
    r = post_form(alfa, page, "/declarations/roaming", form, files={"file": ("alfa.csv", b"x")})
    assert r.status_code == 422 and "ending .json" in r.text
    assert hub.cli("usage", "list", "--history", "--json").json() == before, "nothing declared"

    # Each party's analyst declares its report: both directions, shown on the declaration pages.
    declared: dict[str, list[str]] = {}
    for op, report in reports.items():
        client = alfa if op == "ALFA" else signed_in(hub, op, "analyst")
        r = post_form(
            client, page, "/declarations/roaming", form, files={"file": (report.name, report.read_bytes())}
        )
        assert r.status_code == 303, r.text
        where = r.headers["location"]
        assert "done=declared" in where and "also=" in where
        first = where.split("/declarations/", 1)[1].split("?", 1)[0]
        second = where.split("also=", 1)[1].split("&", 1)[0]
        declared[op] = [first, second]
        shown = client.get(where)
        assert shown.status_code == 200 and report.name in shown.text
        assert f'href="/declarations/{second}"' in shown.text
        assert client.get(f"/declarations/{second}").status_code == 200
        for decl in declared[op]:
            api = hub.client.get(f"/api/v1/declarations/{decl}", headers=hub.auth(op, "viewer")).json()
            assert (api["agreement"], api["declarer"], api["source"]) == (RA, op, report.name)
        assert {
            hub.client.get(f"/api/v1/declarations/{d}", headers=hub.auth(op, "viewer")).json()["service"]
            for d in declared[op]
        } == {"ALFA-on-BRAVO", "BRAVO-on-ALFA"}
    listed = alfa.get(page).text
    assert all(f'href="/declarations/{d}"' in listed for d in declared["ALFA"])
    (cycle,) = [c for c in hub.client.get("/api/v1/cycles", params={"period": hub.period},
                                          headers=hub.auth("ALFA", "viewer")).json()
                if c["agreement"] == RA]  # fmt: skip
    assert cycle["state"] == "declared"

    # The same report again: already imported, the same declarations.
    r = post_form(alfa, page, "/declarations/roaming", form,
                  files={"file": (reports["ALFA"].name, reports["ALFA"].read_bytes())})  # fmt: skip
    assert r.status_code == 303 and "done=already+imported" in r.headers["location"]
    assert r.headers["location"].startswith(f"/declarations/{declared['ALFA'][0]}?")

    # A viewer is offered no form and refused; another operator's agreement answers as unknown.
    viewer = signed_in(hub, "ALFA", "viewer")
    assert 'for="ra-file"' not in viewer.get(page).text
    body = reports["ALFA"].read_bytes()
    r = post_form(viewer, page, "/declarations/roaming", form, files={"file": ("a.json", body)})
    assert r.status_code == 403
    gamma = signed_in(hub, "GAMMA", "analyst")
    foreign = post_form(gamma, page, "/declarations/roaming", form, files={"file": ("a.json", body)})
    missing = post_form(gamma, page, "/declarations/roaming", {**form, "agreement": "RA-NOPE"},
                        files={"file": ("a.json", body)})  # fmt: skip
    assert foreign.status_code == missing.status_code == 404
    assert foreign.text.replace(RA, "ID") == missing.text.replace("RA-NOPE", "ID")
    assert list((hub.home / "uploads").iterdir()) == []
