"""Isolation, generated from the app's own routes (so a route added later is covered at once):

- every route declares exactly one access rule (`o2o.api.auth.require`/`public`), and a route without one
  is caught (a control app shows the check has teeth);
- every route × every operator role × an operator that is party to nothing (GAMMA), called with the real ids
  of the ALFA–BRAVO pair's agreement, statement, disputes, payments and ledger entries, answers 403, or 404
  exactly as for an id that does not exist, or a success that names nothing of the pair;
- the parties themselves see their own, and roles decide what each may do.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from hub_harness import OUTSIDER, ROLES, Hub, problem

from o2o.api.app import api_routes
from o2o.api.auth import AccessRule, Reader


def access_rules(route: APIRoute) -> list[AccessRule]:
    found: list[AccessRule] = []

    def walk(dependant: Any) -> None:
        for sub in dependant.dependencies:
            if isinstance(sub.call, AccessRule):
                found.append(sub.call)
            walk(sub)

    walk(route.dependant)
    return found


def routes_without_one_rule(app: FastAPI) -> list[str]:
    """`METHOD path` of every route that declares no access rule, or more than one."""
    return [
        f"{','.join(sorted(r.methods))} {r.path}" for r in api_routes(app) if len(access_rules(r.route)) != 1
    ]


# FastAPI's own routes: the OpenAPI document and the interactive docs (public by design).
DOCS_ROUTES = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def test_every_route_declares_one_access_rule(hub: Hub) -> None:
    assert routes_without_one_rule(hub.app) == []
    served = api_routes(hub.app)
    assert all(r.path.startswith("/api/v1/") or r.path in ("/health", "/ready") for r in served)
    public = [r.path for r in served if access_rules(r.route)[0].permission is None]
    assert sorted(public) == ["/health", "/ready"]
    # every operation of the OpenAPI document is a route checked here, and the other way round
    documented = {(m.upper(), p) for p, ops in hub.app.openapi()["paths"].items() for m in ops}
    assert documented == {(m, r.path) for r in served for m in r.methods}


def test_a_route_without_an_access_rule_is_caught() -> None:
    app = FastAPI()

    @app.get("/api/v1/guarded")
    def guarded(actor: Reader) -> dict[str, str]:
        return {}

    @app.get("/api/v1/open-by-mistake")
    def forgotten() -> dict[str, str]:
        return {}

    @app.get("/api/v1/twice")
    def twice(actor: Reader, again: Reader) -> dict[str, str]:
        return {}

    assert routes_without_one_rule(app) == ["GET /api/v1/open-by-mistake", "GET /api/v1/twice"]


# --- the matrix ------------------------------------------------------------------------------------


def _admin_get(hub: Hub, path: str) -> Any:
    r = hub.client.get(path, headers=hub.auth("HUB", "admin"))
    assert r.status_code == 200, r.text
    return r.json()


def _pair_entry(hub: Hub) -> int:
    """The seq of a ledger entry about the pair's statement."""
    with hub.app.state.workspace.uow() as uow:
        return next(e.seq for e in uow.ledger_store.entries() if e.subject == hub.statement)


@pytest.fixture(scope="module")
def foreign(hub: Hub) -> dict[str, str]:
    """Real ids of everything under the ALFA–BRAVO pair, by the path parameter that takes them."""
    a = hub.parties[0]
    payments = _admin_get(hub, "/api/v1/payments")
    assert payments, "the netted cycle issued payment instructions"
    declarations = hub.cli("usage", "list", "--agreement", hub.agreement, "--json").json()
    hook = hub.client.post(
        "/api/v1/webhooks", headers=hub.auth(a, "analyst"),
        json={"url": "http://127.0.0.1:9/hook", "secret": "s" * 32},
    )  # fmt: skip
    assert hook.status_code == 201, hook.text
    from o2o.ledger.keys import Signer
    from o2o.services.hub_keys import registration_message

    key = Signer.generate(a)
    asked = hub.client.post(
        "/api/v1/keys", headers=hub.auth(a, "signer"),
        json={"public_key": key.public_key,
              "possession": key.sign(registration_message(a, key.key_id, key.public_key))},
    )  # fmt: skip
    assert asked.status_code == 201, asked.text
    job = hub.client.post(
        "/api/v1/reconcile-runs", headers=hub.auth("HUB", "admin"),
        json={"period": hub.period, "agreement": hub.agreement},
    )  # fmt: skip
    assert job.status_code == 202, job.text
    return {
        "agreement_id": hub.agreement,
        "statement_id": hub.statement,
        "dispute_id": hub.disputes[0],
        "payment_id": payments[0]["id"],
        "seq": str(_pair_entry(hub)),
        "period": hub.period,
        "declaration_id": declarations[0]["id"],
        "webhook_id": hook.json()["id"],
        "job_id": job.json()["id"],
        "counterparty": a,
        "request_id": asked.json()["id"],
        "service": _admin_get(hub, f"/api/v1/statements/{hub.statement}")["lines"][0]["service"],
        "round_id": payments[0]["round_id"],
    }


