"""Tables of the hub's long work and integrations: jobs, webhooks and every webhook delivery attempt.

A job is queued, then claimed by one worker under a lease (`lease_until`, renewed by the worker's
heartbeat); a job whose lease ran out was left by a dead worker and is taken again, up to `max_attempts`.
A webhook keeps its own cursor over the events feed (the ledger's `seq` of the last event it delivered)
and the attempts on the event at its head; each attempt is a row of `webhook_deliveries`.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

from o2o.store.schema import metadata
from o2o.store.types import UtcDateTime

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("args", Text, nullable=False),  # JSON
    Column("operator", String(32)),  # whose job it is (NULL: the hub's own)
    Column("requested_by", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # queued | running | done | failed
    Column("progress_done", BigInteger, nullable=False, server_default="0"),
    Column("progress_total", BigInteger, nullable=False, server_default="0"),
    Column("message", Text),
    Column("result", Text),  # JSON, when done
    Column("error", Text),  # why, when failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("max_attempts", Integer, nullable=False),
    Column("worker", String(128)),
    Column("heartbeat_at", UtcDateTime()),
    Column("lease_until", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("started_at", UtcDateTime()),
    Column("finished_at", UtcDateTime()),
    Column("version", Integer, nullable=False, server_default="1"),
    Index("ix_jobs_state", "state"),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("operator", String(32), ForeignKey("operators.id"), nullable=False, index=True),
    Column("url", String(2000), nullable=False),
    Column("secret", Text, nullable=False),  # the HMAC key: the hub signs with it, so it is kept as given
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("disabled_at", UtcDateTime()),
    Column("cursor", BigInteger, nullable=False),  # ledger seq of the last event delivered (or given up)
    Column("attempts", Integer, nullable=False, server_default="0"),  # on the event after the cursor
    Column("next_attempt_at", UtcDateTime()),
    Column("leased_by", String(128)),
    Column("lease_until", UtcDateTime()),
    Column("version", Integer, nullable=False, server_default="1"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("webhook_id", String(40), ForeignKey("webhooks.id"), nullable=False, index=True),
    Column("event_seq", BigInteger, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("time", UtcDateTime(), nullable=False),
    Column("outcome", String(16), nullable=False),  # delivered | failed | gave_up
    Column("status_code", Integer),
    Column("error", Text),
    Column("duration_ms", Integer, nullable=False),
)
