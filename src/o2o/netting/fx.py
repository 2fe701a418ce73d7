"""A dated rate table and the conversion of obligations into one settlement currency.

Invariants: a `RateTable` holds the rates of one date only; `1 source = rate target`, rate > 0;
a conversion uses the direct rate, or divides by the reverse rate when only that is given; every
converted amount is rounded once, half-up, to the settlement currency's minor unit; the rates used are
returned so that the output can show them with their date.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from o2o.domain.currencies import check_currency
from o2o.domain.errors import ValidationError
from o2o.domain.money import D, round_to_currency
from o2o.domain.obligations import Obligation
from o2o.netting.results import FxConversion, FxRate


@dataclass(frozen=True, slots=True)
class RateTable:
    """The exchange rates of one date."""

    on: date
    rates: tuple[FxRate, ...]
    _index: dict[tuple[str, str], FxRate] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[tuple[str, str], FxRate] = {}
        for rate in self.rates:
            check_currency(rate.source)
            check_currency(rate.target)
            if D(rate.rate) <= 0:
                raise ValidationError(f"rate {rate.source}/{rate.target} on {self.on} is not positive")
            key = (rate.source, rate.target)
            if key in index and index[key].rate != rate.rate:
                raise ValidationError(f"two rates for {rate.source}/{rate.target} on {self.on}")
            index[key] = rate
        object.__setattr__(self, "_index", index)

    @classmethod
    def of(cls, on: date, rates: Iterable[tuple[str, str, Decimal | str]]) -> RateTable:
        return cls(on, tuple(FxRate(s, t, D(r)) for s, t, r in rates))

    def rate_for(self, source: str, target: str) -> FxRate:
        """The table's rate between two currencies (direct or reverse), or a clear error."""
        found = self._index.get((source, target)) or self._index.get((target, source))
        if found is None:
            raise ValidationError(f"no {source}/{target} rate in the rate table of {self.on}")
        return found

    def convert(self, amount: Decimal, source: str, target: str) -> Decimal:
        """`amount` of `source` in `target`, rounded half-up to the target's minor unit."""
        if source == target:
            return round_to_currency(amount, target)
        rate = self.rate_for(source, target)
        exact = amount * rate.rate if rate.source == source else amount / rate.rate
        return round_to_currency(exact, target)


def convert_obligations(
    obligations: Sequence[Obligation], table: RateTable, settle_in: str
) -> tuple[list[Obligation], FxConversion]:
    """Every obligation in `settle_in`, and the rates that were used (in order of currency)."""
    check_currency(settle_in)
    used: dict[str, FxRate] = {}
    converted: list[Obligation] = []
    for item in obligations:
        if item.currency != settle_in:
            used.setdefault(item.currency, table.rate_for(item.currency, settle_in))
        converted.append(
            replace(item, amount=table.convert(item.amount, item.currency, settle_in), currency=settle_in)
        )
    rates = tuple(used[c] for c in sorted(used))
    return converted, FxConversion(on=table.on, settle_in=settle_in, rates=rates)
