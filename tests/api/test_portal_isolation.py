"""Isolation of the portal's pages, generated from the app's route list like the API's matrix: every page
needs a session (its access rule); every page of an id answers a foreign id (another pair's statement,
dispute, line, payment, ledger entry) exactly like a missing one (404, nothing of it shown), for every role of
an operator that is not a party; the list pages of that operator show nothing of the pair. A page route
added later with a path parameter this file does not know fails here until it is covered."""

from __future__ import annotations

import re
from typing import Any

from hub_harness import OUTSIDER, ROLES, Hub
from portal_client import csrf_of, portal_of, signed_in

OPEN_PAGES = {"/login"}  # the sign-in itself


def _page_routes(app: Any) -> list[Any]:
    from o2o.api.app import api_routes

    return [r for r in api_routes(app) if not r.path.startswith("/api/") and not r.route.include_in_schema]


def _rules(route: Any) -> set[str]:
    names: set[str] = set()
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        names.add(getattr(dep.call, "__name__", ""))
        stack.extend(dep.dependencies)
    return names


def test_every_page_has_the_session_rule(hub: Hub) -> None:
    client = portal_of(hub)
    routes = _page_routes(client.app)
    assert len(routes) >= 15
    for route in routes:
        if route.path in OPEN_PAGES:
            continue
        rules = _rules(route.route) & {"page_caller", "form_caller"}
        assert rules, f"{route.path} has no session rule"
        if "POST" in route.methods:
            assert rules == {"form_caller"}, f"{route.path}: a form needs the CSRF rule"


def _values(hub: Hub) -> dict[str, tuple[str, str]]:
    """(another pair's value, a missing value) per path parameter of the portal's pages."""
    h = hub.auth(hub.parties[0], "viewer")
    (payment,) = hub.client.get("/api/v1/payments", headers=h).json()
    dispute = hub.client.get(f"/api/v1/disputes/{hub.disputes[0]}", headers=h).json()
    ledger = signed_in(hub, hub.parties[0], "viewer").get("/ledger").text
    seqs = re.findall(r'<td class="num">(\d+)</td><td>[^<]*</td><td>statement\.signed</td><td>' + hub.statement,
                      ledger)  # fmt: skip
    assert seqs, "the pair's statement signature is on the ledger"
    declared = signed_in(hub, hub.parties[0], "viewer").get(f"/declarations?period={hub.period}").text
    declarations = re.findall(r'<a href="/declarations/([^"?]+)">', declared)
    assert declarations, "the pair's declarations are listed to its party"
    return {
        "statement_id": (hub.statement, "ST-NOPE-2026-10"),
        "dispute_id": (hub.disputes[0], "DSP-NOPE"),
        "service": (dispute["service"], "no-such-service"),
        "payment_id": (payment["id"], "PAY-NOPE"),
        "seq": (seqs[0], "999999"),
        "token_id": (hub.client.get("/api/v1/me", headers=h).json()["token_id"], "tok_nope"),
        "user_id": (hub.client.get("/api/v1/me", headers=h).json()["user_id"], "usr_nope"),
        "declaration_id": (declarations[0], "DCL-202610-000000000000"),
    }


def _url(path: str, values: dict[str, tuple[str, str]], which: int) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)][which], path)


def _body(route: Any, csrf: str) -> dict[str, str]:
    return {"csrf": csrf, "split": "1", "reference": "R1", "key_id": "0" * 16, "signature": "0" * 128}


def test_a_foreign_id_answers_like_a_missing_one_on_every_page(hub: Hub) -> None:
    values = _values(hub)
    secrets_ = [hub.agreement, *hub.parties, hub.statement, *hub.disputes]
    checked: dict[str, int] = {}
    for role in ROLES:
        client = signed_in(hub, OUTSIDER, role)
        csrf = csrf_of(client.get("/").text)
        for route in _page_routes(client.app):
            if "{" not in route.path:
                continue
            for method in route.methods:
                foreign, missing = _url(route.path, values, 0), _url(route.path, values, 1)
                if method == "GET":
                    a, b = client.get(foreign), client.get(missing)
                else:
                    a = client.post(foreign, data=_body(route, csrf), follow_redirects=False)
                    b = client.post(missing, data=_body(route, csrf), follow_redirects=False)
                assert a.status_code in (403, 404), (role, method, foreign, a.status_code)
                checked[f"{method} {route.path}"] = a.status_code
                assert a.status_code == b.status_code, (role, method, foreign)
                if a.status_code == 404:
                    shown = a.text.replace(foreign, "").replace(missing, "")
                    for value in (*values.values(),):
                        shown = shown.replace(value[0], "")
                    for secret in secrets_:
                        assert secret not in shown, (role, method, foreign, secret)
                    assert _masked(a.text, values, 0) == _masked(b.text, values, 1), (role, foreign)
    assert len(checked) >= 10, checked
    assert all(status == 404 for key, status in checked.items() if key.startswith("GET")), checked


def _masked(text: str, values: dict[str, tuple[str, str]], which: int) -> str:
    for v in values.values():
        text = text.replace(v[which], "ID")
    return text


def test_an_outsiders_pages_show_nothing_of_the_pair(hub: Hub) -> None:
    for role in ROLES:
        client = signed_in(hub, OUTSIDER, role)
        for path in ("/", f"/?period={hub.period}", "/disputes", f"/netting?period={hub.period}", "/ledger",
                     "/jobs", "/accounts", f"/declarations?period={hub.period}"):  # fmt: skip
            page = client.get(path)
            assert page.status_code == 200, (role, path)
            for secret in (hub.agreement, *hub.parties, hub.statement):
                assert secret not in page.text, (role, path, secret)
        for admin_page in ("/admin", "/admin/operators", "/admin/agreements", "/admin/users"):
            assert client.get(admin_page).status_code == 403, admin_page
        r = client.get(f"/accounts?counterparty={hub.parties[0]}")
        assert r.status_code == 404


def test_an_operator_sees_its_own_pair_only_from_its_side(hub: Hub) -> None:
    client = signed_in(hub, hub.parties[0], "viewer")
    assert hub.statement in client.get(f"/?period={hub.period}").text
    # its own declarations are listed, the counterparty's are not (nor served: 404 like a missing one)
    mine = re.findall(
        r'<a href="/declarations/([^"?]+)">', client.get(f"/declarations?period={hub.period}").text
    )
    other = signed_in(hub, hub.parties[1], "viewer")
    theirs = re.findall(
        r'<a href="/declarations/([^"?]+)">', other.get(f"/declarations?period={hub.period}").text
    )
    assert mine and theirs and not set(mine) & set(theirs)
    assert client.get(f"/declarations/{theirs[0]}").status_code == 404
    assert client.get(f"/declarations/{mine[0]}").status_code == 200
    # the books of a pair it is not in: unknown
    assert client.get(f"/accounts?counterparty={OUTSIDER}").status_code == 404
