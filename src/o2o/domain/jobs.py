"""Jobs: long work (a period's reconciliation, a netting round, carrying the hub's registrations to the chain)
queued and done by a worker, with progress.

A job moves `queued → running → done | failed`; a running job whose worker stopped renewing its lease is
`running` with an expired lease and is taken again (`running` again, one attempt more) until its attempts
are used up, when it is `failed` with the reason. Its arguments and result are plain JSON values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from o2o.domain.errors import ValidationError


class JobState(Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class JobKind(Enum):
    RECONCILE = "reconcile"
    NETTING = "netting"
    PUBLISH = "publish"  # the hub's own: what the ledger registered, carried to the chain (anchored, evm)

    @classmethod
    def parse(cls, value: str) -> JobKind:
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(k.value for k in cls)
            raise ValidationError(f"job kind {value!r}: expected one of {names}") from None


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    kind: JobKind
    args: dict[str, Any]
    operator: str | None  # whose job it is; None: the hub's own
    requested_by: str
    state: JobState
    max_attempts: int
    created_at: datetime
    attempts: int = 0
    progress_done: int = 0
    progress_total: int = 0
    message: str | None = None
    result: Any = None
    error: str | None = None
    worker: str | None = None
    heartbeat_at: datetime | None = None
    lease_until: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    version: int = 1

    def to_dict(self) -> dict[str, Any]:
        def when(t: datetime | None) -> str | None:
            return None if t is None else t.isoformat()

        return {
            "id": self.id,
            "kind": self.kind.value,
            "args": self.args,
            "operator": self.operator,
            "requested_by": self.requested_by,
            "state": self.state.value,
            "progress": {"done": self.progress_done, "total": self.progress_total, "message": self.message},
            "result": self.result,
            "error": self.error,
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "worker": self.worker,
            "heartbeat_at": when(self.heartbeat_at),
            "lease_until": when(self.lease_until),
            "created_at": when(self.created_at),
            "started_at": when(self.started_at),
            "finished_at": when(self.finished_at),
        }
