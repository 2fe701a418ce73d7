"""The events feed (`GET /events?after=N`) and webhooks (an operator's URL and secret; each event POSTed
there signed with HMAC-SHA256, retried with back-off, every attempt recorded)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from o2o.api.auth import Analyst, Reader
from o2o.api.deps import WS
from o2o.api.integration_models import DeliveryOut, EventPageOut, WebhookIn, WebhookOut
from o2o.api.problems import responses
from o2o.services import events, webhooks

router = APIRouter(tags=["events"], responses=responses(401, 403))


@router.get("/events", response_model=EventPageOut, responses=responses(422))
def list_events(
    actor: Reader,
    ws: WS,
    after: int = Query(
        default=-1, ge=-1, le=events.MAX_POSITION, description="The last seq seen (-1: from the start)."
    ),
    limit: int = Query(default=100, ge=1, le=events.MAX_PAGE),
) -> Any:
    """What happened to the caller's agreements after the cursor, oldest first."""
    return events.list_events(ws, actor, after, limit).to_dict()


@router.get("/webhooks", response_model=list[WebhookOut])
def list_webhooks(actor: Reader, ws: WS) -> Any:
    """The caller's operator's webhooks (never their secrets)."""
    return [h.to_dict() for h in webhooks.list_webhooks(ws, actor)]


@router.post("/webhooks", response_model=WebhookOut, status_code=201, responses=responses(422))
def add_webhook(body: WebhookIn, actor: Analyst, ws: WS) -> Any:
    """Register a URL that receives the caller's operator's events from now on, signed with the secret."""
    return webhooks.register_webhook(ws, actor, body.url, body.secret).to_dict()


@router.delete("/webhooks/{webhook_id}", response_model=WebhookOut, responses=responses(404))
def remove_webhook(webhook_id: str, actor: Analyst, ws: WS) -> Any:
    """Stop a webhook (its deliveries stay on record)."""
    return webhooks.remove_webhook(ws, actor, webhook_id).to_dict()


@router.get("/webhooks/{webhook_id}/deliveries", response_model=list[DeliveryOut], responses=responses(404))
def deliveries(webhook_id: str, actor: Reader, ws: WS) -> Any:
    """Every delivery attempt of a webhook, latest first."""
    return [d.to_dict() for d in webhooks.webhook_deliveries(ws, actor, webhook_id)]
