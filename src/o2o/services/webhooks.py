"""Webhooks: an operator registers a URL and a secret; each of its events (`o2o.services.events`) is POSTed
there, signed, in ledger order, retried with back-off, and every attempt is recorded.

The signature header is `X-O2O-Signature: t=UNIX_TIME,v1=HEX` where HEX is HMAC-SHA256 with the secret over
`f"{t}.".encode() + body`: the receiver recomputes it over the raw body and the time it was sent, and
refuses an old time (a replay). `verify_signature` is that check, for receivers written in Python.

A webhook keeps a cursor (the `seq` of the last event delivered or given up) and the attempts made on the
next one: a failure (no answer, or not 2xx) is tried again after 1, 2, 4, 8, 16 s …, and after
`MAX_ATTEMPTS` it is given up (recorded `gave_up`) and the next event is sent, so one bad event does not
stop the feed. Events are delivered at least once: a receiver that answered too late gets the event again,
with the same `seq` to recognise it. Whoever works jobs delivers webhooks too (`o2o.services.worker`); a
webhook is leased to one worker for a round of deliveries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx

from o2o.bootstrap import Workspace
from o2o.domain.errors import NotFoundError, ValidationError
from o2o.domain.identity import Actor, Permission
from o2o.services.events import Event, events_of, ledger_position
from o2o.store.jobs_repository import Delivery, Webhook, WebhookRepository
from o2o.store.repositories import now_utc
from o2o.store.uow import UnitOfWork

SIGNATURE_HEADER = "X-O2O-Signature"
EVENT_HEADER = "X-O2O-Event"
MAX_ATTEMPTS = 6
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 300.0
TIMEOUT_S = 5.0
MIN_SECRET = 16
_LEASE = timedelta(seconds=120)


def _hooks(uow: UnitOfWork) -> WebhookRepository:
    return uow.webhooks


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(
    secret: str, header: str, body: bytes, *, now: float | None = None, tolerance_s: int = 300
) -> bool:
    """Whether `header` signs `body` with `secret`, sent within `tolerance_s` of `now`."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def backoff(attempts: int) -> timedelta:
    """The wait before the next try, after `attempts` failed ones: 1, 2, 4 … s, at most five minutes."""
    return timedelta(seconds=min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(0, attempts - 1)))


def _owner(actor: Actor) -> str:
    """An operator's analyst manages its webhooks (the hub's admin has no events of its own)."""
    operator = actor.acting_operator()
    actor.require(Permission.ANALYSE)
    return operator


def _check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"url: {url!r} is not an http(s) URL")
    return url.strip()


def register_webhook(ws: Workspace, actor: Actor, url: str, secret: str) -> Webhook:
    """Register a webhook of the caller's operator; it receives the events from now on."""
    operator = _owner(actor)
    if len(secret) < MIN_SECRET:
        raise ValidationError(f"secret: at least {MIN_SECRET} characters")
    with ws.uow() as uow:
        hook = Webhook(
            id=f"WH-{secrets.token_hex(6)}", operator=operator, url=_check_url(url), secret=secret,
            created_by=actor.user_id, created_at=now_utc(), cursor=ledger_position(uow), attempts=0,
            next_attempt_at=None, disabled_at=None, version=1,
        )  # fmt: skip
        _hooks(uow).add(hook)
        uow.commit()
    return hook


def _own_hook(uow: UnitOfWork, actor: Actor, hook_id: str) -> Webhook:
    hook = _hooks(uow).find(hook_id)
    if hook is None or not (actor.is_hub or hook.operator == actor.operator):
        raise NotFoundError(f"unknown webhook {hook_id!r}")
    return hook


def list_webhooks(ws: Workspace, actor: Actor) -> list[Webhook]:
    actor.require(Permission.READ)
    with ws.uow() as uow:
        return _hooks(uow).of(actor.operator)


def remove_webhook(ws: Workspace, actor: Actor, hook_id: str) -> Webhook:
    _owner(actor)
    with ws.uow() as uow:
        hook = _own_hook(uow, actor, hook_id)
        _hooks(uow).disable(hook.id, now_utc())
        uow.commit()
        return _own_hook(uow, actor, hook_id)


def webhook_deliveries(ws: Workspace, actor: Actor, hook_id: str) -> list[Delivery]:
    actor.require(Permission.READ)
    with ws.uow() as uow:
        _own_hook(uow, actor, hook_id)
        return _hooks(uow).deliveries(hook_id)


# --- delivering -----------------------------------------------------------------------------------------


def deliver_due(ws: Workspace, worker: str, client: httpx.Client, *, per_hook: int = 20) -> int:
    """One round: every due webhook that no other worker holds gets up to `per_hook` events; returns how
    many delivery attempts were made."""
    now = now_utc()
    with ws.uow() as uow:
        due = _hooks(uow).due(now)
    attempts = 0
    for hook in due:
        with ws.uow() as uow:
            held = _hooks(uow).lease(hook, worker, now, _LEASE)
            uow.commit()
        if held is None:
            continue
        try:
            attempts += _deliver(ws, held, worker, client, per_hook)
        finally:
            with ws.uow() as uow:
                _hooks(uow).release(hook.id, worker)
                uow.commit()
    return attempts


def _deliver(ws: Workspace, hook: Webhook, worker: str, client: httpx.Client, limit: int) -> int:
    cursor, attempts, made = hook.cursor, hook.attempts, 0
    while made < limit:
        with ws.uow() as uow:
            page = events_of(uow, hook.operator, cursor, 1)
        if not page.events:
            if page.next_after > cursor:  # entries that were not this operator's: skip past them
                _advance(ws, hook, worker, page.next_after, 0, None)
                cursor = page.next_after
                if page.more:
                    continue
            return made
        event = page.events[0]
        made += 1
        status, error, ms = _post(client, hook, event)
        ok = error is None
        attempts += 1
        outcome = "delivered" if ok else ("gave_up" if attempts >= MAX_ATTEMPTS else "failed")
        with ws.uow() as uow:
            _hooks(uow).record(Delivery(hook.id, event.seq, attempts, now_utc(), outcome, status, error, ms))
            uow.commit()
        if outcome == "failed":
            _advance(ws, hook, worker, cursor, attempts, now_utc() + backoff(attempts))
            return made
        cursor, attempts = event.seq, 0
        _advance(ws, hook, worker, cursor, 0, None)
    return made


def _advance(
    ws: Workspace, hook: Webhook, worker: str, cursor: int, attempts: int, next_at: datetime | None
) -> None:
    with ws.uow() as uow:
        _hooks(uow).advance(hook.id, worker, cursor=cursor, attempts=attempts, next_attempt_at=next_at)
        uow.commit()


def _post(client: httpx.Client, hook: Webhook, event: Event) -> tuple[int | None, str | None, int]:
    """POST one event; (status, error or None when delivered, milliseconds)."""
    body = json.dumps({"webhook": hook.id, "event": event.to_dict()}, sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(hook.secret, int(time.time()), body),
        EVENT_HEADER: str(event.seq),
    }
    started = time.perf_counter()
    try:
        response = client.post(hook.url, content=body, headers=headers, timeout=TIMEOUT_S)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500], _ms(started)
    if 200 <= response.status_code < 300:
        return response.status_code, None, _ms(started)
    return response.status_code, f"HTTP {response.status_code}", _ms(started)


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
