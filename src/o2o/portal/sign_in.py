"""/login and /logout: a hub user signs in with its password (or an API token) and gets a session cookie
(signed, HttpOnly, SameSite=Lax; Secure over HTTPS); signing out ends the session on the hub. The sign-in form itself is protected from cross-site
posting by a double-submit token (a random cookie repeated in the form)."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from o2o.api.deps import workspace
from o2o.bootstrap import Workspace
from o2o.domain.identity import AuthenticationError
from o2o.portal.web import COOKIE, Caller, form_caller, render
from o2o.services.portal_sign_in import (
    SESSION_HOURS,
    end_session,
    issue_session,
    sign_in_password,
    sign_in_token,
)

router = APIRouter(include_in_schema=False)
LOGIN_COOKIE: Final = "o2o_login"
WS = Annotated[Workspace, Depends(workspace)]


def _safe_next(value: str | None) -> str:
    """Only a path of this site (never `//host` or a scheme): no open redirect after sign-in."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _login_page(request: Request, next_url: str, error: str = "", status: int = 200) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    response = render(
        request, None, "login.html", status=status, next=next_url, login_csrf=nonce, error=error
    )
    secure = request.url.scheme == "https"
    response.set_cookie(LOGIN_COOKIE, nonce, httponly=True, samesite="strict", secure=secure, path="/login")
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    return _login_page(request, _safe_next(next))


@router.post("/login")
def login(
    request: Request,
    ws: WS,
    csrf: Annotated[str, Form()] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    token: Annotated[str, Form(max_length=300)] = "",
    tz: Annotated[str, Form(max_length=64)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    target = _safe_next(next)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf):
        return _login_page(request, target, "The sign-in form expired: please try again.", 400)
    try:
        actor = sign_in_token(ws, token) if token.strip() else sign_in_password(ws, name, password)
    except AuthenticationError as exc:
        return _login_page(request, target, str(exc).capitalize() + ".", 401)
    request.state.actor = actor
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE, issue_session(ws, actor, tz), max_age=SESSION_HOURS * 3600, httponly=True, samesite="lax",
        secure=request.url.scheme == "https", path="/",
    )  # fmt: skip
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(caller: Annotated[Caller, Depends(form_caller)], ws: WS) -> Response:
    """Sign out: the session ends on the hub (a copy of the cookie no longer works) and the cookie goes."""
    end_session(ws, caller.session)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
