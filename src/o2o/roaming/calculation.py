"""The roaming discount calculation: deal values per party, service group and service, and commitments.

Semantics are those of the GSMA's BWRP calculation engine (GSMA-CPAS/BWRP-calculation-service, `pkg/engine`):
- usage is aggregated per (service, home TADIG, visitor TADIG); a discount's service group takes the sum over
  its home × visitor TADIGs (`own`) and, for balanced/unbalanced rates, the opposite traffic (visitor × home);
- each service's deal value is its pricing model over `own` (`o2o.roaming.pricing`);
- a Deal Revenue Commitment compares the sum of the deal values of the services `includedInCommitment`, a
  Contract Revenue Commitment the party's charges (plus taxes when `includingTaxes`), with the commitment;
  what is missing is the shortfall, shared over the included services in proportion to their deal values.

Rules are versioned, because the public example responses came from different engine versions: CURRENT is
the service's present behaviour (and the project's), AEA87AA the engine at aea87aa9 (a Contract Revenue
Commitment's deal value is the charge itself, and a commitment that is not met empties the results so far).

Exactness: every sum and product runs in a decimal context that traps Inexact, so a figure is exact or the
calculation refuses it; only the shortfall's shares (a division) are rounded, to `SHARE_PLACES` half-even,
the rounding residue going to the largest share so that the shares add up to the shortfall exactly.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from o2o.domain.errors import ValidationError
from o2o.roaming.pricing import RatioPlan, ServicePricing

ZERO = Decimal(0)
SHARE_PLACES = 4

# Exact: a sum or product that would need rounding is refused rather than rounded silently.
EXACT = decimal.Context(prec=80, traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow])
_SHARES = decimal.Context(prec=80, rounding=decimal.ROUND_HALF_EVEN)


class Direction(StrEnum):
    """Which usage list a record came from; NONE for the old flat usage list (no direction)."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"
    NONE = ""


class CommitmentKind(StrEnum):
    """A discount's condition (the BWRP request's `condition.kind`)."""

    UNCONDITIONAL = "Unconditional"
    CONTRACT_REVENUE = "Contract Revenue Commitment"
    DEAL_REVENUE = "Deal Revenue Commitment"


class Rules(StrEnum):
    """Which engine version's rules a calculation follows."""

    CURRENT = "current"
    AEA87AA = "aea87aa"


@dataclass(frozen=True, slots=True)
class Condition:
    kind: CommitmentKind = CommitmentKind.UNCONDITIONAL
    value: Decimal = ZERO
    including_taxes: bool = False
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class DiscountGroup:
    """Services priced for the traffic of `home` networks' customers on `visitor` networks."""

    home: tuple[str, ...]
    visitor: tuple[str, ...]
    services: tuple[ServicePricing, ...]


@dataclass(frozen=True, slots=True)
class Discount:
    """One party's discount: its condition and its service groups."""

    party: str
    condition: Condition
    groups: tuple[DiscountGroup, ...]


class UsageTotals(NamedTuple):
    """Aggregated usage of one (service, home, visitor): volume, charges, taxes and its direction.

    A named tuple rather than a dataclass: a million-row request makes a few hundred thousand of them."""

    volume: Decimal
    charges: Decimal
    taxes: Decimal
    direction: Direction


UsageKey = tuple[str, str, str]  # canonical service, home TADIG, visitor TADIG


@dataclass(frozen=True, slots=True)
class IntermediateResult:
    """The deal value of one service of one service group of one party."""

    party: str
    service: str
    home: tuple[str, ...]
    visitor: tuple[str, ...]
    deal_value: Decimal
    short_of_commitment: Decimal
    usage: Decimal
    direction: Direction
    included: bool


@dataclass(frozen=True, slots=True)
class PartyOutcome:
    """A party's commitment: what it measures, whether it is met, and the shortfall (0 when met)."""

    party: str
    kind: CommitmentKind
    commitment: Decimal
    measured: Decimal
    met: bool
    shortfall: Decimal
    deal_value: Decimal


@dataclass(frozen=True, slots=True)
class CalculationResult:
    results: tuple[IntermediateResult, ...]
    parties: tuple[PartyOutcome, ...]


class _Own(NamedTuple):
    volume: Decimal
    charges: Decimal
    taxes: Decimal
    direction: Direction | None  # None: no usage at all


def _aggregate(
    usage: Mapping[UsageKey, UsageTotals], service: str, home: Sequence[str], visitor: Sequence[str]
) -> _Own:
    if len(home) == 1 and len(visitor) == 1:  # the common case: one look-up
        totals = usage.get((service, home[0], visitor[0]))
        return _NONE if totals is None else _Own(*totals)
    volume = charges = taxes = ZERO
    direction: Direction | None = None
    for h in home:
        for v in visitor:
            totals = usage.get((service, h, v))
            if totals is not None:
                volume += totals.volume
                charges += totals.charges
                taxes += totals.taxes
                direction = totals.direction
    return _Own(volume, charges, taxes, direction)


