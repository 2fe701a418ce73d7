"""Signing in to the portal: hub users with a password (kept as an Argon2id hash) or an API token, and the
session that follows as a signed cookie.

The cookie carries who signed in (user id, the token or the session's own id), until when, a random nonce
and the user's time zone, signed with HMAC-SHA256 by a key the hub makes once and keeps in its database
(every process serving that database signs and checks alike). The nonce is also the id of the session's
row in the store, which signing out ends: from then on the cookie, and any copy of it, is refused. Each
request rebuilds the caller from the store: a session ended, a user disabled, or a token revoked or expired
since, is signed out at once. The CSRF token of a session is an HMAC of its nonce: a form posted without it,
or with another session's, is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError

from o2o.bootstrap import Workspace
from o2o.domain.errors import InvalidTransitionError, NotFoundError, ValidationError
from o2o.domain.identity import (
    HUB_NAME,
    Actor,
    AuthenticationError,
    PermissionDeniedError,
    Role,
    check_membership,
)
from o2o.services.hub_identity import authenticate, user_made
from o2o.store.portal_repository import PortalRepository
from o2o.store.repositories import now_utc

SESSION_HOURS: Final = 8
MIN_PASSWORD: Final = 12
_KEY_NAME: Final = "portal-session"
_hasher = PasswordHasher()  # Argon2id, the library's default parameters (RFC 9106's second choice)
_DUMMY_HASH: Final = _hasher.hash("a password no user has, hashed once so unknown names take as long")
_keys: dict[str, bytes] = {}
_REFUSED: Final = "the user name or password is not right"


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser: the user, the token or session id it acts under, until when, its nonce and zone."""

    user_id: str
    token_id: str
    expires: int  # epoch seconds
    nonce: str
    tz: str


# --- users with a password ------------------------------------------------------------------------


def create_user(ws: Workspace, operator: str, role: str, name: str, password: str) -> dict[str, str]:
    """A hub user of `operator` (or of the hub: `HUB`) with `role` who signs in with `password`; an existing
    user of the same operator and role gets the new password."""
    parsed = Role.parse(role, "--role")
    member = None if operator.strip().upper() == HUB_NAME else operator.strip()
    check_membership(member, parsed)
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationError("--name: a user name of 1 to 200 characters")
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"--password-file: the password has fewer than {MIN_PASSWORD} characters")
    now = now_utc()
    with ws.uow() as uow:
        found = user_made(uow, name, member, parsed, now, "--name")
        PortalRepository(uow.connection).set_password(found.id, _hasher.hash(password), now)
        uow.commit()
    return {"user": found.name, "user_id": found.id, "operator": member or HUB_NAME, "role": parsed.value}


def disable_user(ws: Workspace, user_id: str) -> dict[str, str]:
    """Disable a hub user: its tokens, sessions and password sign in no more (refused as unknown users)."""
    with ws.uow() as uow:
        repo = PortalRepository(uow.connection)
        user = repo.user(user_id)
        if user is None:
            raise NotFoundError(f"unknown user {user_id!r}")
        if not repo.disable_user(user.id, now_utc()):
            raise InvalidTransitionError(f"user {user.name} is disabled already")
        uow.commit()
    return {"user": user.name, "user_id": user.id, "state": "disabled"}


def disable_user_named(ws: Workspace, name: str) -> dict[str, str]:
    """`disable_user` of the user called `name` (`o2o hub user disable --name`)."""
    with ws.uow() as uow:
        user = uow.hub.user_named(name.strip()) if name.strip() else None
    if user is None:
        raise NotFoundError(f"--name: no hub user {name!r}")
    return disable_user(ws, user.id)


def enable_user(ws: Workspace, user_id: str) -> dict[str, str | list[str]]:
    """Enable a disabled hub user again (back from leave, say): its password signs in as before. What it held
    when it was disabled does not come back: the tokens made until then are revoked now (an admin makes it a
    new one) and its sessions are ended, so a cookie or a token copied before the disable stays refused.
    A token an admin made for it while it was disabled is left as it is. Enabling an active user is refused."""
    now = now_utc()
    with ws.uow() as uow:
        repo = PortalRepository(uow.connection)
        user = repo.user(user_id)
        if user is None:
            raise NotFoundError(f"unknown user {user_id!r}")
        if user.disabled_at is None or not repo.enable_user(user.id):
            raise InvalidTransitionError(f"user {user.name} is not disabled (it is active)")
        revoked = repo.revoke_tokens_made_by(user.id, user.disabled_at, now)
        repo.end_user_sessions(user.id, now)
        password = "yes" if repo.password_hash(user.id) is not None else "no"
        uow.commit()
    return {
        "user": user.name, "user_id": user.id, "state": "active", "password": password,
        "tokens_revoked": revoked,
    }  # fmt: skip


def enable_user_named(ws: Workspace, name: str) -> dict[str, str | list[str]]:
    """`enable_user` of the user called `name` (`o2o hub user enable --name`)."""
    with ws.uow() as uow:
        user = uow.hub.user_named(name.strip()) if name.strip() else None
    if user is None:
        raise NotFoundError(f"--name: no hub user {name!r}")
    return enable_user(ws, user.id)


def enabled_message(done: dict[str, str | list[str]]) -> str:
    """One line saying what enabling restored and what it did not (the portal and the CLI print it)."""
    revoked = done["tokens_revoked"]
    signs_in = "signs in with its password again" if done["password"] == "yes" else "has no password"
    tokens = f"its {len(revoked)} earlier token(s) revoked, make a new one" if revoked else "no token revoked"
    return f"user {done['user']} enabled: {signs_in}; {tokens}"


