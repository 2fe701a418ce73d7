"""Statements (the agreed amounts of a period) and obligations (agreed debts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from o2o.domain.errors import ValidationError
from o2o.domain.money import D
from o2o.domain.periods import Period


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One service line of a reconciliation statement: both views and the agreed amount."""

    service: str
    provider: str
    customer: str
    provider_amount: Decimal
    customer_amount: Decimal
    agreed_amount: Decimal
    disputed_amount: Decimal = Decimal(0)


class ObligationStatus(StrEnum):
    OPEN = "open"
    WITHHELD = "withheld"  # under dispute: kept out of netting
    SETTLED = "settled"


@dataclass(frozen=True, slots=True)
class Obligation:
    """Debtor owes creditor `amount` in `currency` by `due_date`, from a statement."""

    id: str
    debtor: str
    creditor: str
    amount: Decimal
    currency: str
    due_date: date | None = None
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", D(self.amount))
        if self.debtor == self.creditor:
            raise ValidationError(f"obligation {self.id}: debtor and creditor are both {self.debtor}")
        if self.amount < 0:
            raise ValidationError(f"obligation {self.id}: negative amount {self.amount}")


def obligations_due(period: Period, payment_days: int) -> date:
    """When a period's obligations fall due: the agreement's `payment_days` counted from the first day
    after the period (October on 30 days' terms: 1 November + 30 days, due on 1 December)."""
    return period.next.first_day + timedelta(days=payment_days)