MISSING = {
    "agreement_id": "AG-NOT-HERE",
    "statement_id": "ST-NOT-HERE-2026-10",
    "dispute_id": "DSP-NOT-HERE",
    "payment_id": "PAY-NOT-HERE",
    "seq": "999999",
    "period": "2031-01",
    "declaration_id": "DCL-NOT-HERE",
    "webhook_id": "WH-NOT-HERE",
    "job_id": "JOB-NOT-HERE",
    "counterparty": "ZULU",
    "request_id": "KRQ-NOT-HERE",
    "service": "no-such-service",
    "round_id": "RND-2031-01-1",
}


def _request_parts(hub: Hub, method: str, path: str, values: dict[str, str]) -> dict[str, Any]:
    """A plausible query and body for a route, naming the ids of `values` (foreign or missing), so that it
    reaches its service (a 422 for a missing field would say nothing about isolation). A route not listed
    here gets none."""
    a, agreement = values["counterparty"], values["agreement_id"]
    table: dict[tuple[str, str], dict[str, Any]] = {
        ("GET", "/api/v1/cycles"): {"params": {"period": hub.period}},
        ("GET", "/api/v1/statements"): {"params": {"period": hub.period}},
        ("GET", "/api/v1/obligations"): {"params": {"period": hub.period}},
        ("GET", "/api/v1/accounts/statement"): {
            "params": {"counterparty": a, "from": "2026-01-01", "to": date.today().isoformat()}
        },
        ("POST", "/api/v1/accounts/reconcile"): {
            "data": {"counterparty": a, "as_of": date.today().isoformat()},
            "files": {"extract": ("extract.csv", b"line,date,document,description,debit,credit,currency\n")},
        },
        ("POST", "/api/v1/statements/{statement_id}/signatures"): {
            "json": {"key_id": "0123456789abcdef", "signature": "00" * 64}
        },
        ("POST", "/api/v1/statements/{statement_id}/chain-signatures"): {
            "json": {"signature": "0x" + "11" * 65}
        },
        ("POST", "/api/v1/netting-rounds/{round_id}/chain-signatures"): {
            "json": {"signature": "0x" + "22" * 65}
        },
        ("POST", "/api/v1/disputes/{dispute_id}/proposals"): {"json": {"note": "split"}},
        ("POST", "/api/v1/disputes/{dispute_id}/concessions"): {"json": {"amount": "1.00"}},
        ("POST", "/api/v1/payments/{payment_id}/confirm"): {"json": {"reference": "BANK-1"}},
        ("POST", "/api/v1/admin/operators"): {
            "json": {"id": "DELTA", "name": "Delta", "currency": "EUR", "country_code": "34"}
        },
        ("POST", "/api/v1/admin/agreements"): {"files": {"file": ("a.toml", b"id = 'X'\n")}},
        ("POST", "/api/v1/admin/operators/file"): {"files": {"file": ("ops.toml", b"[[operators]]\n")}},
        ("POST", "/api/v1/declarations"): {
            "params": {"agreement": agreement, "period": hub.period, "filename": "u.csv"},
            "content": b"service,a_number,b_number,start_time,duration_s\n",
            "headers": {"Content-Type": "text/csv"},
        },
        ("POST", "/api/v1/roaming-declarations"): {
            "params": {"agreement": agreement, "period": hub.period, "filename": "u.json"},
            "content": b'{"inbound": [], "outbound": []}',
            "headers": {"Content-Type": "application/json"},
        },
        ("POST", "/api/v1/webhooks"): {"json": {"url": "http://127.0.0.1:9/gamma", "secret": "g" * 32}},
        ("POST", "/api/v1/reconcile-runs"): {"json": {"period": hub.period, "agreement": agreement}},
        ("POST", "/api/v1/netting-rounds"): {"json": {"period": hub.period}},
        ("POST", "/api/v1/keys"): {"json": _outsider_key()},
        ("POST", "/api/v1/admin/keys/{request_id}/reject"): {"json": {"reason": "no"}},
        ("GET", "/api/v1/documents/account-act"): {
            "params": {"counterparty": a, "from": "2026-01-01", "to": date.today().isoformat()}
        },
    }
    return table.get((method, path), {})


