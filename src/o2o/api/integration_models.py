"""Bodies of the integration routes: jobs, declarations by upload, the events feed and webhooks."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from o2o.api.models import Open


class JobProgress(BaseModel):
    done: int
    total: int
    message: str | None


class JobOut(BaseModel):
    id: str
    kind: str = Field(description="reconcile | netting | publish")
    args: dict[str, Any]
    operator: str | None = Field(description="Whose job it is (null: the hub's own).")
    requested_by: str
    state: str = Field(description="queued | running | done | failed")
    progress: JobProgress
    result: Any = None
    error: str | None = Field(description="Why it failed.")
    attempts: int
    max_attempts: int
    worker: str | None
    heartbeat_at: str | None
    lease_until: str | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None


class ReconcileRunIn(BaseModel):
    period: str = Field(max_length=7, description="YYYY-MM")
    agreement: str | None = Field(
        default=None, max_length=64, description="One agreement; every declared one if omitted."
    )
    correct_clock: bool = False
    max_attempts: int = Field(default=3, ge=1, le=10)


class NettingRoundIn(BaseModel):
    period: str = Field(max_length=7, description="YYYY-MM")
    mode: str = Field(
        default="clearing-house", max_length=32, description="conservative | direct | clearing-house"
    )
    max_attempts: int = Field(default=3, ge=1, le=10)


class DeclarationOut(BaseModel):
    id: str
    agreement: str
    service: str
    period: str
    declarer: str
    role: str
    rows: int
    rejected: int
    duration_s: int
    volume: int
    sha256: str
    source: str
    status: str
    supersedes: str | None
    created_at: str


class Declared(DeclarationOut):
    already_imported: bool = Field(description="The same file (sha256) was already the active declaration.")
    replaced: str | None = Field(description="The declaration this one superseded.")


class RoamingDeclared(BaseModel):
    agreement: str
    period: str
    declarer: str = Field(description="The caller's operator.")
    sha256: str
    source: str
    already_imported: bool = Field(description="The same report (sha256) was already declared.")
    declarations: list[Declared] = Field(description="One declaration per direction of the agreement.")


class RejectedRow(BaseModel):
    line: int
    reason: str
    raw: str


class DeclarationDetail(DeclarationOut):
    rejects: list[RejectedRow] = Field(description="The first rejected rows, in file order.")
    rejects_total: int


class EventOut(BaseModel):
    seq: int = Field(description="The ledger entry's position: the cursor.")
    type: str = Field(description="The ledger entry's kind, e.g. declaration.imported, cycle.agreed.")
    time: str
    subject: str
    actor: str
    agreement: str | None
    data: dict[str, Any]


class EventPageOut(BaseModel):
    events: list[EventOut]
    next_after: int = Field(description="Ask again with after=next_after.")
    more: bool = Field(description="More entries were already there past next_after.")


class WebhookIn(BaseModel):
    url: str = Field(max_length=2000)
    secret: str = Field(min_length=16, max_length=500, description="The HMAC-SHA256 key; never shown again.")


class WebhookOut(Open):
    id: str
    operator: str
    url: str
    active: bool
    cursor: int
    attempts: int
    next_attempt_at: str | None


class DeliveryOut(BaseModel):
    webhook: str
    event: int
    attempt: int
    time: str
    outcome: str = Field(description="delivered | failed | gave_up")
    status_code: int | None
    error: str | None
    duration_ms: int
