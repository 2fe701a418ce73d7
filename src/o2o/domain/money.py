"""Exact money: one constructor `D()` that rejects float, named rounding, `Money` values.

Invariants: every amount is a `Decimal`; floats are refused, never converted; rounding happens only
through `round_amount` with a named mode, at named points (statement lines, obligations).
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from o2o.domain.currencies import check_currency, minor_units
from o2o.domain.errors import MoneyError

ZERO = Decimal(0)

# Rates carry up to 6 decimals and sums of millions of records must stay exact.
_CONTEXT = decimal.Context(prec=38, rounding=decimal.ROUND_HALF_UP, traps=[decimal.InvalidOperation])


class Rounding(StrEnum):
    """Rounding modes an agreement may name."""

    HALF_UP = "half_up"
    HALF_EVEN = "half_even"
    UP = "up"
    DOWN = "down"

    @property
    def decimal_mode(self) -> str:
        return _DECIMAL_MODES[self]


_DECIMAL_MODES = {
    Rounding.HALF_UP: decimal.ROUND_HALF_UP,
    Rounding.HALF_EVEN: decimal.ROUND_HALF_EVEN,
    Rounding.UP: decimal.ROUND_UP,
    Rounding.DOWN: decimal.ROUND_DOWN,
}


def D(value: Decimal | int | str) -> Decimal:
    """Make an exact Decimal from a Decimal, int or decimal string; refuse float and bool."""
    if isinstance(value, bool | float):
        raise MoneyError(f"amount {value!r} is a {type(value).__name__}: money must be exact (use a string)")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = _CONTEXT.create_decimal(value.strip().replace("_", ""))
        except decimal.InvalidOperation:
            raise MoneyError(f"{value!r} is not a decimal number") from None
    else:
        raise MoneyError(f"{value!r} is not a decimal number")
    if not result.is_finite():
        raise MoneyError(f"{value!r} is not a finite number")
    return result


def quantum(places: int) -> Decimal:
    """The Decimal exponent for `places` decimal places (2 -> Decimal('0.01'))."""
    return Decimal(1).scaleb(-places)


def round_amount(amount: Decimal, places: int, mode: Rounding = Rounding.HALF_UP) -> Decimal:
    """Round to `places` decimals with a named mode."""
    return amount.quantize(quantum(places), rounding=mode.decimal_mode, context=_CONTEXT)


def round_to_currency(amount: Decimal, currency: str, mode: Rounding = Rounding.HALF_UP) -> Decimal:
    """Round to the currency's minor unit."""
    return round_amount(amount, minor_units(currency), mode)


def to_minor(amount: Decimal, currency: str) -> int:
    """Exact integer minor units; refuses an amount finer than the minor unit."""
    scaled = amount.scaleb(minor_units(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{amount} {currency} has more decimals than the currency's minor unit")
    return int(scaled)


def from_minor(units: int, currency: str) -> Decimal:
    """Decimal amount from integer minor units."""
    places = minor_units(currency)
    return Decimal(units).scaleb(-places).quantize(quantum(places))


def totals_by_currency(amounts: Iterable[tuple[str, Decimal]]) -> dict[str, Decimal]:
    """The sum of (currency, amount) pairs per currency, in currency order: amounts of different
    currencies are never added together (that needs a stated, dated rate)."""
    totals: dict[str, Decimal] = {}
    for currency, amount in amounts:
        totals[currency] = totals.get(currency, from_minor(0, currency)) + amount
    return dict(sorted(totals.items()))


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in one currency."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", D(self.amount))
        check_currency(self.currency)

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str) -> Money:
        return cls(D(amount), currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise MoneyError(f"cannot combine {self.currency} with {other.currency} without a rate table")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def rounded(self, mode: Rounding = Rounding.HALF_UP) -> Money:
        return Money(round_to_currency(self.amount, self.currency, mode), self.currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def parse_amount(text: Decimal | int | str, currency: str, field: str, *, signed: bool = False) -> Decimal:
    """An amount a user entered for `field`, exact in `currency`: refused (naming the field) when it is not a
    number, is negative (unless `signed`), or has more decimals than the currency's minor unit — never
    silently rounded, so that one fact never shows as two figures."""
    try:
        amount = D(text)
    except MoneyError as exc:
        raise MoneyError(f"{field}: {exc}") from None
    places = minor_units(currency)
    if amount != amount.quantize(quantum(places), context=_CONTEXT):
        raise MoneyError(
            f"{field}: {text} {currency} has more decimals than {currency}'s minor unit ({places})"
        )
    if amount < 0 and not signed:
        raise MoneyError(f"{field}: {text} is negative")
    return amount.quantize(quantum(places), context=_CONTEXT)
