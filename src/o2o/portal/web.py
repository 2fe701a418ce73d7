"""The portal's plumbing: templates (Jinja2, autoescaped, from this package), the formats every page uses
(amounts with the currency's minor units, times in the user's zone), and who is asking.

`Page` is the access rule of every page: the caller of the session cookie, rebuilt from the store on each
request; without a valid session the browser is sent to /login (`SignInRequired`). `Form` is the rule of
every POST: the same, and the form's CSRF token must be the session's. Isolation is the services' (the
same `hub_policy` as the API): a page of a foreign id answers 404 like a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from o2o.api.deps import workspace
from o2o.bootstrap import Workspace
from o2o.domain.currencies import MINOR_UNITS
from o2o.domain.identity import Actor, AuthenticationError, Permission
from o2o.services.portal_sign_in import Session, check_csrf, csrf_token, read_session, session_actor

COOKIE: Final = "o2o_session"
HERE: Final = Path(__file__).parent
_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


class SignInRequired(Exception):
    """No valid session: the page answers with a redirect to /login (back to `next` after)."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


@dataclass(frozen=True, slots=True)
class Caller:
    """The signed-in user of a page: the actor the services take, its session, zone and CSRF token."""

    actor: Actor
    session: Session
    csrf: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.session.tz)


def _caller(request: Request, ws: Workspace) -> Caller:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    try:
        session = read_session(ws, request.cookies.get(COOKIE))
        actor = session_actor(ws, session)
    except AuthenticationError:
        raise SignInRequired(target) from None
    request.state.actor = actor
    return Caller(actor, session, csrf_token(ws, session))


def page_caller(request: Request, ws: Annotated[Workspace, Depends(workspace)]) -> Caller:
    return _caller(request, ws)


async def form_caller(request: Request, ws: Annotated[Workspace, Depends(workspace)]) -> Caller:
    caller = _caller(request, ws)
    form = await request.form()
    given = form.get("csrf")
    check_csrf(ws, caller.session, given if isinstance(given, str) else None)
    return caller


Page = Annotated[Caller, Depends(page_caller)]
Form = Annotated[Caller, Depends(form_caller)]


# --- formats --------------------------------------------------------------------------------------


def money(amount: Decimal | str | None, currency: str = "") -> str:
    """`1234.5` in EUR as `1,234.50`: the currency's minor units, thousands grouped; none as a dash."""
    if amount is None or amount == "":
        return "—"
    value = Decimal(str(amount))
    places = MINOR_UNITS.get(currency, 2)
    quantum = Decimal(1).scaleb(-places)
    return f"{value.quantize(quantum):,.{places}f}"


def local_time(value: datetime | str | None, zone: ZoneInfo) -> str:
    """A moment in the user's zone, to the minute, with the zone's abbreviation."""
    if value is None or value == "":
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def days_left(deadline: date | str | None, today: date) -> str:
    if deadline is None or deadline == "":
        return "—"
    day = date.fromisoformat(deadline) if isinstance(deadline, str) else deadline
    left = (day - today).days
    if left < 0:
        return f"{-left} days overdue"
    return "due today" if left == 0 else f"{left} days left"


_env.filters["money"] = money
_env.filters["urlq"] = lambda v: quote(str(v), safe="")
_env.globals["Permission"] = Permission


def render(
    request: Request, caller: Caller | None, template: str, status: int = 200, **data: Any
) -> HTMLResponse:
    """A page from `template` with the caller's context (user, operator, CSRF token, zone)."""
    zone = caller.zone if caller else ZoneInfo("UTC")
    today = datetime.now(zone).date()
    context = {
        "request": request,
        "caller": caller,
        "actor": caller.actor if caller else None,
        "csrf": caller.csrf if caller else "",
        "when": lambda v: local_time(v, zone),
        "when_epoch": lambda v: "—" if v is None else local_time(datetime.fromtimestamp(int(v), UTC), zone),
        "days_left": lambda v: days_left(v, today),
        "path": request.url.path,
        **data,
    }
    html = _env.get_template(template).render(context)
    return HTMLResponse(html, status_code=status, headers=_SECURITY_HEADERS)


# The pages run only the package's own script and style: no inline script, nothing from elsewhere.
_SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