_NONE = _Own(ZERO, ZERO, ZERO, None)


def calculate(
    discounts: Sequence[Discount], usage: Mapping[UsageKey, UsageTotals], rules: Rules = Rules.CURRENT
) -> CalculationResult:
    """Every party's deal values and commitment, parties in the order given (the request's order)."""
    results: list[IntermediateResult] = []
    outcomes: list[PartyOutcome] = []
    with decimal.localcontext(EXACT):
        for discount in discounts:
            part, outcome = _calculate_part(discount, usage, rules)
            outcomes.append(outcome)
            if rules is Rules.AEA87AA and not outcome.met:
                results.clear()  # aea87aa9 replaced every result so far with an empty list
                continue
            results.extend(part)
    return CalculationResult(tuple(results), tuple(outcomes))


def _calculate_part(
    discount: Discount, usage: Mapping[UsageKey, UsageTotals], rules: Rules
) -> tuple[list[IntermediateResult], PartyOutcome]:
    condition = discount.condition
    revenue = included_value = total = ZERO
    part: list[IntermediateResult] = []
    for group in discount.groups:
        for pricing in group.services:
            own = _aggregate(usage, pricing.canonical, group.home, group.visitor)
            revenue += own.charges + (own.taxes if condition.including_taxes else ZERO)
            if rules is Rules.AEA87AA and condition.kind is CommitmentKind.CONTRACT_REVENUE:
                deal = own.charges
            else:
                # The opposite traffic matters to balanced/unbalanced rates only.
                opposite = (
                    _aggregate(usage, pricing.canonical, group.visitor, group.home).volume
                    if isinstance(pricing.plan, RatioPlan)
                    else ZERO
                )
                deal = pricing.value(own.volume, opposite)
            if pricing.included_in_commitment:
                included_value += deal
            if own.direction is None:
                continue  # no usage for this service group: no result (and nothing to commit)
            total += deal
            part.append(
                IntermediateResult(
                    discount.party,
                    pricing.service,
                    group.home,
                    group.visitor,
                    deal,
                    ZERO,
                    own.volume,
                    own.direction,
                    pricing.included_in_commitment,
                )
            )
    if condition.kind is CommitmentKind.DEAL_REVENUE:
        measured = included_value
    elif condition.kind is CommitmentKind.CONTRACT_REVENUE:
        measured = revenue
    else:
        measured = ZERO
    met = condition.kind is CommitmentKind.UNCONDITIONAL or measured >= condition.value
    shortfall = ZERO if met else condition.value - measured
    if shortfall and rules is Rules.CURRENT:
        part = _share_shortfall(part, shortfall)
    outcome = PartyOutcome(discount.party, condition.kind, condition.value, measured, met, shortfall, total)
    return part, outcome


def _share_shortfall(part: list[IntermediateResult], shortfall: Decimal) -> list[IntermediateResult]:
    """Shares of the shortfall over the included services (all, if none is) by deal value (equal if all 0)."""
    idx = [i for i, r in enumerate(part) if r.included] or list(range(len(part)))
    if not idx:
        return part
    basis = sum((part[i].deal_value for i in idx), ZERO)
    quantum = Decimal(1).scaleb(-SHARE_PLACES)
    shares: dict[int, Decimal] = {}
    with decimal.localcontext(_SHARES):
        for i in idx:
            weight = part[i].deal_value / basis if basis else Decimal(1) / len(idx)
            shares[i] = (shortfall * weight).quantize(quantum)
        residue = shortfall - sum(shares.values(), ZERO)
    largest = max(idx, key=lambda i: (shares[i], -i))
    shares[largest] += residue
    out = list(part)
    for i, share in shares.items():
        r = out[i]
        out[i] = IntermediateResult(
            r.party, r.service, r.home, r.visitor, r.deal_value, share, r.usage, r.direction, r.included
        )
    return out


def check_discount(discount: Discount, where: str) -> None:
    """A discount's commitment is not negative and a service appears once per service group."""
    if discount.condition.value < 0:
        raise ValidationError(f"{where}.condition.commitment.value: must not be negative")
    for g, group in enumerate(discount.groups):
        seen: set[str] = set()
        for s, pricing in enumerate(group.services):
            if pricing.canonical in seen:
                raise ValidationError(
                    f"{where}.serviceGroups[{g}].services[{s}].service: {pricing.service!r} is priced twice"
                )
            seen.add(pricing.canonical)
