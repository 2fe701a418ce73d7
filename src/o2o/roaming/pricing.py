"""Discount pricing models of a roaming agreement: the value of one service's usage, exact in Decimal.

- `Tier(start, fixed, linear)`: tier i covers the volume above its start up to the next tier's start (the
  last is unbounded). A tier the volume reaches (volume > start) adds `fixed + linear × (volume in tier)`.
- `RatingPlan` of kind TIERED sums its tiers (a plain linear rate or flat fee is one tier from 0); kind
  BACK_TO_FIRST prices the whole volume by the highest tier it reaches (`fixed + linear × volume`).
- `RatioPlan` (balanced/unbalanced traffic): the balanced volume is min(own, partner's opposite traffic),
  priced by the balanced tiers; the excess over the partner's traffic by the unbalanced tiers, only when
  there is an excess (so an unbalanced flat fee is not owed on balanced traffic).

Nothing is rounded here: products and sums of decimals are exact (the calculation runs in an exact
context that refuses an inexact result). Rounding happens at named points of the callers.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from o2o.domain.errors import ValidationError

ZERO = Decimal(0)


class PlanKind(StrEnum):
    """How a rating plan's thresholds apply (the BWRP request's `ratingPlan.kind`)."""

    TIERED = "tiered"
    BACK_TO_FIRST = "back_to_first"


@dataclass(frozen=True, slots=True)
class Tier:
    """A threshold: from `start` on, a flat fee once reached and a price per unit within the tier."""

    start: Decimal
    fixed: Decimal = ZERO
    linear: Decimal = ZERO


def check_tiers(tiers: tuple[Tier, ...], where: str) -> None:
    """Tiers start at 0 or above and rise strictly; prices are not negative."""
    previous: Decimal | None = None
    for i, tier in enumerate(tiers):
        if tier.start < 0 or (previous is not None and tier.start <= previous):
            raise ValidationError(f"{where}[{i}].start: thresholds must be at least 0 and rise strictly")
        if tier.fixed < 0 or tier.linear < 0:
            raise ValidationError(f"{where}[{i}]: prices must not be negative")
        previous = tier.start


def tiered_value(tiers: tuple[Tier, ...], volume: Decimal) -> Decimal:
    """The sum over the tiers the volume reaches of fixed + linear × the volume inside the tier."""
    total = ZERO
    for i, tier in enumerate(tiers):
        inside = volume - tier.start
        if inside <= 0:
            break
        if i + 1 < len(tiers):
            inside = min(inside, tiers[i + 1].start - tier.start)
        total += tier.fixed + tier.linear * inside
    return total


def back_to_first_value(tiers: tuple[Tier, ...], volume: Decimal) -> Decimal:
    """The whole volume at the highest tier it reaches: fixed + linear × volume (0 below every tier)."""
    reached = None
    for tier in tiers:
        if volume > tier.start:
            reached = tier
        else:
            break
    if reached is None:
        return ZERO
    return reached.fixed + reached.linear * volume


@dataclass(frozen=True, slots=True)
class RatingPlan:
    """A rate over thresholds (one tier from 0 for a plain linear rate or flat fee)."""

    tiers: tuple[Tier, ...]
    kind: PlanKind = PlanKind.TIERED

    def value(self, volume: Decimal) -> Decimal:
        if self.kind is PlanKind.BACK_TO_FIRST:
            return back_to_first_value(self.tiers, volume)
        return tiered_value(self.tiers, volume)


@dataclass(frozen=True, slots=True)
class RatioPlan:
    """Balanced and unbalanced rates: traffic matched by the partner's opposite traffic, and the excess."""

    balanced: tuple[Tier, ...]
    unbalanced: tuple[Tier, ...]

    def value(self, volume: Decimal, opposite: Decimal) -> Decimal:
        balanced = min(volume, opposite)
        excess = volume - balanced
        total = tiered_value(self.balanced, balanced)
        if excess > 0:
            total += tiered_value(self.unbalanced, excess)
        return total


@dataclass(frozen=True, slots=True)
class ServicePricing:
    """One service of a discount: its name as given, its canonical name, and its one pricing model."""

    service: str
    canonical: str
    plan: RatingPlan | RatioPlan
    included_in_commitment: bool = False
    access: bool = False  # priced per access (the BWRP `accessPricing`) rather than per usage

    def value(self, volume: Decimal, opposite: Decimal) -> Decimal:
        if isinstance(self.plan, RatioPlan):
            return self.plan.value(volume, opposite)
        return self.plan.value(volume)