def _outsider_key() -> dict[str, str]:
    """A key GAMMA made on its side, with its proof of possession (GAMMA may submit its own key)."""
    from o2o.ledger.keys import Signer
    from o2o.services.hub_keys import registration_message

    key = Signer.generate(OUTSIDER)
    proof = key.sign(registration_message(OUTSIDER, key.key_id, key.public_key))
    return {"public_key": key.public_key, "possession": proof}


def _fill(path: str, values: dict[str, str]) -> str:
    names = re.findall(r"{(\w+)}", path)
    missing = [n for n in names if n not in values]
    assert not missing, f"{path}: add a foreign and a missing value for {missing} to the isolation matrix"
    return path.format(**{n: values[n] for n in names})


def _same_answer(foreign: Any, missing: Any, hub_values: dict[str, str]) -> None:
    """The problem for a foreign id is the problem for a missing one, but for the id itself."""

    def neutral(body: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
        text = repr(sorted(body.items()))
        for value in values.values():
            text = re.sub(rf"(?<![\w-]){re.escape(value)}(?![\w-])", "<id>", text)
        return {"text": text}

    assert neutral(foreign, hub_values) == neutral(missing, MISSING)


def _leaks(hub: Hub, text: str, foreign: dict[str, str]) -> list[str]:
    names = [
        *hub.parties,
        *(v for k, v in foreign.items() if k not in ("seq", "period", "counterparty", "service")),
    ]
    return [n for n in names if n in text]


def _routes(hub: Hub) -> list[tuple[str, str]]:
    return sorted(
        (method, r.path) for r in api_routes(hub.app) if r.path.startswith("/api/v1/") for method in r.methods
    )


@pytest.mark.parametrize("role", ROLES)
def test_an_operator_that_is_no_party_sees_nothing_of_the_pair(
    hub: Hub, foreign: dict[str, str], role: str
) -> None:
    headers = hub.auth(OUTSIDER, role)
    seen: dict[int, int] = {}
    routes = _routes(hub)
    assert len(routes) >= 25
    for method, path in routes:
        parts = _request_parts(hub, method, path, foreign)
        extra = parts.pop("headers", {})
        r = hub.client.request(method, _fill(path, foreign), headers=headers | extra, **parts)
        seen[r.status_code] = seen.get(r.status_code, 0) + 1
        where = f"{method} {path} as {OUTSIDER} {role}: {r.status_code} {r.text[:300]}"
        if r.status_code < 300:
            assert not _leaks(hub, r.text, foreign), where
        elif r.status_code == 404:
            answer = problem(r, 404)
            parts = _request_parts(hub, method, path, MISSING)
            extra = parts.pop("headers", {})
            again = hub.client.request(method, _fill(path, MISSING), headers=headers | extra, **parts)
            _same_answer(answer, problem(again, 404), foreign)
        else:
            assert r.status_code == 403, where
            problem(r, 403)
    # both refusals happened: the matrix did reach the services (404) and the roles (403)
    assert seen.get(404, 0) >= 5 and seen.get(403, 0) >= 5, seen


def test_the_outsider_s_lists_are_empty_and_it_is_told_who_it_is(hub: Hub) -> None:
    h = hub.auth(OUTSIDER, "viewer")
    me = hub.client.get("/api/v1/me", headers=h).json()
    assert (me["operator"], me["role"], me["agreements"]) == (OUTSIDER, "viewer", [])
    for path in ("/api/v1/agreements", "/api/v1/statements", "/api/v1/disputes", "/api/v1/obligations",
                 "/api/v1/payments", "/api/v1/cycles"):  # fmt: skip
        r = hub.client.get(path, headers=h)
        assert (r.status_code, r.json()) == (200, []), path


def test_each_party_sees_its_own(hub: Hub) -> None:
    for party in hub.parties:
        h = hub.auth(party, "viewer")
        assert [a["id"] for a in hub.client.get("/api/v1/agreements", headers=h).json()] == [hub.agreement]
        st = hub.client.get(f"/api/v1/statements/{hub.statement}", headers=h).json()
        assert st["state"] == "signed" and sorted(s["operator"] for s in st["signatures"]) == sorted(
            hub.parties
        )
        disputes = hub.client.get("/api/v1/disputes", headers=h).json()
        assert sorted(d["id"] for d in disputes) == sorted(hub.disputes)
        assert all(
            party in (p["payer"], p["payee"]) for p in hub.client.get("/api/v1/payments", headers=h).json()
        )
        obligations = hub.client.get("/api/v1/obligations", headers=h).json()
        assert obligations and all(party in (o["debtor"], o["creditor"]) for o in obligations)
        entry = hub.client.get(f"/api/v1/ledger/entries/{_pair_entry(hub)}/proof", headers=h).json()
        assert entry["entry"]["subject"] == hub.statement


@pytest.mark.parametrize(
    ("operator", "role", "method", "path", "body"),
    [
        ("ALFA", "viewer", "POST", "/api/v1/statements/{st}/signatures", {"key_id": "k", "signature": "00"}),
        ("ALFA", "analyst", "POST", "/api/v1/statements/{st}/signatures", {"key_id": "k", "signature": "00"}),
        ("ALFA", "viewer", "POST", "/api/v1/disputes/{dsp}/accept", None),
        ("ALFA", "signer", "POST", "/api/v1/disputes/{dsp}/proposals", {}),
        ("ALFA", "analyst", "POST", "/api/v1/payments/PAY-X/confirm", {"reference": "R"}),
        ("ALFA", "signer", "GET", "/api/v1/admin/operators", None),
        ("ALFA", "analyst", "POST", "/api/v1/admin/periods/2026-11/open", None),
        ("HUB", "admin", "POST", "/api/v1/disputes/{dsp}/proposals", {}),
    ],
)
def test_a_role_does_only_what_it_may(
    hub: Hub, operator: str, role: str, method: str, path: str, body: Any
) -> None:
    url = path.format(st=hub.statement, dsp=hub.disputes[0])
    r = hub.client.request(method, url, headers=hub.auth(operator, role), json=body)
    assert problem(r, 403)["type"] == "urn:o2o:problem:forbidden"


def test_no_token_or_a_wrong_one_is_401_for_every_route(hub: Hub) -> None:
    for method, path in _routes(hub):
        url = _fill(path, MISSING)
        for headers in ({}, {"Authorization": "Bearer o2o_not-a-token"}, {"Authorization": "Basic eDp5"}):
            r = hub.client.request(method, url, headers=headers)
            assert problem(r, 401)["type"] == "urn:o2o:problem:unauthenticated", (method, path)
            assert r.headers["www-authenticate"] == "Bearer"


def test_the_request_log_names_caller_and_outcome(hub: Hub) -> None:
    hub.client.get(f"/api/v1/statements/{hub.statement}", headers=hub.auth(OUTSIDER, "viewer"))
    log = _admin_get(hub, "/api/v1/admin/requests?limit=5")
    line = next(x for x in log if x["path"] == f"/api/v1/statements/{hub.statement}")
    assert (line["operator"], line["status"], line["outcome"]) == (OUTSIDER, 404, "not-found")
    assert line["user_id"] and line["token_id"]
