"""Obligations (agreed debts) and what settles them: netting rounds, their set-offs and payment instructions.

An obligation made from a signed statement carries what it still owes (`remaining`) and a state:
`open → netted → settled`, `withheld → open | cancelled` (the contested part of a line waits for its
dispute; the resolution releases it or cancels it). A payment instruction is `pending → confirmed` once;
a netting round is `issued → settled` when every instruction of it is confirmed. Each move is a method
that refuses an illegal one with a clear error and returns the new value (the values are frozen).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from o2o.domain.cycle import PaymentStatus
from o2o.domain.errors import InvalidTransitionError, ValidationError
from o2o.domain.money import D
from o2o.domain.periods import Period


class ObligationStatus(StrEnum):
    OPEN = "open"
    WITHHELD = "withheld"  # under dispute: kept out of netting
    NETTED = "netted"  # in a netting round: its remainder is paid through the round's instructions
    SETTLED = "settled"
    CANCELLED = "cancelled"  # a withheld part the dispute's resolution did not grant


OBLIGATION_TRANSITIONS: dict[ObligationStatus, frozenset[ObligationStatus]] = {
    ObligationStatus.OPEN: frozenset({ObligationStatus.NETTED}),
    ObligationStatus.WITHHELD: frozenset({ObligationStatus.OPEN, ObligationStatus.CANCELLED}),
    ObligationStatus.NETTED: frozenset({ObligationStatus.SETTLED}),
    ObligationStatus.SETTLED: frozenset(),
    ObligationStatus.CANCELLED: frozenset(),
}


class RoundState(StrEnum):
    ISSUED = "issued"
    SETTLED = "settled"


@dataclass(frozen=True, slots=True)
class Obligation:
    """Debtor owes creditor `amount` in `currency` by `due_date`, from a statement (`source`).

    Stored, it also has what is still owed (`remaining`, the amount until netting), its state, its period,
    the dispute whose contested part it is (if any) and the version read (optimistic locking)."""

    id: str
    debtor: str
    creditor: str
    amount: Decimal
    currency: str
    due_date: date | None = None
    source: str = ""
    remaining: Decimal = field(default=Decimal(-1))  # -1: the whole amount
    status: ObligationStatus = ObligationStatus.OPEN
    period: str = ""
    dispute_id: str | None = None
    version: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", D(self.amount))
        remaining = self.amount if self.remaining == Decimal(-1) else D(self.remaining)
        object.__setattr__(self, "remaining", remaining)
        if self.debtor == self.creditor:
            raise ValidationError(f"obligation {self.id}: debtor and creditor are both {self.debtor}")
        if self.amount < 0:
            raise ValidationError(f"obligation {self.id}: negative amount {self.amount}")
        if self.remaining < 0:
            raise ValidationError(f"obligation {self.id}: negative remainder {self.remaining}")

    def outstanding(self) -> Obligation:
        """What netting works on: the same debt for what is still owed."""
        return replace(self, amount=self.remaining)

    def moved(self, status: ObligationStatus, **changes: Any) -> Obligation:
        """This obligation in `status` (with `changes`, e.g. a new remainder), if the move is legal."""
        if status not in OBLIGATION_TRANSITIONS[self.status]:
            allowed = ", ".join(sorted(OBLIGATION_TRANSITIONS[self.status])) or "nothing (final)"
            raise InvalidTransitionError(
                f"obligation {self.id} is {self.status.value}: cannot move to {status.value} (allowed: {allowed})"
            )
        return replace(self, status=status, **changes)


@dataclass(frozen=True, slots=True)
class SetOff:
    """What a netting round cleared of one obligation."""

    round_id: str
    obligation_id: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class NettingRound:
    """A netting round of a period: its mode, state and per-currency figures (amounts as strings)."""

    id: str
    period: str
    mode: str
    figures: Mapping[str, Any]
    state: RoundState = RoundState.ISSUED
    created_at: datetime | None = None
    version: int = 1

    def settled(self) -> NettingRound:
        if self.state is not RoundState.ISSUED:
            raise InvalidTransitionError(f"netting round {self.id} is already {self.state.value}")
        return replace(self, state=RoundState.SETTLED)


@dataclass(frozen=True, slots=True)
class PaymentInstruction:
    """Payer pays payee `amount` in `currency`, as a netting round instructs; confirmed once, by reference."""

    id: str
    round_id: str
    payer: str
    payee: str
    amount: Decimal
    currency: str
    status: PaymentStatus = PaymentStatus.PENDING
    confirmed_at: datetime | None = None
    reference: str | None = None
    confirmed_by: str | None = None
    version: int = 1

    def to_dict(self) -> dict[str, Any]:
        """The instruction as `payment list --json` shows it."""
        return {
            "id": self.id,
            "round_id": self.round_id,
            "payer": self.payer,
            "payee": self.payee,
            "amount": self.amount,
            "currency": self.currency,
            "status": self.status.value,
            "confirmed_by": self.confirmed_by,
            "reference": self.reference,
        }

    def confirmed(self, reference: str, by: str, at: datetime) -> PaymentInstruction:
        """Confirmed by `by` under the bank's `reference`; a second confirmation is refused."""
        if self.status is not PaymentStatus.PENDING:
            raise InvalidTransitionError(
                f"payment {self.id} is already {self.status.value} (by {self.confirmed_by}, "
                f"reference {self.reference})"
            )
        return replace(
            self, status=PaymentStatus.CONFIRMED, confirmed_at=at, reference=reference, confirmed_by=by
        )


def obligations_due(period: Period, payment_days: int) -> date:
    """When a period's obligations fall due: the agreement's `payment_days` counted from the first day
    after the period (October on 30 days' terms: 1 November + 30 days, due on 1 December)."""
    return period.next.first_day + timedelta(days=payment_days)
