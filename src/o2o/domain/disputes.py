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
from o2o.domain.errors import InvalidTransitionError, ValidationError

ZERO_AMOUNT = Decimal(0)


class ProposalStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"
    CONCEDED = "conceded"  # not a proposal: a part of the contested amount given up by `by` (a split)


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

    def conceded(self, operator: str, amount: Decimal) -> Dispute:
        """This dispute after `operator` gave up `amount` of the contested amount (a split): its figure moves
        that far toward the other's and the rest stays contested. Less than the whole contested amount:
        conceding all of it is accepting the other's figure (a proposal at it)."""
        self.open_to(operator)
        if not ZERO_AMOUNT < amount < self.contested_amount:
            raise ValidationError(
                f"amount: a part conceded is more than 0 and less than the contested {self.contested_amount}"
            )
        own, other = (
            (self.provider_amount, self.customer_amount)
            if operator == self.provider
            else (self.customer_amount, self.provider_amount)
        )
        moved = own + amount if own < other else own - amount
        provider, customer = (
            (moved, self.customer_amount) if operator == self.provider else (self.provider_amount, moved)
        )
        return replace(
            self,
            provider_amount=provider,
            customer_amount=customer,
            contested_amount=abs(provider - customer),
        )

    def concession_raises_payable(self, operator: str) -> bool:
        """Whether `operator` conceding moves the lower figure up (the undisputed part grows) rather than
        the higher one down (a claim given up)."""
        own = self.provider_amount if operator == self.provider else self.customer_amount
        other = self.customer_amount if operator == self.provider else self.provider_amount
        return own < other

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
