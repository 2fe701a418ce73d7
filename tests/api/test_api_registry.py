"""The hub carries its registrations to the chain: a workspace whose registry is evm or anchored, served by the
hub's app with its lifespan (the job runner and the registry's poll), on a real node (anvil, from npm's
@foundry-rs/anvil). Everything after the deployment goes through the API — disputes settled, the statement
signed by both parties, a netting round, payments confirmed — and the chain holds it without any CLI command
in between: `o2o registry verify` (which publishes nothing) then passes and counts it.

- evm: every registration is on the contract, published by the hub's own `publish` jobs;
- anchored: a head is anchored when `anchor_every` entries were added (not before), and when the minutes
  passed with fewer (the poll, with the clock moved on);
- nothing lost: a hub that died between its commits and queuing the publish, restarted while its node is
  down (the publish fails in one line), carries them once the node is back (the poll, after the back-off);
- central: no publish job, and neither requests nor the poll go past the cheap check;
- PostgreSQL: the server only queues (one waiting publish at a time), `o2o worker` takes it.
"""

from __future__ import annotations

import o2o.chain  # noqa: F401  (first: imports web3 without the websockets.legacy DeprecationWarning)

# isort: split
import itertools
import json
import time
from pathlib import Path
from typing import Any

import pytest
from hub_harness import Hub, build_hub, client_of

from anvil_node import Anvil
from harness import postgres_database
from o2o.ledger.keys import read_private_key

pytestmark = pytest.mark.slow
ADMIN = ("HUB", "admin")


def _hub_on_chain(tmp_path: Path, mp: pytest.MonkeyPatch, anvil: Anvil, mode: str, *deploy: str) -> Hub:
    """A reconciled hub (disputes open) whose operators and hub have chain keys, its contract deployed."""
    hub = build_hub(tmp_path, mp, None)
    for op in ("HUB", *hub.parties):
        r = hub.cli("keys", "generate", op, "--chain", "--json")
        assert r.code == 0, r.err
    r = hub.cli("registry", "deploy", "--registry", mode, "--url", anvil.url, "--chain-id", "31337",
                "--dev-fund", "--json", *deploy)  # fmt: skip
    assert r.code == 0, r.err
    return hub


def _publish_jobs(client: Any, hub: Hub) -> list[dict[str, Any]]:
    jobs = client.get("/api/v1/jobs", headers=hub.auth(*ADMIN), params={"limit": 1000}).json()
    return [j for j in jobs if j["kind"] == "publish"]


def _settled(client: Any, hub: Hub, at_least: int) -> list[dict[str, Any]]:
    """Wait until `at_least` publish jobs were queued and none is waiting or running; they must all be done.
    (A wait for the server's threads, not a measure of time: the deadline only stops a hung test.)"""
    deadline = time.monotonic() + 300
    while True:
        jobs = _publish_jobs(client, hub)
        if len(jobs) >= at_least and all(j["state"] in ("done", "failed") for j in jobs):
            break
        assert time.monotonic() < deadline, jobs
        time.sleep(0.2)
    assert [j["error"] for j in jobs if j["state"] == "failed"] == []
    assert {j["requested_by"] for j in jobs} == {"hub:registry"} and {j["operator"] for j in jobs} == {None}
    return jobs


def _verified(hub: Hub, mode: str) -> dict[str, Any]:
    r = hub.cli("registry", "verify", "--registry", mode, "--json")
    assert r.code == 0, r.out + r.err
    report = json.loads(r.out)
    assert report["ok"] and report["findings"] == []
    return dict(report)


def _settle_disputes(client: Any, hub: Hub) -> None:
    for d_id in hub.disputes:
        d = client.get(f"/api/v1/disputes/{d_id}", headers=hub.auth(hub.parties[0], "viewer")).json()
        p = client.post(
            f"/api/v1/disputes/{d_id}/proposals", headers=hub.auth(d["provider"], "analyst"), json={}
        )
        assert p.status_code == 201, p.text
        done = client.post(f"/api/v1/disputes/{d_id}/accept", headers=hub.auth(d["customer"], "analyst"))
        assert done.status_code == 200, done.text


