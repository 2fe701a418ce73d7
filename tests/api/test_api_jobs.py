"""Jobs through the HTTP API on the embedded default: the hub's admin starts a reconciliation and a netting
round, the server's own runner (started with the app) does them, and `GET /jobs/{id}` shows progress and the
result; operators see none of the hub's jobs, and may not start one."""

from __future__ import annotations

from api.conftest import Hub, client_of, problem, wait_job
from cycle_steps import resolve_by_split


def test_the_admin_reconciles_and_nets_as_jobs_done_by_the_servers_runner(fresh_hub: Hub) -> None:
    hub = fresh_hub
    admin = hub.auth("HUB", "admin")
    with client_of(hub.app) as client:  # the app's lifespan starts its job runner
        # Already reconciled: the period has no declared cycle left, so the agreement is named.
        problem(client.post("/api/v1/reconcile-runs", json={"period": hub.period}, headers=admin), 409)
        run = {"period": hub.period, "agreement": hub.agreement}
        r = client.post("/api/v1/reconcile-runs", json=run, headers=admin)
        assert r.status_code == 202, r.text
        queued = r.json()
        assert queued["state"] == "queued" and queued["args"]["agreements"] == [hub.agreement]
        job = wait_job(client, queued["id"], admin)
        assert job["state"] == "done", job
        assert job["attempts"] == 1 and job["progress"]["done"] == job["progress"]["total"] == 1
        (line,) = job["result"]["statements"]
        assert line["statement"] == hub.statement and line["state"] == "disputed"
        assert sorted(line["disputes"]) == sorted(hub.disputes)

        for d_id in hub.disputes:
            resolve_by_split(hub.cli, d_id)
        for op in hub.parties:
            assert hub.cli("statement", "sign", hub.statement, "--as", op).code == 0
        r = client.post(
            "/api/v1/netting-rounds", json={"period": hub.period, "mode": "direct"}, headers=admin
        )
        assert r.status_code == 202, r.text
        job = wait_job(client, r.json()["id"], admin)
        assert job["state"] == "done", job
        round_id = job["result"]["round"]
        payments = hub.cli("payment", "list", "--round", round_id, "--json").json()
        assert sorted(p["id"] for p in payments) == sorted(job["result"]["payments"])

        # The same round again: nothing left to net; the job fails with the reason, at once.
        r = client.post("/api/v1/netting-rounds", json={"period": hub.period}, headers=admin)
        failed = wait_job(client, r.json()["id"], admin)
        assert failed["state"] == "failed" and failed["attempts"] == 1
        assert "no signed statements with open obligations" in failed["error"]


def test_operators_neither_see_nor_start_the_hubs_jobs(fresh_hub: Hub) -> None:
    hub = fresh_hub
    admin = hub.auth("HUB", "admin")
    client = hub.client  # no lifespan: the job stays queued
    run = {"period": hub.period, "agreement": hub.agreement}
    job = client.post("/api/v1/reconcile-runs", json=run, headers=admin).json()
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=admin).json()["state"] == "queued"
    assert [j["id"] for j in client.get("/api/v1/jobs", headers=admin).json()] == [job["id"]]
    for op in (*hub.parties, "GAMMA"):
        for role in ("viewer", "analyst", "signer"):
            headers = hub.auth(op, role)
            unknown = problem(client.get(f"/api/v1/jobs/{job['id']}", headers=headers), 404)
            assert job["id"] in unknown["detail"]
            assert client.get("/api/v1/jobs", headers=headers).json() == []
            problem(client.post("/api/v1/reconcile-runs", json=run, headers=headers), 403)
            problem(client.post("/api/v1/netting-rounds", json={"period": hub.period}, headers=headers), 403)
    problem(client.get("/api/v1/jobs/JOB-0000", headers=admin), 404)
    problem(client.post("/api/v1/reconcile-runs", json={"period": "2026-13"}, headers=admin), 422)
    problem(
        client.post(
            "/api/v1/reconcile-runs", json={"period": hub.period, "agreement": "NOPE"}, headers=admin
        ),
        404,
    )
    problem(
        client.post("/api/v1/netting-rounds", json={"period": hub.period, "mode": "x"}, headers=admin), 422
    )
