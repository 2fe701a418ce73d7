"""A dispute over one service line of a statement, and the proposals its two parties exchange.

A dispute is `open → resolved | escalated` (states in `o2o.domain.cycle.DisputeState`): resolved at the
amount of an accepted proposal, escalated when its deadline passes unresolved; either is final. Only its two
parties propose, accept or reject. A proposal is `pending` until the other party accepts or rejects it, or
a newer proposal supersedes it. Values are frozen; a move returns the new value or refuses with a clear error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from o2o.domain.cycle import DisputeState
from o2o.domain.errors import InvalidTransitionError


class ProposalStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"


@dataclass(frozen=True, slots=True)
class Proposal:
    """Proposal `seq` of a dispute: `by` would accept `amount` for the whole line."""

    dispute_id: str
    seq: int
    by: str
    amount: Decimal
    note: str
    status: ProposalStatus = ProposalStatus.PENDING
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Dispute:
    """The line `service` of a statement, contested: both parties' figures and what is contested."""

    id: str
    statement_id: str
    service: str
    provider: str
    customer: str
    currency: str
    provider_amount: Decimal
    customer_amount: Decimal
    contested_amount: Decimal
    deadline: date
    evidence: Mapping[str, Any]
    state: DisputeState = DisputeState.OPEN
    resolved_amount: Decimal | None = None
    opened_at: datetime | None = None
    version: int = 1

    @property
    def parties(self) -> tuple[str, str]:
        return (self.provider, self.customer)

    def open_to(self, operator: str) -> Dispute:
        """This dispute, if `operator` is a party and it is still open to proposals."""
        if operator not in self.parties:
            raise InvalidTransitionError(f"{operator} is not a party to dispute {self.id}")
        if self.state is not DisputeState.OPEN:
            raise InvalidTransitionError(f"dispute {self.id} is {self.state.value}: no more proposals")
        return self

    def resolved(self, amount: Decimal) -> Dispute:
        self._check_open(DisputeState.RESOLVED)
        return replace(self, state=DisputeState.RESOLVED, resolved_amount=amount)

    def escalated(self) -> Dispute:
        self._check_open(DisputeState.ESCALATED)
        return replace(self, state=DisputeState.ESCALATED)

    def _check_open(self, target: DisputeState) -> None:
        if self.state is not DisputeState.OPEN:
            raise InvalidTransitionError(
                f"dispute {self.id} is {self.state.value}: cannot move to {target.value} (final)"
            )


def latest_pending(dispute: Dispute, proposals: list[Proposal], operator: str) -> Proposal:
    """The proposal `operator` may answer: the latest pending one, made by the other party."""
    pending = [p for p in proposals if p.status is ProposalStatus.PENDING]
    if not pending:
        raise InvalidTransitionError(f"dispute {dispute.id} has no pending proposal")
    latest = pending[-1]
    if latest.by == operator:
        raise InvalidTransitionError(f"{operator} cannot answer its own proposal on {dispute.id}")
    return latest
