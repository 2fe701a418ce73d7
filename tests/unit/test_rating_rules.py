"""Rating rules that need no files: exact rounding, zone offsets, recurring proration, deck checks."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from o2o.domain.agreements import Agreement, Party, RoundingPolicy, Service
from o2o.domain.errors import ValidationError
from o2o.domain.money import Rounding, round_amount
from o2o.domain.operators import NumberingPlan
from o2o.domain.periods import Period, zone
from o2o.domain.tariffs import (
    Destination,
    Increments,
    PriceUnit,
    Rate,
    RecurringCharge,
    ServiceKind,
    Tariff,
    Tier,
    TierMode,
    Tiers,
    local_start_epoch,
)
from o2o.rating import rate_recurring
from o2o.rating.clock import offset_changes
from o2o.rating.deck import build_deck
from o2o.rating.exact import micros, round_fraction
from o2o.rating.recurring import days_in_service

D = Decimal


@pytest.mark.parametrize(
    ("value", "places", "mode", "expected"),
    [
        (Fraction(3, 60), 4, Rounding.HALF_UP, "0.0500"),  # 0.05/min × 60 s
        (Fraction(61 * 5, 6000), 4, Rounding.HALF_UP, "0.0508"),
        (Fraction(15, 1000), 2, Rounding.HALF_UP, "0.02"),
        (Fraction(25, 1000), 2, Rounding.HALF_EVEN, "0.02"),
        (Fraction(35, 1000), 2, Rounding.HALF_EVEN, "0.04"),
        (Fraction(11, 1000), 2, Rounding.UP, "0.02"),
        (Fraction(19, 1000), 2, Rounding.DOWN, "0.01"),
        (Fraction(1, 3), 0, Rounding.UP, "1"),
    ],
)
def test_round_fraction(value: Fraction, places: int, mode: Rounding, expected: str) -> None:
    assert round_fraction(value, places, mode) == D(expected)
    assert str(round_fraction(value, places, mode)) == expected


@given(
    st.decimals(min_value=0, max_value=10**9, places=8, allow_nan=False),
    st.integers(0, 6),
    st.sampled_from(list(Rounding)),
)
def test_round_fraction_agrees_with_money_rounding(value: Decimal, places: int, mode: Rounding) -> None:
    assert round_fraction(Fraction(value), places, mode) == round_amount(value, places, mode)


def test_micros_refuses_a_seventh_decimal() -> None:
    assert micros(D("0.123456")) == 123456
    with pytest.raises(ValueError, match="more than 6 decimals"):
        micros(D("0.1234567"))


def test_offset_changes_find_the_dst_switch_to_the_second() -> None:
    lo, hi = 1_790_812_800, 1_793_491_200  # October 2026 (UTC)
    changes = offset_changes("Europe/Berlin", lo, hi)
    # CEST (+2) until 2026-10-25T01:00:00Z, then CET (+1).
    assert [(e, o) for e, o in changes[1:]] == [(1_792_890_000, 3600)]
    assert changes[0][1] == 7200
    assert offset_changes("Asia/Kolkata", lo, hi) == [(lo - 3600, 19800)]


def _agreement(tariff: Tariff, kind: ServiceKind, rounding: RoundingPolicy | None = None) -> Agreement:
    return Agreement(
        id="AB",
        name="AB",
        currency="EUR",
        timezone="UTC",
        valid_from=date(2026, 1, 1),
        parties=(Party("ALFA", NumberingPlan("49")), Party("BETA", NumberingPlan("7"))),
        services=(Service("svc", kind, "ALFA", "BETA", tariff),),
        rounding=rounding or RoundingPolicy(),
    )


def test_days_in_service_count_start_and_end_inclusive() -> None:
    october = Period(2026, 10)
    assert days_in_service(RecurringCharge("a", D(300), date(2026, 10, 11)), october) == 21
    assert days_in_service(RecurringCharge("b", D(1), date(2025, 1, 1), date(2026, 10, 20)), october) == 20
    assert days_in_service(RecurringCharge("c", D(1), date(2026, 11, 1)), october) == 0
    assert days_in_service(RecurringCharge("d", D(1), date(2026, 10, 31), date(2026, 10, 31)), october) == 1


def test_recurring_charges_prorated_and_rounded_once_at_the_line() -> None:
    charges = (
        RecurringCharge("E1", D("300.00"), date(2026, 10, 11)),
        RecurringCharge("Rack", D("450.00"), date(2025, 6, 1), date(2026, 10, 20)),
        RecurringCharge("Later", D("99"), date(2026, 12, 1)),
    )
    agr = _agreement(Tariff(unit=PriceUnit.MONTH, charges=charges), ServiceKind.RECURRING)
    result = rate_recurring(agr, "svc", Period(2026, 10))
    assert [(r.name, r.days_in_service, r.amount) for r in result.recurring] == [
        ("E1", 21, D("203.2258064516")),
        ("Rack", 20, D("290.3225806452")),
    ]
    # 300·21/31 + 450·20/31 = 15300/31 = 493.548387… → 493.55
    assert result.amount == D("493.55")
    assert result.billed_quantity == 41


def test_recurring_per_record_rounding_then_line() -> None:
    charges = (
        RecurringCharge("a", D("100"), date(2026, 2, 2)),
        RecurringCharge("b", D("100"), date(2026, 2, 2)),
    )
    agr = _agreement(
        Tariff(unit=PriceUnit.MONTH, charges=charges),
        ServiceKind.RECURRING,
        RoundingPolicy(Rounding.HALF_UP, 1),
    )
    result = rate_recurring(agr, "svc", Period(2026, 2))
    # 100·27/28 = 96.428… → 96.4 each, line 192.80 (exact would be 192.86)
    assert [r.amount for r in result.recurring] == [D("96.4"), D("96.4")]
    assert result.amount == D("192.80")


def test_usage_services_are_not_recurring() -> None:
    agr = _agreement(Tariff(unit=PriceUnit.MINUTE), ServiceKind.VOICE)
    with pytest.raises(ValidationError, match="rated from usage"):
        rate_recurring(agr, "svc", Period(2026, 10))


OCT_1, OCT_15, OCT_31 = 1_790_812_800, 1_792_022_400, 1_793_404_800  # midnight UTC


def test_deck_groups_prefix_lengths_and_versions() -> None:
    tariff = Tariff(
        unit=PriceUnit.MINUTE,
        destinations=(Destination("7", "RU"), Destination("79", "RU mob"), Destination("7916", "MTS")),
        rates=(
            Rate("RU", D("0.1"), date(2026, 1, 1)),
            Rate("RU", D("0.2"), date(2026, 10, 15), version="v2"),
            Rate("MTS", D("0.3"), date(2026, 1, 1)),
        ),
    )
    # usage from 2026-10-01 to 2026-10-31 (UTC): the 15th starts a second slot
    deck = build_deck("svc", ServiceKind.VOICE, tariff, (OCT_1, OCT_31), "UTC")
    assert deck.lengths == (4, 2, 1)
    assert deck.catch_all is None
    assert deck.slot_starts == (OCT_15,)
    rows = deck.rates.to_pylist()
    ru = [(r["rkey"] % 2, r["price_micros"], r["version"]) for r in rows if r["destination"] == "RU"]
    assert ru == [(0, 100000, "2026-01-01"), (1, 200000, "v2")]


def test_deck_refuses_tier_bounds_finer_than_the_base_unit() -> None:
    tiers = Tiers(TierMode.STEPPED, (Tier(D(0), D("0.1")), Tier(D("0.001"), D("0.05"))))
    with pytest.raises(ValidationError, match="whole number of base units"):
        build_deck("svc", ServiceKind.VOICE, Tariff(unit=PriceUnit.MINUTE, tiers=tiers), (0, 1), "UTC")


def test_a_rate_version_starts_at_its_local_time_and_brings_its_increments() -> None:
    per_second = Increments(1, 1)
    tariff = Tariff(
        unit=PriceUnit.MINUTE,
        increments=Increments(60, 60),
        destinations=(Destination("49", "DE"), Destination("4915", "DE mob", Increments(30, 6))),
        rates=(
            Rate("DE", D("0.01"), date(2026, 1, 1)),
            Rate("DE mob", D("0.05"), date(2026, 1, 1)),
            Rate("DE mob", D("0.04"), date(2026, 10, 25), increments=per_second, from_time=time(12)),
        ),
    )
    deck = build_deck("svc", ServiceKind.VOICE, tariff, (OCT_1, OCT_31), "Europe/Berlin")
    # 12:00 on the 25th is CET (UTC+1) after the clocks went back at 03:00: 11:00Z.
    assert deck.slot_starts == (1_792_926_000,)
    assert deck.increment_rules == (Increments(30, 6), per_second)
    rows = {(r["destination"], r["rkey"] % 2): (r["version"], r["inc_id"]) for r in deck.rates.to_pylist()}
    assert rows == {
        ("DE", 0): ("2026-01-01", 0),  # the service's 60/60
        ("DE", 1): ("2026-01-01", 0),
        ("DE mob", 0): ("2026-01-01", 1),  # the destination's 30/6
        ("DE mob", 1): ("2026-10-25T12:00", 2),  # the rate's 1/1
    }


@pytest.mark.parametrize(
    ("local", "explicit", "expected"),
    [
        (datetime(2026, 10, 25, 2, 30), True, 1_792_888_200),  # repeated: its first occurrence (CEST)
        (datetime(2026, 10, 25, 12, 0), True, 1_792_926_000),
        (datetime(2026, 3, 29, 0, 0), False, 1_774_738_800),
    ],
)
def test_local_start_epoch(local: datetime, explicit: bool, expected: int) -> None:
    assert local_start_epoch(local, zone("Europe/Berlin"), explicit) == expected


def test_a_local_time_the_clock_skips_is_refused() -> None:
    with pytest.raises(ValidationError, match="2026-03-29T02:30:00 does not exist in Europe/Berlin"):
        local_start_epoch(datetime(2026, 3, 29, 2, 30), zone("Europe/Berlin"))