def sign_in_password(ws: Workspace, name: str, password: str) -> Actor:
    """The user `name` if `password` is its password; any mismatch is refused with the same message."""
    with ws.uow() as uow:
        user = uow.hub.user_named(name.strip()) if name.strip() else None
        stored = None if user is None else PortalRepository(uow.connection).password_hash(user.id)
    try:
        _hasher.verify(stored or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        raise AuthenticationError(_REFUSED) from None
    if user is None or stored is None or user.disabled_at is not None:
        raise AuthenticationError(_REFUSED)
    return Actor(user.id, user.name, user.operator, user.role, f"ses_{secrets.token_hex(6)}")


def sign_in_token(ws: Workspace, token: str) -> Actor:
    """The user an API token names (refused like the API refuses it)."""
    return authenticate(ws, token.strip())


# --- the session cookie ---------------------------------------------------------------------------


def _key(ws: Workspace) -> bytes:
    url = ws.settings.effective_database_url
    if url in _keys:
        return _keys[url]
    with ws.uow() as uow:
        found = PortalRepository(uow.connection).secret(_KEY_NAME)
    if found is None:
        try:
            with ws.uow() as uow:
                PortalRepository(uow.connection).add_secret(_KEY_NAME, secrets.token_hex(32), now_utc())
                uow.commit()
        except IntegrityError:
            pass  # another process made it first: read theirs
        with ws.uow() as uow:
            found = PortalRepository(uow.connection).secret(_KEY_NAME)
    assert found is not None
    _keys[url] = bytes.fromhex(found)
    return _keys[url]


def _sign(key: bytes, data: bytes) -> str:
    return base64.urlsafe_b64encode(hmac.new(key, data, hashlib.sha256).digest()).decode().rstrip("=")


def time_zone(name: str | None) -> str:
    """A valid IANA zone name, or UTC."""
    if not name or len(name) > 64:
        return "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name


def issue_session(ws: Workspace, actor: Actor, tz: str | None, now: datetime | None = None) -> str:
    """The cookie value of a new session of `actor`."""
    moment = now or now_utc()
    expires = moment + timedelta(hours=SESSION_HOURS)
    nonce = secrets.token_urlsafe(16)
    with ws.uow() as uow:
        PortalRepository(uow.connection).add_session(nonce, actor.user_id, moment, expires)
        uow.commit()
    body = {
        "u": actor.user_id, "t": actor.token_id, "n": nonce, "z": time_zone(tz),
        "e": int(expires.timestamp()),
    }  # fmt: skip
    data = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{data}.{_sign(_key(ws), data.encode())}"


def read_session(ws: Workspace, cookie: str | None) -> Session:
    """The session a cookie carries, if its signature holds and it has not expired."""
    refused = AuthenticationError("not signed in")
    if not cookie or len(cookie) > 2000 or "." not in cookie:
        raise refused
    data, sig = cookie.rsplit(".", 1)
    if not hmac.compare_digest(sig, _sign(_key(ws), data.encode())):
        raise refused
    try:
        body = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
        found = Session(str(body["u"]), str(body["t"]), int(body["e"]), str(body["n"]), str(body["z"]))
    except (ValueError, KeyError, TypeError):
        raise refused from None
    if found.expires <= int(now_utc().timestamp()):
        raise refused
    return found


def session_actor(ws: Workspace, session: Session) -> Actor:
    """The caller of a session, as the store holds it now (a disabled user or a revoked token: refused)."""
    refused = AuthenticationError("not signed in")
    with ws.uow() as uow:
        repo = PortalRepository(uow.connection)
        if not repo.session_live(session.nonce, session.user_id, now_utc()):
            raise refused  # signed out (or a session this hub never issued)
        user = repo.user(session.user_id)
        if user is None or user.disabled_at is not None:
            raise refused
        if session.token_id.startswith("tok_"):
            try:
                tok = uow.hub.token(session.token_id)
            except NotFoundError:
                raise refused from None
            if tok.revoked_at is not None or (tok.expires_at is not None and tok.expires_at <= now_utc()):
                raise refused
    return Actor(user.id, user.name, user.operator, user.role, session.token_id)


def end_session(ws: Workspace, session: Session) -> None:
    """Sign out: the session's row is ended, so its cookie (wherever it was copied) no longer signs in."""
    with ws.uow() as uow:
        PortalRepository(uow.connection).end_session(session.nonce, now_utc())
        uow.commit()


def csrf_token(ws: Workspace, session: Session) -> str:
    return _sign(_key(ws), f"csrf:{session.nonce}".encode())


def check_csrf(ws: Workspace, session: Session, given: str | None) -> None:
    if not given or not hmac.compare_digest(given, csrf_token(ws, session)):
        # A cross-site form carries no token of this session: refused (403), nothing done.
        raise PermissionDeniedError("the form's CSRF token is missing or not this session's: reload the page")


def users(ws: Workspace) -> list[dict[str, str]]:
    """Every hub user, with whether it signs in with a password."""
    with ws.uow() as uow:
        repo = PortalRepository(uow.connection)
        with_password = repo.users_with_password()
        return [
            {
                "user": u.name, "user_id": u.id, "operator": u.operator or HUB_NAME, "role": u.role.value,
                "password": "yes" if u.id in with_password else "no",
                "state": "disabled" if u.disabled_at else "active",
            }
            for u in repo.users()
        ]  # fmt: skip
