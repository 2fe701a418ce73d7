"""The cycle through the hub, each operator a separate authenticated client holding its own key: the
operators' private keys are taken out of the hub's workspace first, so everything here works without them.

A statement is read with its canonical document and digest, signed on the operator's side and the signature
sent; the hub verifies it against the key registered on the ledger (a bad one is refused with a problem
detail and changes nothing); disputes are settled by proposal and acceptance; the payee confirms payments.
Every change is on the ledger naming the user and token that made it.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
from hub_harness import Hub, problem

from o2o.ledger.keys import Signer, read_private_key


def _operators_keys_out(hub: Hub, tmp_path: Path) -> dict[str, Signer]:
    """Each operator's key moved to its own side (out of the hub's workspace) and loaded there."""
    side = tmp_path / "operators"
    side.mkdir()
    signers = {}
    for op in hub.parties:
        kept = side / f"{op}.pem"
        shutil.move(hub.home / "keys" / f"{op}.pem", kept)
        signers[op] = read_private_key(kept, op)
    assert not any((hub.home / "keys" / f"{op}.pem").exists() for op in hub.parties)
    return signers


def _entries(hub: Hub, subject: str, kind: str) -> list[Any]:
    with hub.app.state.workspace.uow() as uow:
        return [e for e in uow.ledger_store.entries() if e.subject == subject and e.kind == kind]


def _user_of(hub: Hub, operator: str, role: str) -> str:
    me = hub.client.get("/api/v1/me", headers=hub.auth(operator, role)).json()
    return str(me["user_id"])


def test_a_signature_made_on_the_operators_side_is_verified_by_the_hub(
    fresh_hub: Hub, tmp_path: Path
) -> None:
    hub = fresh_hub
    signers = _operators_keys_out(hub, tmp_path)
    a, b = hub.parties
    url = f"/api/v1/statements/{hub.statement}"
    st = hub.client.get(url, headers=hub.auth(a, "signer")).json()
    assert st["digest"] and st["canonical"]
    assert hashlib.sha256(st["canonical"].encode()).hexdigest() == st["digest"]
    good = signers[a].sign(st["canonical"].encode())
    key_id = signers[a].key_id

    # refused, each with a problem detail, and nothing stored
    tampered = signers[a].sign(st["canonical"].replace(hub.period, "2099-01").encode())
    bad = hub.client.post(f"{url}/signatures", headers=hub.auth(a, "signer"),
                          json={"key_id": key_id, "signature": tampered})  # fmt: skip
    assert problem(bad, 422)["type"] == "urn:o2o:problem:signature"
    by_other = hub.client.post(f"{url}/signatures", headers=hub.auth(a, "signer"),
                               json={"key_id": key_id, "signature": signers[b].sign(st["canonical"].encode())})  # fmt: skip
    assert problem(by_other, 422)["type"] == "urn:o2o:problem:signature"
    wrong_key = hub.client.post(f"{url}/signatures", headers=hub.auth(a, "signer"),
                                json={"key_id": signers[b].key_id, "signature": good})  # fmt: skip
    assert "not the valid registered key" in problem(wrong_key, 422)["detail"]
    not_hex = hub.client.post(f"{url}/signatures", headers=hub.auth(a, "signer"),
                              json={"key_id": key_id, "signature": "zz" * 64})  # fmt: skip
    problem(not_hex, 422)
    stale = hub.client.post(f"{url}/signatures", headers=hub.auth(a, "signer"),
                            json={"key_id": key_id, "signature": good, "digest": "0" * 64})  # fmt: skip
    assert problem(stale, 409)["type"] == "urn:o2o:problem:invalid-transition"
    assert hub.client.get(url, headers=hub.auth(a, "viewer")).json()["signatures"] == []
    assert _entries(hub, hub.statement, "statement.signed") == []

    # accepted
    ok = hub.client.post(f"{url}/signatures", headers=hub.auth(a, "signer"),
                         json={"key_id": key_id, "signature": good, "digest": st["digest"]})  # fmt: skip
    assert ok.status_code == 201, ok.text
    assert ok.json() == {"statement": hub.statement, "operator": a, "complete": False, "obligations": []}
    seen = hub.client.get(url, headers=hub.auth(b, "viewer")).json()
    assert seen["signatures"] == [{"operator": a, "key_id": key_id, "signature": good}]
    (entry,) = _entries(hub, hub.statement, "statement.signed")
    assert entry.payload["signature"] == good and entry.payload["key_id"] == key_id
    assert entry.payload["by_user"] == _user_of(hub, a, "signer") and entry.payload["for"] == a
    again = hub.client.post(f"{url}/signatures", headers=hub.auth(a, "signer"),
                            json={"key_id": key_id, "signature": good})  # fmt: skip
    assert "already signed" in problem(again, 409)["detail"]

    # the ledger still verifies, and the local single-workspace check of the store agrees with it
    r = hub.cli("ledger", "verify", "--store", "--json")
    assert r.code == 0, r.out + r.err


def test_the_whole_cycle_through_the_hub(fresh_hub: Hub, tmp_path: Path) -> None:
    hub = fresh_hub
    signers = _operators_keys_out(hub, tmp_path)
    a, b = hub.parties
    for d_id in hub.disputes:
        d = hub.client.get(f"/api/v1/disputes/{d_id}", headers=hub.auth(a, "viewer")).json()
        assert d["state"] == "open"
        assert "file" not in str(d["evidence"]), "the hub's lake paths are never served"
        provider, customer = d["provider"], d["customer"]
        p = hub.client.post(
            f"/api/v1/disputes/{d_id}/proposals", headers=hub.auth(provider, "analyst"), json={}
        )
        assert p.status_code == 201, p.text
        assert p.json()["proposals"][-1]["amount"] == d["split_offer"]
        # the proposer cannot accept its own proposal; the other party can
        own = hub.client.post(f"/api/v1/disputes/{d_id}/accept", headers=hub.auth(provider, "analyst"))
        assert problem(own, 409)["type"] == "urn:o2o:problem:invalid-transition"
        done = hub.client.post(f"/api/v1/disputes/{d_id}/accept", headers=hub.auth(customer, "analyst"))
        assert done.status_code == 200, done.text
        assert done.json()["state"] == "resolved" and done.json()["resolved_amount"] == d["split_offer"]
        (proposed,) = _entries(hub, d_id, "dispute.proposed")
        assert proposed.actor == "HUB" and proposed.payload["for"] == provider
        assert proposed.payload["by_user"] == _user_of(hub, provider, "analyst")
        (accepted,) = _entries(hub, d_id, "dispute.accepted")
        assert accepted.payload["for"] == customer

    url = f"/api/v1/statements/{hub.statement}"
    results = []
    for op in (a, b):
        st = hub.client.get(url, headers=hub.auth(op, "signer")).json()
        body = {"key_id": signers[op].key_id, "signature": signers[op].sign(st["canonical"].encode()),
                "digest": st["digest"]}  # fmt: skip
        r = hub.client.post(f"{url}/signatures", headers=hub.auth(op, "signer"), json=body)
        assert r.status_code == 201, r.text
        results.append(r.json())
    assert [r["complete"] for r in results] == [False, True] and results[1]["obligations"]
    for op in (a, b):
        obligations = hub.client.get("/api/v1/obligations", headers=hub.auth(op, "viewer")).json()
        assert sorted(o["id"] for o in obligations) == sorted(results[1]["obligations"])

    assert hub.cli("net", "run", "--period", hub.period, "--mode", "direct").code == 0
    payments = hub.client.get("/api/v1/payments", headers=hub.auth(a, "viewer")).json()
    assert payments
    for pay in payments:
        payer = hub.client.post(f"/api/v1/payments/{pay['id']}/confirm", headers=hub.auth(pay["payer"], "signer"),
                                json={"reference": "BANK-REF-1"})  # fmt: skip
        detail = problem(payer, 422)["detail"]
        assert "may not confirm" in detail and "--as" not in detail, detail
        r = hub.client.post(f"/api/v1/payments/{pay['id']}/confirm", headers=hub.auth(pay["payee"], "signer"),
                            json={"reference": "BANK-REF-1"})  # fmt: skip
        assert r.status_code == 200, r.text
        assert r.json()["payment"]["status"] == "confirmed"
        assert r.json()["payment"]["confirmed_by"] == pay["payee"]
        (entry,) = _entries(hub, pay["id"], "payment.confirmed")
        assert entry.payload["by_user"] == _user_of(hub, pay["payee"], "signer")
    cycles = hub.client.get(f"/api/v1/cycles?period={hub.period}", headers=hub.auth(b, "viewer")).json()
    assert [c["state"] for c in cycles] == ["settled"]
    statement = hub.client.get(
        "/api/v1/accounts/statement",
        headers=hub.auth(a, "viewer"),
        params={"counterparty": b, "from": f"{hub.period}-01", "to": "2099-12-31"},
    )
    assert statement.status_code == 200, statement.text
    # ALFA reconciles its books with the extract BRAVO gave it (uploaded), as of the end of the books
    extract = tmp_path / "bravo-extract.csv"
    as_of = "2099-12-31"
    made = hub.cli(
        "accounts", "extract", "--operator", b, "--counterparty", a, "--as-of", as_of, "--out", extract
    )
    assert made.code == 0, made.err
    with extract.open("rb") as fh:
        r = hub.client.post(
            "/api/v1/accounts/reconcile", headers=hub.auth(a, "analyst"),
            data={"counterparty": b, "as_of": as_of}, files={"extract": ("bravo.csv", fh, "text/csv")},
        )  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["agreed"] is True and r.json()["currencies"][0]["gap"] == "0.00"
    foreign = hub.client.post(
        "/api/v1/accounts/reconcile", headers=hub.auth("GAMMA", "analyst"),
        data={"counterparty": b, "as_of": as_of}, files={"extract": ("bravo.csv", b"x", "text/csv")},
    )  # fmt: skip
    assert problem(foreign, 404)["detail"] == f"unknown operator {b!r} (add it with `o2o operator add`)"
    assert hub.cli("ledger", "verify", "--store").code == 0


def test_the_evidence_of_disputed_lines_only(fresh_hub: Hub) -> None:
    hub = fresh_hub
    a = hub.parties[0]
    r = hub.client.get(f"/api/v1/statements/{hub.statement}/evidence?limit=50", headers=hub.auth(a, "viewer"))
    assert r.status_code == 200, r.text
    ev = r.json()
    disputed = {d.rsplit(f"{hub.period}-", 1)[1] for d in hub.disputes}
    assert {line["service"] for line in ev["lines"]} == disputed
    for line in ev["lines"]:
        assert line["figures"]["days_over_tolerance"]
        assert line["records_total"] > 0 and 0 < len(line["records"]) <= 50
        assert {"day", "kind"} <= set(line["records"][0])
    text = r.text
    assert "usage/" not in text and ".csv" not in text and ".parquet" not in text
    assert "lake" not in text


@pytest.mark.postgres
def test_the_hub_on_postgresql(postgres_hub: Hub, tmp_path: Path) -> None:
    hub = postgres_hub
    signers = _operators_keys_out(hub, tmp_path)
    a, _ = hub.parties
    me = hub.client.get("/api/v1/me", headers=hub.auth(a, "signer")).json()
    assert (me["operator"], me["agreements"]) == (a, [hub.agreement])
    assert problem(
        hub.client.get(f"/api/v1/statements/{hub.statement}", headers=hub.auth("GAMMA", "viewer")), 404
    )
    st = hub.client.get(f"/api/v1/statements/{hub.statement}", headers=hub.auth(a, "signer")).json()
    bad = hub.client.post(f"/api/v1/statements/{hub.statement}/signatures", headers=hub.auth(a, "signer"),
                          json={"key_id": signers[a].key_id, "signature": "00" * 64})  # fmt: skip
    problem(bad, 422)
    ok = hub.client.post(f"/api/v1/statements/{hub.statement}/signatures", headers=hub.auth(a, "signer"),
                         json={"key_id": signers[a].key_id, "signature": signers[a].sign(st["canonical"].encode())})  # fmt: skip
    assert ok.status_code == 201, ok.text
    assert hub.client.get("/ready").json() == {"status": "ready"}
    log = hub.client.get("/api/v1/admin/requests", headers=hub.auth("HUB", "admin")).json()
    assert any(x["status"] == 201 and x["operator"] == a for x in log)


def test_an_operator_registers_its_key_through_the_hub(fresh_hub: Hub, tmp_path: Path) -> None:
    from o2o.services.hub_keys import registration_message

    hub = fresh_hub
    _operators_keys_out(hub, tmp_path)
    a = hub.parties[0]
    admin = hub.auth("HUB", "admin")

    def submit(signer: Signer, proof_by: Signer | None = None) -> Any:
        proof = (proof_by or signer).sign(registration_message(a, signer.key_id, signer.public_key))
        return hub.client.post("/api/v1/keys", headers=hub.auth(a, "signer"),
                               json={"public_key": signer.public_key, "possession": proof})  # fmt: skip

    # while ALFA has a valid key, a new one cannot be approved (it rotates instead); the admin rejects it
    early = submit(Signer.generate(a))
    assert early.status_code == 201 and early.json()["state"] == "pending"
    refused = hub.client.post(f"/api/v1/admin/keys/{early.json()['id']}/approve", headers=admin)
    assert "o2o keys rotate" in problem(refused, 409)["detail"]
    no = hub.client.post(
        f"/api/v1/admin/keys/{early.json()['id']}/reject", headers=admin, json={"reason": "rotate"}
    )
    assert (no.status_code, no.json()["state"], no.json()["reason"]) == (200, "rejected", "rotate")

    assert hub.cli("keys", "revoke", a, "--reason", "lost with a laptop").code == 0
    new = Signer.generate(a)
    assert "did not sign its registration" in problem(submit(new, Signer.generate(a)), 422)["detail"]
    viewer = hub.client.post("/api/v1/keys", headers=hub.auth(a, "viewer"),
                             json={"public_key": new.public_key, "possession": "00" * 64})  # fmt: skip
    problem(viewer, 403)
    made = submit(new)
    assert made.status_code == 201, made.text
    request_id = made.json()["id"]
    assert [k["id"] for k in hub.client.get("/api/v1/keys", headers=hub.auth(a, "viewer")).json()][
        -1
    ] == request_id
    assert hub.client.get("/api/v1/keys", headers=hub.auth("GAMMA", "viewer")).json() == []
    assert [k["id"] for k in hub.client.get("/api/v1/admin/keys?state=pending", headers=admin).json()] == [
        request_id
    ]
    ok = hub.client.post(f"/api/v1/admin/keys/{request_id}/approve", headers=admin)
    assert ok.status_code == 200, ok.text
    assert ok.json()["state"] == "approved" and isinstance(ok.json()["ledger_seq"], int)
    again = hub.client.post(f"/api/v1/admin/keys/{request_id}/approve", headers=admin)
    assert "already approved" in problem(again, 409)["detail"]

    # ALFA signs with the key the hub approved (and never held)
    st = hub.client.get(f"/api/v1/statements/{hub.statement}", headers=hub.auth(a, "signer")).json()
    signed = hub.client.post(f"/api/v1/statements/{hub.statement}/signatures", headers=hub.auth(a, "signer"),
                             json={"key_id": new.key_id, "signature": new.sign(st["canonical"].encode())})  # fmt: skip
    assert signed.status_code == 201, signed.text
    r = hub.cli("ledger", "verify", "--store")
    assert r.code == 0, r.out + r.err


def test_the_admins_changes_are_on_the_ledger_with_who_made_them(fresh_hub: Hub, tmp_path: Path) -> None:
    hub = fresh_hub
    admin = hub.auth("HUB", "admin")
    admin_user = _user_of(hub, "HUB", "admin")
    added = hub.client.post("/api/v1/admin/operators", headers=admin,
                            json={"id": "DELTA", "name": "Delta", "currency": "EUR", "country_code": "34"})  # fmt: skip
    assert added.status_code == 201, added.text
    (entry,) = _entries(hub, "DELTA", "operator.added")
    assert (entry.actor, entry.payload["by_user"], entry.payload["for"]) == ("HUB", admin_user, "HUB")
    twice = hub.client.post("/api/v1/admin/operators", headers=admin,
                            json={"id": "DELTA", "name": "Delta", "currency": "EUR", "country_code": "34"})  # fmt: skip
    problem(twice, 409)

    source = tmp_path / "net" / "agreements" / f"{hub.agreement}.toml"
    changed = source.read_text(encoding="utf-8").replace("interconnect", "interconnect (amended)", 1)
    r = hub.client.post("/api/v1/admin/agreements", headers=admin,
                        files={"file": (source.name, changed.encode(), "application/toml")})  # fmt: skip
    assert r.status_code == 201, r.text
    assert (r.json()["id"], r.json()["revision"], r.json()["unchanged"]) == (hub.agreement, 2, False)
    (loaded,) = _entries(hub, hub.agreement, "agreement.loaded")
    assert loaded.payload["by_user"] == admin_user and loaded.payload["revision"] == 2
    bad = hub.client.post("/api/v1/admin/agreements", headers=admin,
                          files={"file": ("x.toml", b"id = [", "application/toml")})  # fmt: skip
    assert problem(bad, 422)["detail"].startswith("x.toml")

    opened = hub.client.post("/api/v1/admin/periods/2026-11/open", headers=admin)
    assert opened.status_code == 200 and opened.json()["cycles"] == [f"{hub.agreement}/2026-11"]
    (period,) = _entries(hub, "2026-11", "period.opened")
    assert period.payload["by_user"] == admin_user
    assert hub.cli("ledger", "verify", "--store").code == 0


OPERATORS_FILE = """
[[operators]]
id = "DELTA"
name = "Delta"
currency = "EUR"
country_code = "34"