def _sign(client: Any, hub: Hub, op: str) -> dict[str, Any]:
    """`op` signs the statement on its side (its key read from where it keeps it) and sends the signature."""
    signer = read_private_key(hub.home / "keys" / f"{op}.pem", op)
    url = f"/api/v1/statements/{hub.statement}"
    st = client.get(url, headers=hub.auth(op, "signer")).json()
    body = {
        "key_id": signer.key_id,
        "signature": signer.sign(st["canonical"].encode()),
        "digest": st["digest"],
    }
    r = client.post(f"{url}/signatures", headers=hub.auth(op, "signer"), json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _ledger_size(client: Any, hub: Hub) -> int:
    head = client.get("/api/v1/ledger/head", headers=hub.auth(*ADMIN))
    assert head.status_code == 200, head.text
    return int(head.json()["tree_size"])


def test_the_hub_carries_a_whole_cycle_to_the_evm_contract(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, anvil: Anvil
) -> None:
    monkeypatch.setenv("O2O_REGISTRY_POLL", "3600")  # the poll at the start only: the rest is asked for
    hub = _hub_on_chain(tmp_path, monkeypatch, anvil, "evm")
    with client_of(hub.app) as client:  # the lifespan: the job runner and the registry's poll
        # what the ledger held before the contract (the reconciliation, the keys) is carried at the start
        first = _settled(client, hub, 1)
        assert first[0]["args"]["asked_by"] == "poll" and first[0]["result"]["registrations"] > 0
        before = _verified(hub, "evm")
        assert "StatementRegistered" not in before["counts"] and "pending" not in before["counts"]

        # disputes settled and the statement signed by both parties, through the API only
        _settle_disputes(client, hub)
        settled = _settled(client, hub, 2)
        assert all(j["args"]["asked_by"].startswith("POST /api/v1/disputes/") for j in settled[:-1])
        a, b = hub.parties
        assert _sign(client, hub, a)["complete"] is False
        signed = _sign(client, hub, b)
        assert signed["complete"] is True and signed["obligations"]
        jobs = _settled(client, hub, len(settled) + 1)
        assert jobs[len(jobs) - len(settled) - 1]["args"]["asked_by"].endswith("/signatures"), jobs
        after = _verified(hub, "evm")  # no CLI command between the signature and this check
        assert after["counts"]["StatementRegistered"] == 1, after["counts"]
        assert after["counts"]["ObligationRegistered"] >= len(signed["obligations"])
        assert "pending" not in after["counts"]  # every ledger entry is on chain

        # a netting round (a job of the server's runner) and the payments confirmed by their payees
        r = client.post("/api/v1/netting-rounds", headers=hub.auth(*ADMIN),
                        json={"period": hub.period, "mode": "direct"})  # fmt: skip
        assert r.status_code == 202, r.text
        netted = _settled(client, hub, len(jobs) + 1)
        assert any(j["args"]["asked_by"] == f"job {r.json()['id']}" for j in netted), netted
        payments = client.get("/api/v1/payments", headers=hub.auth(a, "viewer")).json()
        assert payments
        for pay in payments:
            done = client.post(f"/api/v1/payments/{pay['id']}/confirm", headers=hub.auth(pay["payee"], "signer"),
                               json={"reference": "BANK-REF-1"})  # fmt: skip
            assert done.status_code == 200, done.text
        confirmed = _settled(client, hub, len(netted) + 1)
        assert any(j["args"]["asked_by"].endswith("/confirm") for j in confirmed), confirmed
        final = _verified(hub, "evm")
        size = _ledger_size(client, hub)
    counts = final["counts"]
    assert counts["RoundRegistered"] == 1 and counts["SetOffRegistered"] >= 1
    assert counts["PaymentRegistered"] == len(payments)  # each confirmation (the instructions: in the round)
    assert "pending" not in counts
    assert json.loads((hub.home / "registry.json").read_text())["published"] == size


def test_the_hub_anchors_a_head_when_the_rule_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, anvil: Anvil
) -> None:
    monkeypatch.setenv("O2O_REGISTRY_POLL", "0.2")
    hub = _hub_on_chain(
        tmp_path, monkeypatch, anvil, "anchored", "--anchor-every", "4", "--anchor-minutes", "60"
    )
    with client_of(hub.app) as client:
        (first,) = _settled(client, hub, 1)  # never anchored: the minutes since are past, a head at once
        size = _ledger_size(client, hub)
        assert first["args"]["asked_by"] == "poll" and first["result"]["anchored_size"] == size
        assert _verified(hub, "anchored")["counts"] == {"HeadAnchored": 1}

        # one entry more: neither 4 entries nor 60 minutes, so no job and no head
        d_id = hub.disputes[0]
        d = client.get(f"/api/v1/disputes/{d_id}", headers=hub.auth(hub.parties[0], "viewer")).json()
        p = client.post(
            f"/api/v1/disputes/{d_id}/proposals", headers=hub.auth(d["provider"], "analyst"), json={}
        )
        assert p.status_code == 201, p.text
        grown = _ledger_size(client, hub)
        assert 0 < grown - size < 4
        assert len(_publish_jobs(client, hub)) == 1
        assert _verified(hub, "anchored")["counts"] == {"HeadAnchored": 1}

        # an hour later, nothing asked: the poll finds the minutes passed and anchors them
        hour_later = time.time() + 3600
        monkeypatch.setattr("o2o.services.registry.now_epoch", lambda: hour_later)
        monkeypatch.setattr("o2o.services.registry_chain.now_epoch", lambda: hour_later)
        timed = _settled(client, hub, 2)[0]
        assert timed["args"]["asked_by"] == "poll" and "60 minutes passed" in timed["args"]["due"]
        assert timed["result"]["anchored_size"] == grown
        assert _verified(hub, "anchored")["counts"] == {"HeadAnchored": 2}

        # the dispute accepted, the others settled and the statement signed (the clock stays where it is):
        # a head whenever 4 entries or more were added since the last one, none with fewer left over
        done = client.post(f"/api/v1/disputes/{d_id}/accept", headers=hub.auth(d["customer"], "analyst"))
        assert done.status_code == 200, done.text
        hub.disputes = hub.disputes[1:]
        _settle_disputes(client, hub)
        for op in hub.parties:
            _sign(client, hub, op)
        final = _ledger_size(client, hub)
        jobs = _settled(client, hub, 3)
        assert all("a head every 4" in j["args"]["due"] for j in jobs[:-2])
        sizes = sorted({j["result"]["anchored_size"] for j in jobs})  # each head anchored, in order
        assert sizes[:2] == [size, grown] and len(sizes) > 2
        assert all(later - earlier >= 4 for earlier, later in itertools.pairwise(sizes[1:]))
        assert 0 <= final - sizes[-1] < 4
        assert _verified(hub, "anchored")["counts"] == {"HeadAnchored": len(sizes)}


