"""Fixed monthly charges (leased channels, colocation) for a period, prorated by days in service.

A charge is in service from its `start` to its `end` inclusive (open-ended without `end`); in a month
it costs `amount × days in service / days in the month`, rounded per record when the agreement says so,
and the line once. No usage is read: the quantity is the days in service.
"""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

from o2o.domain.agreements import Agreement
from o2o.domain.currencies import minor_units
from o2o.domain.errors import ValidationError
from o2o.domain.periods import Period
from o2o.domain.tariffs import RecurringCharge, ServiceKind
from o2o.rating.exact import UNROUNDED_PLACES, round_fraction
from o2o.rating.result import QUANTITY_UNITS, RatingResult, RecurringLine


def days_in_service(charge: RecurringCharge, period: Period) -> int:
    """Days of `period` from the charge's start to its end (inclusive)."""
    first = max(charge.start, period.first_day)
    last_of_month = period.next.first_day - timedelta(days=1)
    last = min(charge.end, last_of_month) if charge.end is not None else last_of_month
    return max((last - first).days + 1, 0)


def rate_recurring(agreement: Agreement, service_id: str, period: Period) -> RatingResult:
    """The recurring charges of `service_id` for `period`, one line per charge."""
    service = agreement.service(service_id)
    if service.kind is not ServiceKind.RECURRING:
        raise ValidationError(f"service {service_id} is {service.kind}: it is rated from usage")
    policy = agreement.rounding
    line_places = (
        policy.line_decimals if policy.line_decimals is not None else minor_units(agreement.currency)
    )
    lines: list[RecurringLine] = []
    exact_total = Fraction(0)
    for charge in service.tariff.charges:
        days = days_in_service(charge, period)
        if days == 0:
            continue
        exact = Fraction(charge.amount) * days / period.days
        if policy.record_decimals is not None:
            amount = round_fraction(exact, policy.record_decimals, policy.mode)
            exact = Fraction(amount)
        else:
            amount = round_fraction(exact, UNROUNDED_PLACES, policy.mode)
        exact_total += exact
        lines.append(RecurringLine(charge.name, days, period.days, charge.amount, amount))
    return RatingResult(
        agreement_id=agreement.id,
        service=service_id,
        currency=agreement.currency,
        period=str(period),
        records=len(lines),
        rated=len(lines),
        unrated={},
        billed_quantity=sum(line.days_in_service for line in lines),
        quantity_unit=QUANTITY_UNITS[ServiceKind.RECURRING.value],
        amount=round_fraction(exact_total, line_places, policy.mode),
        amount_unrounded=round_fraction(exact_total, UNROUNDED_PLACES, policy.mode)
        if policy.record_decimals is None
        else sum((line.amount for line in lines), start=round_fraction(Fraction(0), 0, policy.mode)),
        recurring=tuple(lines),
    )
