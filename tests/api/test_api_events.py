"""The events feed and webhooks through the API. The feed is the ledger seen by one operator: a cursor
(`after`, a ledger position) pages through it the same way in small pages as in one; an operator sees its
agreements' entries, its own side of a netting round, and nothing of other pairs. A webhook gets the
operator's new events POSTed with an HMAC-SHA256 signature that a plain receiver on loopback checks; a
receiver that fails is retried with back-off, and every attempt is on record."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from api.conftest import Hub, client_of, problem

SECRET = "s3cret-known-to-alfa-only"


def _all(hub: Hub, headers: dict[str, str], limit: int) -> tuple[list[dict[str, Any]], int]:
    events: list[dict[str, Any]] = []
    after = -1
    while True:
        page = hub.client.get(
            "/api/v1/events", params={"after": after, "limit": limit}, headers=headers
        ).json()
        events += page["events"]
        if page["next_after"] == after:
            return events, after
        after = page["next_after"]


def test_the_feed_pages_the_callers_part_of_the_ledger(hub: Hub) -> None:
    alfa, bravo = hub.parties
    size = hub.cli("ledger", "head", "--json").json()["tree_size"]
    everything, end = _all(hub, hub.auth("HUB", "admin"), 1000)
    assert [e["seq"] for e in everything] == list(range(size)) and end == size - 1

    mine, end = _all(hub, hub.auth(alfa, "viewer"), 1000)
    assert end == size - 1
    assert _all(hub, hub.auth(alfa, "viewer"), 3)[0] == mine, "small pages give the same events"
    types = [e["type"] for e in mine]
    for wanted in (
        "declaration.imported",
        "cycle.agreed",
        "dispute.proposed",
        "statement.signed",
        "netting.round",
    ):
        assert wanted in types, wanted
    declarers = {e["data"]["declarer"] for e in mine if e["type"] == "declaration.imported"}
    assert declarers == {alfa, bravo}, "the counterparty's declarations are events too"
    for e in mine:
        assert e["agreement"] == hub.agreement or e["type"] in ("netting.round", "key.registered"), e
        assert "by_user" not in e["data"] and "by_token" not in e["data"]
        if e["type"] == "key.registered":
            assert e["subject"] == alfa
        if e["type"] == "netting.round":
            assert set(e["data"]["positions"]) and all(set(p) == {"net", "payable", "receivable"}
                                                       for p in e["data"]["positions"].values())  # fmt: skip
            for pay in e["data"]["payment_instructions"]:
                assert alfa in (pay["payer"], pay["payee"])
    theirs, _ = _all(hub, hub.auth(bravo, "viewer"), 1000)
    assert {e["subject"] for e in theirs if e["type"] == "key.registered"} == {bravo}

    nothing = hub.client.get(
        "/api/v1/events", params={"after": -1}, headers=hub.auth("GAMMA", "analyst")
    ).json()
    assert nothing == {"events": [], "next_after": size - 1, "more": False}, "a stranger to every pair"
    problem(hub.client.get("/api/v1/events", params={"after": -2}, headers=hub.auth(alfa, "viewer")), 422)
    problem(hub.client.get("/api/v1/events", params={"limit": 0}, headers=hub.auth(alfa, "viewer")), 422)


class Receiver:
    """A webhook receiver on loopback: checks each POST's signature itself, answers 500 to the first
    `failures` and 200 after."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                parts = dict(p.split("=", 1) for p in self.headers["X-O2O-Signature"].split(","))
                mac = hmac.new(SECRET.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
                answer = 500 if len(receiver.received) < receiver.failures else 200
                receiver.received.append(
                    {"valid": hmac.compare_digest(mac, parts["v1"]), "answer": answer, "body": json.loads(body),
                     "seq": self.headers["X-O2O-Event"]}
                )  # fmt: skip
                self.send_response(answer)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/o2o-events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(failures=2) as r:
        yield r


def test_a_webhook_gets_signed_events_retried_with_back_off_and_every_attempt_recorded(
    fresh_hub: Hub, receiver: Receiver
) -> None:
    hub = fresh_hub
    alfa, bravo = hub.parties
    analyst = hub.auth(alfa, "analyst")
    problem(hub.client.post("/api/v1/webhooks", json={"url": receiver.url, "secret": SECRET},
                            headers=hub.auth(alfa, "viewer")), 403)  # fmt: skip
    problem(
        hub.client.post("/api/v1/webhooks", json={"url": "ftp://x", "secret": SECRET}, headers=analyst), 422
    )
    r = hub.client.post("/api/v1/webhooks", json={"url": receiver.url, "secret": SECRET}, headers=analyst)
    assert r.status_code == 201, r.text
    hook = r.json()
    assert (
        "secret" not in hook and hook["cursor"] == hub.cli("ledger", "head", "--json").json()["tree_size"] - 1
    )
    assert [h["id"] for h in hub.client.get("/api/v1/webhooks", headers=hub.auth(alfa, "viewer")).json()] == [
        hook["id"]
    ]
    assert hub.client.get("/api/v1/webhooks", headers=hub.auth(bravo, "analyst")).json() == []

    # The counterparty proposes: ALFA's webhook hears of it.
    dispute = hub.disputes[0]
    r = hub.client.post(f"/api/v1/disputes/{dispute}/proposals", json={}, headers=hub.auth(bravo, "analyst"))
    assert r.status_code in (200, 201), r.text
    with client_of(hub.app):  # the app's runner delivers webhooks
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not any(x["answer"] == 200 for x in receiver.received):
            time.sleep(0.1)
    assert [x["answer"] for x in receiver.received][:3] == [500, 500, 200]
    assert all(x["valid"] for x in receiver.received), "every POST signed with the secret"
    first = receiver.received[0]["body"]["event"]
    assert (
        first["type"] == "dispute.proposed" and first["subject"] == dispute and first["seq"] > hook["cursor"]
    )
    assert {x["body"]["event"]["seq"] for x in receiver.received[:3]} == {first["seq"]}, (
        "the same event again"
    )

    deliveries = hub.client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=analyst).json()
    tried = [(d["event"], d["attempt"], d["outcome"], d["status_code"]) for d in reversed(deliveries)][:3]
    assert tried == [
        (first["seq"], 1, "failed", 500),
        (first["seq"], 2, "failed", 500),
        (first["seq"], 3, "delivered", 200),
    ]
    # Back-off: each try waits at least 1 s, then 2 s, after the one before (never sooner; later is fine).
    times = [datetime.fromisoformat(d["time"]) for d in reversed(deliveries)][:3]
    assert (times[1] - times[0]).total_seconds() >= 1 and (times[2] - times[1]).total_seconds() >= 2
    for other in ((bravo, "analyst"), ("GAMMA", "analyst")):
        problem(hub.client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=hub.auth(*other)), 404)
        problem(hub.client.delete(f"/api/v1/webhooks/{hook['id']}", headers=hub.auth(*other)), 404)
    removed = hub.client.delete(f"/api/v1/webhooks/{hook['id']}", headers=analyst).json()
    assert removed["active"] is False
