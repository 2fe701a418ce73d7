"""Enabling a disabled hub user again, through the portal's users page and `o2o hub user enable`: the user
signs in with its password again, while what it held when disabled stays refused (its sessions end, the
tokens made until the disable are revoked); only the hub's admin may enable; enabling an active user and an
unknown one are one-line errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hub_harness import Hub
from portal_client import portal_of, post_form, sign_in, signed_in

PASSWORD = "a long enough pass phrase"


def _button(page: str, action: str, label: str) -> str | None:
    """The user id in the form of the button labelled `label` (Disable or Enable) on the users page."""
    found = re.search(
        rf'action="/admin/users/([^/"]+)/{action}"[^>]*><input[^>]*><button[^>]*aria-label="{label}"', page
    )
    return found.group(1) if found else None


def _users(hub: Hub) -> dict[str, dict[str, Any]]:
    r = hub.cli("hub", "user", "list", "--json")
    assert r.code == 0, r.err
    return {u["user"]: u for u in r.json()}


def _tokens(hub: Hub) -> dict[str, dict[str, Any]]:
    r = hub.cli("hub", "token", "list", "--json")
    assert r.code == 0, r.err
    return {t["id"]: t for t in r.json()}


def _token(hub: Hub, user: str) -> dict[str, Any]:
    r = hub.cli("hub", "token", "create", "--operator", "ALFA", "--role", "analyst", "--user", user, "--json")
    assert r.code == 0, r.err
    made: dict[str, Any] = r.json()
    return made


def _api_ok(hub: Hub, token: str) -> bool:
    return bool(hub.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200)


def test_the_admin_enables_a_disabled_user_on_the_users_page(fresh_hub: Hub) -> None:
    hub = fresh_hub
    admin = signed_in(hub, "HUB", "admin")
    made = {"operator": "ALFA", "role": "analyst", "name": "nina", "password": PASSWORD}
    assert post_form(admin, "/admin/users", "/admin/users", made).status_code == 303
    old = _token(hub, "nina")
    nina = portal_of(hub)
    assert sign_in(nina, name="nina", password=PASSWORD).status_code == 303
    assert _api_ok(hub, old["token"])
    page = admin.get("/admin/users").text
    user_id = _button(page, "disable", "Disable nina")
    assert user_id and _button(page, "enable", "Enable nina") is None, "an active user: Disable, no Enable"
    assert post_form(admin, "/admin/users", f"/admin/users/{user_id}/disable", {}).status_code == 303
    # while disabled: an Enable button instead of Disable, and an operator's user cannot press it
    page = admin.get("/admin/users").text
    assert (
        _button(page, "enable", "Enable nina") == user_id and _button(page, "disable", "Disable nina") is None
    )
    for role in ("viewer", "analyst", "signer"):
        other = signed_in(hub, "ALFA", role)
        r = post_form(other, "/", f"/admin/users/{user_id}/enable", {})
        assert r.status_code == 403, (role, r.status_code)
    assert _users(hub)["nina"]["state"] == "disabled"
    r = post_form(admin, "/admin/users", f"/admin/users/{user_id}/enable", {})
    assert r.status_code == 303, r.text
    done = admin.get(r.headers["location"]).text
    assert "user nina enabled: signs in with its password again; its 1 earlier token(s) revoked" in done
    assert _button(done, "disable", "Disable nina") == user_id
    # her password signs in again; her session and token from before the disable stay refused
    assert _users(hub)["nina"]["state"] == "active"
    assert nina.get("/", follow_redirects=False).status_code == 303
    again = portal_of(hub)
    assert sign_in(again, name="nina", password=PASSWORD).status_code == 303
    assert "nina · ALFA · analyst" in again.get("/").text
    assert not _api_ok(hub, old["token"])
    assert _tokens(hub)[old["id"]]["state"] == "revoked"
    assert sign_in(portal_of(hub), token=old["token"]).status_code == 401
    fresh = _token(hub, "nina")
    assert _api_ok(hub, fresh["token"])
    # enabling an active user, or an unknown one: a one-line error, nothing changed
    r = post_form(admin, "/admin/users", f"/admin/users/{user_id}/enable", {})
    assert r.status_code == 409 and "user nina is not disabled (it is active)" in r.text
    r = post_form(admin, "/admin/users", "/admin/users/usr_nope/enable", {})
    assert r.status_code == 404 and "unknown user &#39;usr_nope&#39;" in r.text
    assert _api_ok(hub, fresh["token"]) and again.get("/", follow_redirects=False).status_code == 200


def test_a_token_made_while_the_user_was_disabled_is_kept(fresh_hub: Hub) -> None:
    hub = fresh_hub
    before = _token(hub, "ted")
    r = hub.cli("hub", "user", "disable", "--name", "ted")
    assert r.code == 0, r.err
    during = _token(hub, "ted")  # the admin's deliberate act after the disable
    assert not _api_ok(hub, during["token"])  # refused while disabled
    r = hub.cli("hub", "user", "enable", "--name", "ted", "--json")
    assert r.code == 0, r.err
    done = r.json()
    assert done["state"] == "active" and done["password"] == "no" and done["tokens_revoked"] == [before["id"]]
    assert _api_ok(hub, during["token"]) and not _api_ok(hub, before["token"])


def test_o2o_hub_user_enable(fresh_hub: Hub, tmp_path: Path) -> None:
    hub = fresh_hub
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    r = hub.cli("hub", "user", "create", "--operator", "BRAVO", "--role", "viewer", "--name", "vic",
                "--password-file", tmp_path / "pw")  # fmt: skip
    assert r.code == 0, r.err
    assert hub.cli("hub", "user", "disable", "--name", "vic").code == 0
    assert sign_in(portal_of(hub), name="vic", password=PASSWORD).status_code == 401
    r = hub.cli("hub", "user", "enable", "--name", "vic")
    assert r.code == 0, r.err
    assert r.out.strip() == "user vic enabled: signs in with its password again; no token revoked"
    assert _users(hub)["vic"]["state"] == "active"
    vic = portal_of(hub)
    assert sign_in(vic, name="vic", password=PASSWORD).status_code == 303
    assert "vic · BRAVO · viewer" in vic.get("/").text
    for args, says in (
        (("--name", "vic"), "user vic is not disabled (it is active)"),
        (("--name", "nobody"), "--name: no hub user 'nobody'"),
    ):
        r = hub.cli("hub", "user", "enable", *args)
        assert r.code != 0 and says in r.err, r.err
        assert "Traceback" not in r.err and len(r.err.strip().splitlines()) == 1, r.err
