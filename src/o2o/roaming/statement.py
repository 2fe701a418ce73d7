"""A roaming agreement's statement lines: one per direction and service group, from the discount calculation.

A direction is one party's discount: its customers roamed on the partner's networks, so it (the home
operator, the customer of the line) pays the partner (the visited operator, the provider). A line's amount
before rounding is what the calculation gives its services — their deal values and their shares of the
direction's shortfall. The direction's amount due is rounded once, to the currency's minor unit, by the
agreement's rounding mode (as `o2o roaming calc --agreement` states it); the lines are then given whole minor
units by the largest remainder, so that they add up to that amount exactly — the statement, the obligations
and the books carry one figure. Ties in the remainder go to the line first in group order.

A direction with an amount due but no usage of any of its discounted services (a commitment's shortfall
owed on no traffic) has no service group to put it on: it gets one line of its own, `<home>-commitment`
(group None), carrying the shortfall.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from o2o.domain.currencies import minor_units
from o2o.domain.money import Rounding, round_to_currency
from o2o.roaming.calculation import CalculationResult
from o2o.roaming.catalogue import ServiceGroup, canonical

ZERO = Decimal(0)
_ORDER = {group: i for i, group in enumerate(ServiceGroup)}


@dataclass(frozen=True, slots=True)
class RoamingLine:
    """One statement line: `customer` (the home operator) owes `provider` (the visited one) `amount`."""

    service: str  # the line's id: "<home>-<group>", e.g. "ALFA-SMS" ("<home>-commitment": no group)
    group: ServiceGroup | None
    provider: str
    customer: str
    deal_value: Decimal
    shortfall: Decimal
    amount: Decimal  # in the currency's minor unit; the direction's lines add up to its amount due


def statement_lines(
    result: CalculationResult,
    partners: Mapping[str, str],
    currency: str,
    rounding: Rounding = Rounding.HALF_UP,
) -> tuple[RoamingLine, ...]:
    """The lines of every direction (parties in the result's order, groups in the settlement body's order).
    `partners` names each discount's party's partner (the operator it pays)."""
    lines: list[RoamingLine] = []
    for outcome in result.parties:
        deal: dict[ServiceGroup, Decimal] = {}
        short: dict[ServiceGroup, Decimal] = {}
        for r in result.results:
            if r.party != outcome.party:
                continue
            found = canonical(r.service)
            if found is None:  # the calculation only prices catalogue services
                raise ValueError(f"unknown roaming service {r.service!r}")
            deal[found.group] = deal.get(found.group, ZERO) + r.deal_value
            short[found.group] = short.get(found.group, ZERO) + r.short_of_commitment
        groups = sorted(deal, key=_ORDER.__getitem__)
        due = round_to_currency(outcome.deal_value + outcome.shortfall, currency, rounding)
        payee = partners[outcome.party]
        if not groups:
            if due:  # owed on no traffic: the commitment's own line
                lines.append(
                    RoamingLine(
                        f"{outcome.party}-commitment",
                        None,
                        payee,
                        outcome.party,
                        ZERO,
                        outcome.shortfall,
                        due,
                    )
                )
            continue
        amounts = _apportion(due, [deal[g] + short[g] for g in groups], minor_units(currency))
        lines.extend(
            RoamingLine(f"{outcome.party}-{g.value}", g, payee, outcome.party, deal[g], short[g], amount)
            for g, amount in zip(groups, amounts, strict=True)
        )
    return tuple(lines)


def _apportion(total: Decimal, parts: list[Decimal], places: int) -> list[Decimal]:
    """`parts` in whole minor units adding up to `total` (already in minor units): each part truncated
    toward zero, then the units left over one each to the largest remainders."""
    if not parts:
        return []
    unit = Decimal(1).scaleb(-places)
    floors = [p.quantize(unit, rounding=ROUND_DOWN) for p in parts]
    left = int((total - sum(floors, ZERO)) / unit)
    order = sorted(range(len(parts)), key=lambda i: (-(parts[i] - floors[i]), i))
    step = unit if left >= 0 else -unit
    for k in range(abs(left)):
        floors[order[k % len(parts)]] += step
    return floors
