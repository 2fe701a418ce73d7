"""The settlement cycle of one agreement and period, and its legal transitions.

`open → declared → reconciled → agreed | disputed → signed → netted → settled → closed`

What hangs off a cycle has its own states, listed here once: a dispute (`open → resolved | escalated`)
and a payment instruction (`pending → confirmed`). A state a user types (a filter) is read by
`parse_state`, which refuses an unknown one naming it and the states there are, instead of matching nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TypeVar

from o2o.domain.errors import InvalidTransitionError, ValidationError


class CycleState(StrEnum):
    OPEN = "open"
    DECLARED = "declared"
    RECONCILED = "reconciled"
    AGREED = "agreed"
    DISPUTED = "disputed"
    SIGNED = "signed"
    NETTED = "netted"
    SETTLED = "settled"
    CLOSED = "closed"


class DisputeState(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    ESCALATED = "escalated"


class PaymentStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"


State = TypeVar("State", bound=StrEnum)


def parse_state(kind: type[State], text: str, what: str) -> State:
    """`text` as a state of `kind`, or a one-line error naming it and the states `what` can be in."""
    try:
        return kind(text.strip().lower())
    except ValueError:
        allowed = ", ".join(s.value for s in kind)
        raise ValidationError(f"{what} {text!r} is not one of: {allowed}") from None


TRANSITIONS: dict[CycleState, frozenset[CycleState]] = {
    CycleState.OPEN: frozenset({CycleState.DECLARED}),
    # A re-declaration sends a cycle back to `declared` until it is signed.
    CycleState.DECLARED: frozenset({CycleState.RECONCILED, CycleState.DECLARED}),
    CycleState.RECONCILED: frozenset({CycleState.AGREED, CycleState.DISPUTED, CycleState.DECLARED}),
    CycleState.AGREED: frozenset({CycleState.SIGNED, CycleState.DECLARED}),
    # The undisputed part of a disputed statement can be signed; the contested part is withheld.
    CycleState.DISPUTED: frozenset({CycleState.AGREED, CycleState.SIGNED, CycleState.DECLARED}),
    CycleState.SIGNED: frozenset({CycleState.NETTED, CycleState.SETTLED}),
    CycleState.NETTED: frozenset({CycleState.SETTLED}),
    CycleState.SETTLED: frozenset({CycleState.CLOSED}),
    CycleState.CLOSED: frozenset(),
}


def check_transition(current: CycleState, target: CycleState, subject: str = "cycle") -> None:
    """Raise a clear error unless `current → target` is legal."""
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "nothing (final)"
        raise InvalidTransitionError(
            f"{subject} is {current.value}: cannot move to {target.value} (allowed: {allowed})"
        )


@dataclass(frozen=True, slots=True)
class Cycle:
    """The cycle of one agreement and period, at the version read (moves are optimistically locked)."""

    id: str
    agreement_id: str
    period: str
    state: CycleState
    version: int = 1

    def moved(self, target: CycleState) -> Cycle:
        """This cycle in `target`, if `state → target` is legal."""
        check_transition(self.state, target, f"cycle {self.id}")
        return replace(self, state=target)
