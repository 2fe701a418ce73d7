"""A browser stand-in for the portal's page tests: a TestClient over `create_hub()` of a test hub, signed in
through /login as a user would (token or password), that reads each form's CSRF token from the page."""

from __future__ import annotations

import re
from typing import Any

from hub_harness import Hub, client_of

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def portal_of(hub: Hub) -> Any:
    from o2o.config import Settings
    from o2o.portal.app import create_hub

    return client_of(create_hub(Settings()))


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has a form with its CSRF token"
    return found.group(1)


def sign_in(client: Any, *, token: str = "", name: str = "", password: str = "", tz: str = "UTC") -> Any:
    """Sign in through the form; returns the answer of the POST (303 to / when accepted)."""
    page = client.get("/login")
    assert page.status_code == 200
    data = {"csrf": csrf_of(page.text), "token": token, "name": name, "password": password, "tz": tz}
    return client.post("/login", data=data, follow_redirects=False)


def signed_in(hub: Hub, operator: str, role: str, tz: str = "UTC") -> Any:
    client = portal_of(hub)
    r = sign_in(client, token=hub.tokens[(operator, role)], tz=tz)
    assert r.status_code == 303, r.text
    return client


def post_form(client: Any, page_url: str, action: str, data: dict[str, str], **kw: Any) -> Any:
    """POST `data` to `action` with the CSRF token of the page at `page_url`, as its form would."""
    page = client.get(page_url)
    assert page.status_code == 200, page.text
    return client.post(action, data={"csrf": csrf_of(page.text), **data}, follow_redirects=False, **kw)
