"""The values a netting round takes and returns: modes, caps, positions, set-offs, payments, figures.

Invariants: every value is a frozen, slotted dataclass; amounts are `Decimal` in the currency's minor
unit (the engine counts in integer minor units inside and converts only here, at the edge);
`CurrencyNetting.gross_total == cleared_total + remaining_total`; `net_internal_debt` is the sum of
positive net positions, the least money that settles the round.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from o2o.domain.currencies import check_currency
from o2o.domain.errors import ValidationError
from o2o.domain.money import D

# The clearing house's id in payments (`clearing-house` mode pays through it).
DEFAULT_HUB = "HUB"


class NettingMode(StrEnum):
    """How what remains after set-off is settled."""

    CONSERVATIVE = "conservative"  # remaining obligations are paid as they stand
    CLEARING_HOUSE = "clearing-house"  # every non-zero net position pays the hub or is paid by it
    DIRECT = "direct"  # debtors pay creditors directly, in the fewest payments

    @classmethod
    def parse(cls, text: str) -> NettingMode:
        try:
            return cls(text.strip().lower())
        except ValueError:
            allowed = ", ".join(m.value for m in cls)
            raise ValidationError(f"unknown netting mode {text!r} (expected one of: {allowed})") from None


class ExclusionReason(StrEnum):
    WITHHELD = "withheld"  # under dispute: kept out of the round
    OPT_OUT = "opt-out"  # debtor or creditor opted out of the round


class DirectMethod(StrEnum):
    EXACT = "exact"  # subset search: the proven minimum
    MILP = "milp"  # HiGHS MILP under a time limit
    GREEDY = "greedy"  # largest debtor pays largest creditor (at most r-1 payments)


@dataclass(frozen=True, slots=True)
class SetOffCap:
    """The most of `operator`'s debts in `currency` that the round may set off."""

    operator: str
    currency: str
    amount: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", D(self.amount))
        check_currency(self.currency)
        if self.amount < 0:
            raise ValidationError(f"set-off cap of {self.operator} is negative: {self.amount}")


@dataclass(frozen=True, slots=True)
class Position:
    """One participant's gross position in the round: what it owes, is owed, and the difference."""

    operator: str
    payable: Decimal
    receivable: Decimal

    @property
    def net(self) -> Decimal:
        """Receivable minus payable: positive means the participant is owed money."""
        return self.receivable - self.payable


@dataclass(frozen=True, slots=True)
class SetOff:
    """The part of one obligation extinguished without payment."""

    obligation: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Payment:
    """One payment instruction after set-off."""

    payer: str
    payee: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Exclusion:
    """An obligation left out of the round, and why."""

    obligation: str
    reason: ExclusionReason
    amount: Decimal


@dataclass(frozen=True, slots=True)
class BilateralReport:
    """Pairwise netting for comparison: each pair of operators pays only its difference."""

    remaining_total: Decimal
    payments: tuple[Payment, ...]

    @property
    def payments_count(self) -> int:
        return len(self.payments)


@dataclass(frozen=True, slots=True)
class DirectSearch:
    """How the `direct` payments were found and how good they are known to be."""

    method: DirectMethod
    positions: int  # non-zero net positions
    lower_bound: int  # no settlement of these positions needs fewer payments
    optimal: bool  # the payments count is proven minimal


@dataclass(frozen=True, slots=True)
class CurrencyNetting:
    """The outcome of the round in one currency."""

    currency: str
    gross_total: Decimal
    cleared_total: Decimal
    remaining_total: Decimal
    net_internal_debt: Decimal
    positions: tuple[Position, ...]
    setoffs: tuple[SetOff, ...]  # only obligations with a non-zero set-off
    payments: tuple[Payment, ...]
    bilateral: BilateralReport
    excluded: tuple[Exclusion, ...] = ()
    direct: DirectSearch | None = None
    components: int = 0  # strongly connected components with more than one participant
    partly_cleared_pairs: int = 0  # debtor-creditor pairs with 0 < set-off < debt

    @property
    def payments_count(self) -> int:
        return len(self.payments)


@dataclass(frozen=True, slots=True)
class FxRate:
    """One unit of `source` is `rate` units of `target` on the table's date."""

    source: str
    target: str
    rate: Decimal


@dataclass(frozen=True, slots=True)
class FxConversion:
    """The dated rates used to convert the obligations into the settlement currency."""

    on: date
    settle_in: str
    rates: tuple[FxRate, ...]


@dataclass(frozen=True, slots=True)
class NettingResult:
    """One netting round: per currency (or in one settlement currency after conversion)."""

    mode: NettingMode
    currencies: tuple[CurrencyNetting, ...]
    fx: FxConversion | None = None

    def currency(self, code: str) -> CurrencyNetting:
        for item in self.currencies:
            if item.currency == code:
                return item
        raise KeyError(code)