def test_a_central_hub_queues_no_publish_and_looks_no_further_than_a_stat(
    fresh_hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = fresh_hub
    assert not (hub.home / "registry.json").exists()
    looked: list[str] = []
    monkeypatch.setattr("o2o.api.app.carry_after_request", lambda *args: looked.append("request"))
    monkeypatch.setattr("o2o.services.registry_carrier.publish_due", lambda *args: looked.append("poll"))
    with client_of(hub.app) as client:
        _settle_disputes(client, hub)
        for op in hub.parties:
            _sign(client, hub, op)
        assert _publish_jobs(client, hub) == []
    assert looked == []  # neither the requests nor the poll (at the start) went past the cheap check


def test_nothing_is_lost_when_the_hub_stops_before_publishing_or_the_node_is_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, anvil: Anvil
) -> None:
    monkeypatch.setenv("O2O_REGISTRY_POLL", "0.2")
    hub = _hub_on_chain(tmp_path, monkeypatch, anvil, "evm")
    with client_of(hub.app) as client:
        _settled(client, hub, 1)
        _settle_disputes(client, hub)
        _settled(client, hub, 2)

    # the hub dies between each signature's commit and its queuing: answered, committed, nothing queued
    with monkeypatch.context() as dying:
        dying.setattr("o2o.api.app.carry_after_request", lambda *args: None)
        for op in hub.parties:
            _sign(hub.client, hub, op)
    assert all(j["state"] == "done" for j in _publish_jobs(hub.client, hub))
    r = hub.cli("registry", "verify", "--registry", "evm", "--json")
    behind = json.loads(r.out)  # committed, not on chain yet: the entries pending, their obligations missing
    assert r.code == 1 and "StatementRegistered" not in behind["counts"] and behind["counts"]["pending"] > 0
    assert {f["what"] for f in behind["findings"]} == {"obligation"}

    # restarted while its node is down: the first poll's publish fails in one line, nothing moves
    anvil.stop()
    with client_of(hub.app) as client:
        deadline = time.monotonic() + 300
        while not any(j["state"] == "failed" for j in _publish_jobs(client, hub)):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        (failed,) = [j for j in _publish_jobs(client, hub) if j["state"] == "failed"]
        assert failed["args"]["asked_by"] == "poll" and "does not answer" in failed["error"]
        anvil.start()  # its saved state: what was published before is there
        # the poll queues it again once the back-off has passed, and it goes through
        while _publish_jobs(client, hub)[0]["state"] != "done":
            assert time.monotonic() < deadline, _publish_jobs(client, hub)
            time.sleep(0.2)
        jobs = _publish_jobs(client, hub)
        assert [j["state"] for j in jobs[:2]] == ["done", "failed"]
        assert jobs[0]["args"]["asked_by"] == "poll" and jobs[0]["result"]["registrations"] > 0
        size = _ledger_size(client, hub)
    after = _verified(hub, "evm")["counts"]
    assert after["StatementRegistered"] == 1 and "pending" not in after
    assert json.loads((hub.home / "registry.json").read_text())["published"] == size


