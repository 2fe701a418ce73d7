"""API tokens through the CLI (`o2o hub token create|list|revoke`), used against the app: shown once, only a
hash kept, listed without their secret, refused once revoked or expired, each use recorded."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hub_harness import client_of, problem
from sqlalchemy import create_engine, text


@pytest.fixture
def hub_cli(cli: Any) -> Any:
    r = cli("operator", "add", "ALFA", "--name", "Alfa", "--currency", "EUR", "--country-code", "44")
    assert r.code == 0, r.err
    return cli


def _app() -> Any:
    from o2o.api.app import create_app
    from o2o.config import Settings

    return client_of(create_app(Settings()))


def test_a_token_is_shown_once_and_only_its_hash_is_kept(hub_cli: Any, workspace: Path) -> None:
    made = hub_cli(
        "hub", "token", "create", "--operator", "ALFA", "--role", "analyst", "--expires", "30", "--json"
    )
    assert made.code == 0, made.err
    token = made.json()["token"]
    assert made.json()["operator"] == "ALFA" and made.json()["role"] == "analyst"
    assert made.json()["state"] == "active" and made.json()["expires_at"]
    listed = hub_cli("hub", "token", "list", "--json").json()
    assert [t["id"] for t in listed] == [made.json()["id"]]
    assert token not in hub_cli("hub", "token", "list", "--json").out
    engine = create_engine(f"sqlite:///{workspace / 'o2o.sqlite'}")
    with engine.connect() as conn:
        stored = [tuple(r) for r in conn.execute(text("SELECT id, token_hash FROM hub_tokens"))]
    engine.dispose()
    assert stored == [(made.json()["id"], hashlib.sha256(token.encode()).hexdigest())]
    dump = (workspace / "o2o.sqlite").read_bytes()
    assert token.encode() not in dump

    client = _app()
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["role"] == "analyst"
    used = hub_cli("hub", "token", "list", "--operator", "ALFA", "--json").json()[0]
    assert used["last_used_at"] is not None
    plain = hub_cli("hub", "token", "create", "--operator", "ALFA", "--role", "viewer")
    assert plain.code == 0 and "o2o_" in plain.out and "only its hash" in plain.out


def test_a_revoked_token_is_refused(hub_cli: Any) -> None:
    made = hub_cli("hub", "token", "create", "--operator", "ALFA", "--role", "viewer", "--json").json()
    client = _app()
    auth = {"Authorization": f"Bearer {made['token']}"}
    assert client.get("/api/v1/me", headers=auth).status_code == 200
    r = hub_cli("hub", "token", "revoke", made["id"], "--json")
    assert r.code == 0 and r.json()["state"] == "revoked"
    assert problem(client.get("/api/v1/me", headers=auth), 401)["detail"].startswith("the token is not valid")
    again = hub_cli("hub", "token", "revoke", made["id"])
    assert again.code == 1 and "already revoked" in again.err and len(again.err.strip().splitlines()) == 1
    unknown = hub_cli("hub", "token", "revoke", "tok_nope")
    assert unknown.code == 1 and "unknown token 'tok_nope'" in unknown.err


def test_an_expired_token_is_refused(hub_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    made = hub_cli(
        "hub", "token", "create", "--operator", "ALFA", "--role", "signer", "--expires", "1", "--json"
    )
    client = _app()
    auth = {"Authorization": f"Bearer {made.json()['token']}"}
    assert client.get("/api/v1/me", headers=auth).status_code == 200
    import o2o.services.hub_identity as identity

    real_now = identity.now_utc
    monkeypatch.setattr(identity, "now_utc", lambda: real_now() + timedelta(days=1, minutes=1))
    assert problem(client.get("/api/v1/me", headers=auth), 401)["type"] == "urn:o2o:problem:unauthenticated"
    assert hub_cli("hub", "token", "list", "--json").json()[0]["state"] == "expired"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--operator", "ALFA", "--role", "admin"), "role admin is the hub's own"),
        (("--operator", "HUB", "--role", "viewer"), "belongs to an operator"),
        (("--operator", "ALFA", "--role", "boss"), "'boss' is not a role"),
        (("--operator", "NOPE", "--role", "viewer"), "unknown operator 'NOPE'"),
        (("--operator", "ALFA", "--role", "viewer", "--expires", "0"), "--expires: 0 days"),
    ],
)
def test_a_token_that_cannot_be_is_refused_in_one_line(
    hub_cli: Any, args: tuple[str, ...], says: str
) -> None:
    r = hub_cli("hub", "token", "create", *args)
    assert r.code == 1 and says in r.err and len(r.err.strip().splitlines()) == 1, r.err


def test_a_user_keeps_its_operator_and_role(hub_cli: Any) -> None:
    assert (
        hub_cli("hub", "token", "create", "--operator", "ALFA", "--role", "viewer", "--user", "ann").code == 0
    )
    r = hub_cli("hub", "token", "create", "--operator", "ALFA", "--role", "signer", "--user", "ann")
    assert r.code == 1 and "ann is a viewer of ALFA" in r.err