[operators.legal]
legal_name = "Delta Telecom S.A."
address = "1 Calle Mayor, Madrid"
tax_id = "ESA12345678"
iban = "{iban}"
bic = "CAIXESBBXXX"
bank_name = "CaixaBank"

[[operators]]
id = "EPSILON"
name = "Epsilon"
currency = "EUR"
country_code = "351"
"""


def test_the_admin_adds_an_operators_file_with_its_legal_data(fresh_hub: Hub) -> None:
    hub = fresh_hub
    admin = hub.auth("HUB", "admin")

    def send(iban: str) -> Any:
        body = OPERATORS_FILE.format(iban=iban).encode()
        return hub.client.post("/api/v1/admin/operators/file", headers=admin,
                               files={"file": ("partners.toml", body, "application/toml")})  # fmt: skip

    bad = problem(send("ES0021000418450200051332"), 422)["detail"]  # wrong check digits
    assert bad.startswith("partners.toml") and "legal.iban (operator DELTA)" in bad, bad
    assert hub.cli("operator", "show", "EPSILON").code != 0, "all or none: nothing of a refused file"
    r = send("ES9121000418450200051332")
    assert r.status_code == 201, r.text
    assert [o["id"] for o in r.json()] == ["DELTA", "EPSILON"]
    shown = hub.cli("operator", "show", "DELTA", "--json").json()
    assert "ES9121000418450200051332" in str(shown) and "Delta Telecom S.A." in str(shown), shown
    assert [e.payload["by_user"] for e in _entries(hub, "EPSILON", "operator.added")] == [
        _user_of(hub, "HUB", "admin")
    ]
    problem(send("ES9121000418450200051332"), 409)
    problem(hub.client.post("/api/v1/admin/operators/file", headers=hub.auth(hub.parties[0], "signer"),
                            files={"file": ("p.toml", b"", "application/toml")}), 403)  # fmt: skip
