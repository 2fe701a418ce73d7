"""Aggregate comparison and the tolerance verdict, on hand-computed cases."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from o2o.domain.agreements import FigureStands, TolerancePolicy
from o2o.domain.errors import ValidationError
from o2o.reconcile.aggregates import (
    ComparisonLine,
    Figures,
    SummaryLine,
    compare_by_day,
    compare_summaries,
    total_amounts,
)
from o2o.reconcile.verdict import Outcome, allowed_difference, standing_amount, verdict, within_tolerance

D1, D2, D3 = date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 3)


def line(service: str, dest: str, day: date, events: int, qty: int, amount: str | None) -> SummaryLine:
    return SummaryLine(service, dest, day, events, qty, None if amount is None else Decimal(amount))


def test_compare_summaries_outer_joins_and_sums_repeated_keys() -> None:
    provider = [
        line("voice", "UK-mobile", D1, 10, 600, "12.50"),
        line("voice", "UK-mobile", D1, 2, 120, "2.50"),  # same key again: summed
        line("voice", "UK-fixed", D2, 5, 300, "1.20"),
    ]
    customer = [
        line("voice", "UK-mobile", D1, 11, 660, "13.75"),
        line("sms", "UK", D2, 40, 40, None),  # an aggregate-only line without amount
    ]
    got = compare_summaries(provider, customer)
    assert [(g.service, g.destination, g.day) for g in got] == [
        ("sms", "UK", D2),
        ("voice", "UK-fixed", D2),
        ("voice", "UK-mobile", D1),
    ]
    sms, fixed, mobile = got
    assert mobile.provider == Figures(12, 720, Decimal("15.00"))
    assert (mobile.events_difference, mobile.quantity_difference, mobile.amount_difference) == (
        1,
        60,
        Decimal("1.25"),
    )
    assert fixed.customer == Figures() and fixed.amount_difference == Decimal("1.20")
    assert sms.provider == Figures() and sms.customer.amount is None and sms.events_difference == -40
    assert total_amounts(got) == (Decimal("16.20"), Decimal("13.75"))
    days = compare_by_day(got)
    assert [(d.day, d.provider_amount, d.customer_amount, d.difference) for d in days] == [
        (D1, Decimal("15.00"), Decimal("13.75"), Decimal("1.25")),
        (D2, Decimal("1.20"), Decimal("0"), Decimal("1.20")),
    ]


def test_tolerance_rules() -> None:
    one_pct = TolerancePolicy(relative=Decimal("0.01"), absolute=None)
    assert allowed_difference(Decimal("1000"), one_pct) == Decimal("10.00")
    assert within_tolerance(Decimal("1000"), Decimal("990"), one_pct)
    assert not within_tolerance(Decimal("1000"), Decimal("989.99"), one_pct)
    either = TolerancePolicy(relative=Decimal("0.01"), absolute=Decimal("50"), combine="either")
    both = TolerancePolicy(relative=Decimal("0.01"), absolute=Decimal("50"), combine="both")
    # 1% of 1000 is 10; 30 is over 1% but under 50.
    assert within_tolerance(Decimal("1000"), Decimal("970"), either)
    assert not within_tolerance(Decimal("1000"), Decimal("970"), both)
    assert within_tolerance(Decimal("10000"), Decimal("9960"), both)  # 40 <= min(100, 50)
    zero = TolerancePolicy(relative=None, absolute=None)
    assert allowed_difference(Decimal("5"), zero) is None
    assert within_tolerance(Decimal("5"), Decimal("5.00"), zero)
    assert not within_tolerance(Decimal("5"), Decimal("5.01"), zero)
    with pytest.raises(ValidationError, match="combine"):
        within_tolerance(Decimal("1"), Decimal("1"), TolerancePolicy(combine="any"))


@pytest.mark.parametrize(
    ("figure", "expected"),
    [
        (FigureStands.PROVIDER, "1000.00"),
        (FigureStands.CUSTOMER, "995.01"),
        (FigureStands.LOWER, "995.01"),
        (FigureStands.AVERAGE, "997.51"),  # 997.505 rounds half-up
    ],
)
def test_agreed_with_the_figure_that_stands(figure: FigureStands, expected: str) -> None:
    policy = TolerancePolicy(relative=Decimal("0.01"), figure=figure)
    v = verdict(Decimal("1000.00"), Decimal("995.01"), policy, currency="EUR")
    assert v.outcome is Outcome.AGREED and v.agreed
    assert v.amount == Decimal(expected)
    assert v.difference == Decimal("4.99") and v.allowed == Decimal("10.0000")
    assert v.contested_amount is None and v.days == ()


def test_average_without_currency_is_exact() -> None:
    assert standing_amount(Decimal("1"), Decimal("2"), FigureStands.AVERAGE) == Decimal("1.5")


def test_dispute_names_the_contested_amount_and_the_days_over_tolerance() -> None:
    policy = TolerancePolicy(relative=Decimal("0.01"), absolute=Decimal("5"), combine="either")
    lines = [
        ComparisonLine(
            "voice", "UK", D1, Figures(100, 6000, Decimal("300.00")), Figures(100, 6000, Decimal("299.00"))
        ),
        ComparisonLine(
            "voice", "UK", D2, Figures(90, 5400, Decimal("400.00")), Figures(60, 3600, Decimal("270.00"))
        ),
        ComparisonLine(
            "voice", "UK", D3, Figures(80, 4800, Decimal("300.00")), Figures(80, 4800, Decimal("300.00"))
        ),
    ]
    p, c = total_amounts(lines)
    assert (p, c) == (Decimal("1000.00"), Decimal("869.00"))
    v = verdict(p, c, policy, compare_by_day(lines), currency="EUR")
    # Total difference 131 > max(1% of 1000, 5) = 10; only day 2 (130 > max(4, 5)) is over on its own.
    assert v.outcome is Outcome.DISPUTED and not v.agreed
    assert (v.contested_amount, v.undisputed_amount, v.allowed) == (
        Decimal("131.00"),
        Decimal("869.00"),
        Decimal("10.0000"),
    )
    assert [d.day for d in v.days] == [D2]
    assert v.amount is None


def test_dispute_spread_thin_points_at_every_day_that_differs() -> None:
    policy = TolerancePolicy(relative=None, absolute=Decimal("3"))
    lines = [
        ComparisonLine("voice", "UK", day, Figures(1, 60, Decimal("10")), Figures(1, 60, Decimal(amount)))
        for day, amount in ((D1, "8"), (D2, "8"), (D3, "10"))
    ]
    p, c = total_amounts(lines)
    v = verdict(p, c, policy, compare_by_day(lines))
    # 4 over the total's 3, but each day differs by 2 only: evidence is the two days that differ.
    assert v.outcome is Outcome.DISPUTED and v.contested_amount == Decimal("4")
    assert [d.day for d in v.days] == [D1, D2]


def test_a_customer_claiming_more_is_disputed_the_same_way() -> None:
    v = verdict(Decimal("100"), Decimal("120"), TolerancePolicy(relative=Decimal("0.05")))
    assert v.outcome is Outcome.DISPUTED
    assert (v.difference, v.contested_amount, v.undisputed_amount) == (
        Decimal("-20"),
        Decimal("20"),
        Decimal("100"),
    )
