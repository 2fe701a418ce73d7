"""The tolerance verdict: agreed with the amount that stands, or a dispute with its contested amount.

Rules (from an agreement's `TolerancePolicy`): the difference is |provider − customer|; the relative
threshold is `relative` × |provider amount|, the absolute one `absolute`; with both set, `combine`
"either" accepts a difference under either and "both" only under both; with neither set the tolerance is
zero. Inside tolerance the figure that stands is the provider's, the customer's, the lower, or the
average (rounded half-up to the currency's minor unit when a currency is given). Outside it, the
contested amount is the difference, the undisputed amount the lower figure, and the evidence the days
whose own difference is over tolerance by the same rule (or, when no single day is, every day that differs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from o2o.domain.agreements import FigureStands, TolerancePolicy
from o2o.domain.errors import ValidationError
from o2o.domain.money import D, round_to_currency
from o2o.reconcile.aggregates import DayComparison


class Outcome(StrEnum):
    AGREED = "agreed"
    DISPUTED = "disputed"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of comparing the two amounts of a reconciliation."""

    outcome: Outcome
    provider_amount: Decimal
    customer_amount: Decimal
    difference: Decimal  # provider − customer
    allowed: Decimal | None  # the largest difference accepted (None: no threshold, zero tolerance)
    amount: Decimal | None = None  # the agreed amount (agreed only)
    figure: FigureStands | None = None
    contested_amount: Decimal | None = None  # disputed only
    undisputed_amount: Decimal | None = None
    days: tuple[DayComparison, ...] = ()

    @property
    def agreed(self) -> bool:
        return self.outcome is Outcome.AGREED


def allowed_difference(provider_amount: Decimal, policy: TolerancePolicy) -> Decimal | None:
    """The largest accepted difference for `provider_amount` under `policy` (None: zero tolerance)."""
    limits = _limits(provider_amount, policy)
    if not limits:
        return None
    return max(limits) if policy.combine == "either" else min(limits)


def _limits(provider_amount: Decimal, policy: TolerancePolicy) -> list[Decimal]:
    if policy.combine not in {"either", "both"}:
        raise ValidationError(f"tolerance combine {policy.combine!r}: expected 'either' or 'both'")
    limits = []
    if policy.relative is not None:
        if policy.relative < 0:
            raise ValidationError(f"relative tolerance {policy.relative} must not be negative")
        limits.append(D(policy.relative) * abs(D(provider_amount)))
    if policy.absolute is not None:
        if policy.absolute < 0:
            raise ValidationError(f"absolute tolerance {policy.absolute} must not be negative")
        limits.append(D(policy.absolute))
    return limits


def within_tolerance(provider_amount: Decimal, customer_amount: Decimal, policy: TolerancePolicy) -> bool:
    """Whether the difference of the two amounts is accepted without dispute."""
    difference = abs(D(provider_amount) - D(customer_amount))
    allowed = allowed_difference(provider_amount, policy)
    return difference == 0 if allowed is None else difference <= allowed


def standing_amount(
    provider_amount: Decimal, customer_amount: Decimal, figure: FigureStands, currency: str | None = None
) -> Decimal:
    """The amount that stands when the two are inside tolerance."""
    p, c = D(provider_amount), D(customer_amount)
    if figure is FigureStands.PROVIDER:
        return p
    if figure is FigureStands.CUSTOMER:
        return c
    if figure is FigureStands.LOWER:
        return min(p, c)
    average = (p + c) / 2
    return round_to_currency(average, currency) if currency else average


def verdict(
    provider_amount: Decimal,
    customer_amount: Decimal,
    policy: TolerancePolicy,
    days: Sequence[DayComparison] = (),
    currency: str | None = None,
) -> Verdict:
    """Agreed with the amount that stands, or disputed with the contested amount and the days behind it."""
    p, c = D(provider_amount), D(customer_amount)
    allowed = allowed_difference(p, policy)
    if within_tolerance(p, c, policy):
        return Verdict(
            Outcome.AGREED, p, c, p - c, allowed,
            amount=standing_amount(p, c, policy.figure, currency), figure=policy.figure,
        )  # fmt: skip
    over = tuple(d for d in days if not within_tolerance(d.provider_amount, d.customer_amount, policy))
    if not over:
        over = tuple(d for d in days if d.difference != 0)
    return Verdict(
        Outcome.DISPUTED, p, c, p - c, allowed,
        contested_amount=abs(p - c), undisputed_amount=min(p, c), days=over,
    )  # fmt: skip