@pytest.mark.postgres
def test_on_postgresql_the_worker_takes_the_hubs_one_waiting_publish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, anvil: Anvil
) -> None:
    for url in postgres_database():
        hub = build_hub(tmp_path, monkeypatch, url)
        for op in ("HUB", *hub.parties):
            assert hub.cli("keys", "generate", op, "--chain").code == 0
        r = hub.cli("registry", "deploy", "--registry", "evm", "--url", anvil.url, "--chain-id", "31337",
                    "--dev-fund")  # fmt: skip
        assert r.code == 0, r.err
        with client_of(hub.app) as client:  # PostgreSQL: the server queues, it runs no job itself
            deadline = time.monotonic() + 300
            while not _publish_jobs(client, hub):  # the poll at the start
                assert time.monotonic() < deadline
                time.sleep(0.2)
            _settle_disputes(client, hub)
            for op in hub.parties:
                _sign(client, hub, op)
            (waiting,) = _publish_jobs(client, hub)  # one waiting publish carries all of it
            assert waiting["state"] == "queued" and waiting["args"]["asked_by"] == "poll"

            ran = hub.cli("worker", "--once", "--no-webhooks", "--json")  # what `o2o worker` processes do
            assert ran.code == 0, ran.err
            (done,) = json.loads(ran.out)
            assert done["id"] == waiting["id"] and done["state"] == "done", done
            assert done["result"]["registrations"] > 0
            assert _publish_jobs(client, hub)[0]["state"] == "done"
        after = _verified(hub, "evm")["counts"]
        assert after["StatementRegistered"] == 1 and "pending" not in after
