"""Hand-computed rating cases, one per tariff feature, including the known traps."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rating_cases import SERVICE, agreement, epoch, read_rows, write_usage

from o2o.domain.money import Rounding
from o2o.domain.periods import Period
from o2o.domain.tariffs import (
    Destination,
    Increments,
    PriceUnit,
    Rate,
    ServiceKind,
    Tariff,
    Tier,
    TierMode,
    Tiers,
    TimeBand,
)
from o2o.rating import RatingResult, rate_usage

D = Decimal
OCT = date(2026, 10, 1)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def voice(price: str = "0.05", **kw: Any) -> Tariff:
    dests = kw.pop("destinations", (Destination("49", "Germany"),))
    rates = kw.pop("rates", (Rate("Germany", D(price), OCT),))
    return Tariff(unit=kw.pop("unit", PriceUnit.MINUTE), destinations=dests, rates=rates, **kw)


def run(
    tmp_path: Path, tariff: Tariff, rows: list[dict[str, Any]], period: str | None = None, **kw: Any
) -> tuple[RatingResult, dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    kind = kw.pop("kind", ServiceKind.VOICE)
    agr = agreement(tariff, kind, **kw)
    usage = write_usage(tmp_path / "usage.parquet", rows)
    result = rate_usage(agr, SERVICE, [usage], tmp_path / "out", Period.parse(period) if period else None)
    assert result.rated_path and result.unrated_path
    rated = {r["record_id"]: r for r in read_rows(result.rated_path)}
    unrated = {r["record_id"]: r for r in read_rows(result.unrated_path)}
    assert result.records == len(rows) == len(rated) + len(unrated)
    return result, rated, unrated


NOON = epoch("2026-10-01T12:00:00+00:00")


def calls(*durations: int, b: str = "4930123456", start: int = NOON) -> list[dict[str, Any]]:
    return [
        {"record_id": f"c{i}", "b_number": b, "start_epoch": start + i, "duration_s": d}
        for i, d in enumerate(durations)
    ]


@pytest.mark.parametrize(
    ("first", "nxt", "minimum", "cases"),
    [
        (30, 6, 0, {1: 30, 30: 30, 31: 36, 36: 36, 37: 42, 65: 66}),
        (60, 60, 0, {1: 60, 60: 60, 61: 120, 125: 180}),
        (6, 6, 0, {1: 6, 6: 6, 7: 12}),
        (1, 1, 0, {1: 1, 59: 59, 61: 61}),
        (1, 1, 10, {1: 10, 10: 10, 11: 11}),
    ],
)
def test_increments_first_next_and_minimum(
    tmp_path: Path, first: int, nxt: int, minimum: int, cases: dict[int, int]
) -> None:
    tariff = voice("0.60", increments=Increments(first, nxt, minimum))
    result, rated, _ = run(tmp_path, tariff, calls(*cases), record_decimals=6)
    for i, (duration, billed) in enumerate(cases.items()):
        row = rated[f"c{i}"]
        assert row["billed_quantity"] == billed, duration
        assert row["charge"] == D("0.60") * billed / 60  # 0.01 per second: exact
    assert result.billed_quantity == sum(cases.values())


def test_thirty_six_increment_trap_totals(tmp_path: Path) -> None:
    # 30/6 at 0.12/min: 31 s bills 36 s = 0.072, not 31 s = 0.062 or 60 s = 0.12.
    result, rated, _ = run(
        tmp_path, voice("0.12", increments=Increments(30, 6)), calls(31, 29), record_decimals=4
    )
    assert [rated["c0"]["charge"], rated["c1"]["charge"]] == [D("0.0720"), D("0.0600")]
    assert result.amount == D("0.13")  # 0.1320 rounded half-up once at the line


def test_five_cents_a_minute_over_sixty_seconds_is_0_0500(tmp_path: Path) -> None:
    result, rated, _ = run(tmp_path, voice("0.05"), calls(60, 60, 61), record_decimals=4)
    assert rated["c0"]["charge"] == D("0.0500")  # not 0.0498 from a 4-decimal per-second rate
    assert rated["c2"]["charge"] == D("0.0508")  # 0.050833… half-up at 4 decimals
    assert result.amount_unrounded == D("0.1508")
    assert result.amount == D("0.15")


def test_line_rounding_only_sums_exactly_before_one_rounding(tmp_path: Path) -> None:
    # 3 × 61 s at 0.05/min = 0.1525 exactly; per-record rounding at 2 would give 3 × 0.05 = 0.15.
    result, rated, _ = run(tmp_path, voice("0.05"), calls(61, 61, 61))
    assert rated["c0"]["charge"] == D("0.0508333333")  # shown to 10 decimals
    assert result.amount_unrounded == D("0.1525000000")
    assert result.amount == D("0.15")  # half-up of 0.1525 at 2 decimals is 0.15 (…25 → 0.15)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (Rounding.HALF_UP, "0.02"),
        (Rounding.HALF_EVEN, "0.02"),
        (Rounding.DOWN, "0.01"),
        (Rounding.UP, "0.02"),
    ],
)
def test_rounding_modes_at_a_half(tmp_path: Path, mode: Rounding, expected: str) -> None:
    # 0.09/min for 10 s = 0.015 exactly: a true half at 2 decimals.
    result, rated, _ = run(tmp_path, voice("0.09"), calls(10), record_decimals=2, mode=mode)
    assert rated["c0"]["charge"] == D(expected)
    assert result.amount == D(expected)


def test_half_even_rounds_a_half_to_even(tmp_path: Path) -> None:
    # 0.15/min for 10 s = 0.025: half-even gives 0.02, half-up 0.03.
    _, even, _ = run(tmp_path / "e", voice("0.15"), calls(10), record_decimals=2, mode=Rounding.HALF_EVEN)
    _, up, _ = run(tmp_path / "u", voice("0.15"), calls(10), record_decimals=2)
    assert (even["c0"]["charge"], up["c0"]["charge"]) == (D("0.02"), D("0.03"))


def test_longest_prefix_wins(tmp_path: Path) -> None:
    dests = (
        Destination("7", "Russia"),
        Destination("79", "Russia mobile"),
        Destination("7916", "MTS Moscow"),
    )
    rates = tuple(
        Rate(n, D(p), OCT) for n, p in (("Russia", "0.10"), ("Russia mobile", "0.20"), ("MTS Moscow", "0.30"))
    )
    rows = [
        {"record_id": "mts", "b_number": "79161234567", "start_epoch": NOON, "duration_s": 60},
        {"record_id": "mob", "b_number": "79261234567", "start_epoch": NOON, "duration_s": 60},
        {"record_id": "fix", "b_number": "74951234567", "start_epoch": NOON, "duration_s": 60},
        {"record_id": "uk", "b_number": "441234567", "start_epoch": NOON, "duration_s": 60},
        {"record_id": "none", "b_number": None, "start_epoch": NOON, "duration_s": 60},
    ]
    _, rated, unrated = run(tmp_path, voice(destinations=dests, rates=rates), rows)
    assert {k: (v["destination"], v["prefix"], v["charge"]) for k, v in rated.items()} == {
        "mts": ("MTS Moscow", "7916", D("0.3000000000")),
        "mob": ("Russia mobile", "79", D("0.2000000000")),
        "fix": ("Russia", "7", D("0.1000000000")),
    }
    assert {k: v["reason"] for k, v in unrated.items()} == {"uk": "no_destination", "none": "no_destination"}


def test_catch_all_prefix_matches_what_nothing_longer_matches(tmp_path: Path) -> None:
    dests = (Destination("", "World"), Destination("49", "Germany"))
    rates = (Rate("World", D("0.30"), OCT), Rate("Germany", D("0.05"), OCT))
    rows = calls(60, b="4930") + calls(60, b="1212") + calls(60, b="")
    rows = [dict(r, record_id=f"x{i}") for i, r in enumerate(rows)]
    _, rated, _ = run(tmp_path, voice(destinations=dests, rates=rates), rows)
    assert [rated[f"x{i}"]["destination"] for i in range(3)] == ["Germany", "World", "World"]


def test_rate_change_at_midnight_in_the_agreement_zone(tmp_path: Path) -> None:
    # Moscow is UTC+3: the new rate from 2026-10-15 starts at 2026-10-14T21:00:00Z.
    rates = (
        Rate("Germany", D("0.05"), OCT, version="v1"),
        Rate("Germany", D("0.07"), date(2026, 10, 15), version="v2"),
    )
    rows = [
        {
            "record_id": "before",
            "b_number": "4930",
            "start_epoch": epoch("2026-10-14T20:59:59+00:00"),
            "duration_s": 60,
        },
        {
            "record_id": "after",
            "b_number": "4930",
            "start_epoch": epoch("2026-10-14T21:00:00+00:00"),
            "duration_s": 60,
        },
    ]
    _, rated, _ = run(tmp_path, voice(rates=rates), rows, tz="Europe/Moscow", record_decimals=2)
    assert (rated["before"]["rate_version"], rated["before"]["charge"]) == ("v1", D("0.05"))
    assert (rated["after"]["rate_version"], rated["after"]["charge"]) == ("v2", D("0.07"))
    assert (rated["before"]["day"], rated["after"]["day"]) == (date(2026, 10, 14), date(2026, 10, 15))


def test_no_rate_before_the_first_version(tmp_path: Path) -> None:
    rows = [
        {
            "record_id": "early",
            "b_number": "4930",
            "start_epoch": epoch("2026-09-30T12:00:00+00:00"),
            "duration_s": 60,
        }
    ]
    result, _, unrated = run(tmp_path, voice(), rows)
    assert unrated["early"]["reason"] == "no_rate"
    assert result.unrated == {"no_rate": 1}


BANDS = (
    TimeBand("peak", WEEKDAYS, time(8), time(20)),
    TimeBand("offpeak", (*WEEKDAYS, "sat", "sun"), time(20), time(8)),
)


def banded_rates(*extra: Rate) -> tuple[Rate, ...]:
    return (Rate("Germany", D("0.12"), OCT, "peak"), Rate("Germany", D("0.06"), OCT, "offpeak"), *extra)


def test_call_across_a_band_boundary_is_priced_by_its_start(tmp_path: Path) -> None:
    # Berlin is UTC+2 in October before the 25th; 2026-10-01 is a Thursday.
    rows = [
        {
            "record_id": "peak",
            "b_number": "4930",
            "start_epoch": epoch("2026-10-01T19:59:50+02:00"),
            "duration_s": 600,
        },
        {
            "record_id": "off",
            "b_number": "4930",
            "start_epoch": epoch("2026-10-01T20:00:00+02:00"),
            "duration_s": 600,
        },
        {
            "record_id": "night",
            "b_number": "4930",
            "start_epoch": epoch("2026-10-02T07:59:59+02:00"),
            "duration_s": 60,
        },
    ]
    tariff = voice(bands=BANDS, rates=banded_rates())
    _, rated, _ = run(tmp_path, tariff, rows, tz="Europe/Berlin", record_decimals=4)
    assert (rated["peak"]["band"], rated["peak"]["charge"]) == ("peak", D("1.2000"))
    assert (rated["off"]["band"], rated["off"]["charge"]) == ("offpeak", D("0.6000"))
    assert rated["night"]["band"] == "offpeak"


def test_weekend_and_holiday_bands(tmp_path: Path) -> None:
    bands = (*BANDS, TimeBand("weekend", ("sat", "sun"), time(0), time(0)))
    tariff = voice(
        bands=(bands[2], bands[0], bands[1]),  # weekend listed first: it wins on Saturdays
        rates=banded_rates(Rate("Germany", D("0.03"), OCT, "weekend")),
        holidays=(date(2026, 10, 5),),
    )
    rows = [
        {
            "record_id": "sat",
            "b_number": "4930",
            "start_epoch": epoch("2026-10-03T12:00:00+00:00"),
            "duration_s": 60,
        },
        {
            "record_id": "hol",
            "b_number": "4930",
            "start_epoch": epoch("2026-10-05T12:00:00+00:00"),
            "duration_s": 60,
        },
        {
            "record_id": "tue",
            "b_number": "4930",
            "start_epoch": epoch("2026-10-06T12:00:00+00:00"),
            "duration_s": 60,
        },
    ]
    _, rated, _ = run(tmp_path, tariff, rows, record_decimals=2)
    assert {k: (v["band"], v["charge"]) for k, v in rated.items()} == {
        "sat": ("weekend", D("0.03")),
        "hol": ("weekend", D("0.03")),
        "tue": ("peak", D("0.12")),
    }


def test_a_new_version_replaces_all_band_prices(tmp_path: Path) -> None:
    tariff = voice(bands=BANDS, rates=banded_rates(Rate("Germany", D("0.09"), date(2026, 10, 15))))
    rows = [
        {
            "record_id": "old",
            "b_number": "4930",
            "start_epoch": epoch("2026-10-14T12:00:00+00:00"),
            "duration_s": 60,
        },
        {
            "record_id": "new",
            "b_number": "4930",
            "start_epoch": epoch("2026-10-15T12:00:00+00:00"),
            "duration_s": 60,
        },
    ]
    _, rated, _ = run(tmp_path, tariff, rows, record_decimals=2)
    assert (rated["old"]["charge"], rated["new"]["charge"]) == (D("0.12"), D("0.09"))
    assert rated["new"]["band"] == "peak"  # the band is still reported; the version has one price for all


def test_band_without_a_price_is_unrated(tmp_path: Path) -> None:
    tariff = voice(bands=BANDS, rates=(Rate("Germany", D("0.12"), OCT, "peak"),))
    rows = [
        {
            "record_id": "late",
            "b_number": "4930",
            "start_epoch": epoch("2026-10-01T22:00:00+00:00"),
            "duration_s": 60,
        }
    ]
    _, _, unrated = run(tmp_path, tariff, rows)
    assert unrated["late"]["reason"] == "no_rate"


def test_setup_fee_and_minimum_charge(tmp_path: Path) -> None:
    tariff = voice("0.10", setup_fee=D("0.02"), minimum_charge=D("0.05"))
    _, rated, _ = run(tmp_path, tariff, calls(6, 120, 0), record_decimals=4)
    # 6 s = 0.01 + 0.02 setup = 0.03 → minimum 0.05; 120 s = 0.20 + 0.02; zero seconds is not a call.
    assert [rated[f"c{i}"]["charge"] for i in range(3)] == [D("0.0500"), D("0.2200"), D("0.0000")]


def test_per_event_sms(tmp_path: Path) -> None:
    tariff = voice("0.011", unit=PriceUnit.EVENT)
    rows = [
        {"record_id": "one", "b_number": "4930", "start_epoch": NOON},
        {"record_id": "three", "b_number": "4930", "start_epoch": NOON, "volume": 3},
    ]
    result, rated, _ = run(tmp_path, tariff, rows, kind=ServiceKind.SMS, record_decimals=3)
    assert (rated["one"]["charge"], rated["three"]["charge"]) == (D("0.011"), D("0.033"))
    assert (result.billed_quantity, result.quantity_unit) == (4, "event")


@pytest.mark.parametrize(
    ("unit", "increment", "volume", "billed", "charge"),
    [
        (PriceUnit.MB, 1_000, 1_500_001, 1_501_000, "0.7505"),  # 0.50/MB, per KB
        (PriceUnit.MB, 1, 1_500_001, 1_500_001, "0.7500005"),
        (PriceUnit.GB, 1_000_000, 2_500_000_001, 2_501_000_000, "1.250500"),  # 0.50/GB, per MB
    ],
)
def test_per_volume_data_with_its_increment(
    tmp_path: Path, unit: PriceUnit, increment: int, volume: int, billed: int, charge: str
) -> None:
    tariff = voice("0.50", unit=unit, volume_increment=increment)
    rows = [{"record_id": "s", "b_number": "4930", "start_epoch": NOON, "volume": volume}]
    _, rated, _ = run(tmp_path, tariff, rows, kind=ServiceKind.DATA)
    assert rated["s"]["billed_quantity"] == billed
    assert rated["s"]["charge"] == D(charge)


def sms_tiers(mode: TierMode) -> Tariff:
    levels = (Tier(D(0), D("0.02")), Tier(D(100), D("0.015")), Tier(D(1000), D("0.01")))
    return Tariff(unit=PriceUnit.EVENT, tiers=Tiers(mode, levels))


def batches(*volumes: int) -> list[dict[str, Any]]:
    return [
        {"record_id": f"b{i}", "b_number": "4930", "start_epoch": NOON + i, "volume": v}
        for i, v in enumerate(volumes)
    ]


def test_stepped_tiers_price_the_whole_volume_at_the_tier_reached(tmp_path: Path) -> None:
    result, rated, _ = run(tmp_path, sms_tiers(TierMode.STEPPED), batches(60, 60, 30), kind=ServiceKind.SMS)
    assert result.amount == D("2.25")  # 150 × 0.015
    assert rated["b0"]["rate_version"] == "tier from 100 event"


def test_banded_tiers_price_each_band_at_its_own_price(tmp_path: Path) -> None:
    result, rated, _ = run(tmp_path, sms_tiers(TierMode.BANDED), batches(60, 60, 30), kind=ServiceKind.SMS)
    assert result.amount == D("2.75")  # 100 × 0.02 + 50 × 0.015
    # in start order: 60 × 0.02, then 40 × 0.02 + 20 × 0.015, then 30 × 0.015
    assert [rated[f"b{i}"]["charge"] for i in range(3)] == [D("1.2"), D("1.1"), D("0.45")]


def test_unrated_records_are_listed_with_their_reason(tmp_path: Path) -> None:
    rows = [
        {"record_id": "ok", "b_number": "4930", "start_epoch": NOON, "duration_s": 60},
        {"record_id": "sms", "service": "other", "b_number": "4930", "start_epoch": NOON, "duration_s": 1},
        {"record_id": "tv", "service": "tv", "b_number": "4930", "start_epoch": NOON, "duration_s": 1},
        {"record_id": "blank", "service": "", "b_number": "4930", "start_epoch": NOON, "duration_s": 60},
        {"record_id": "nodur", "b_number": "4930", "start_epoch": NOON},
        {"record_id": "notime", "b_number": "4930", "duration_s": 5},
        {
            "record_id": "nov",
            "b_number": "4930",
            "start_epoch": epoch("2026-11-01T00:00:00+00:00"),
            "duration_s": 5,
        },
    ]
    result, rated, unrated = run(tmp_path, voice(), rows, period="2026-10")
    assert set(rated) == {"ok", "blank"}
    assert {k: v["reason"] for k, v in unrated.items()} == {
        "sms": "other_service",
        "tv": "unknown_service",
        "nodur": "bad_quantity",
        "notime": "no_start_time",
        "nov": "outside_period",
    }
    assert result.unrated == {
        "other_service": 1,
        "unknown_service": 1,
        "bad_quantity": 1,
        "no_start_time": 1,
        "outside_period": 1,
    }


def test_summary_per_destination_and_local_day(tmp_path: Path) -> None:
    # 2026-10-24T22:30Z is 00:30 on the 25th in Berlin (still CEST, +2).
    rows = [
        {
            "record_id": "a",
            "b_number": "4930",
            "start_epoch": epoch("2026-10-24T21:30:00+00:00"),
            "duration_s": 60,
        },
        {
            "record_id": "b",
            "b_number": "4930",
            "start_epoch": epoch("2026-10-24T22:30:00+00:00"),
            "duration_s": 120,
        },
        {
            "record_id": "c",
            "b_number": "4930",
            "start_epoch": epoch("2026-10-25T12:00:00+00:00"),
            "duration_s": 30,
        },
    ]
    result, _, _ = run(tmp_path, voice("0.06"), rows, tz="Europe/Berlin", record_decimals=4)
    assert result.summary_path is not None
    summary = [
        (r["day"], r["events"], r["billed_quantity"], r["amount"]) for r in read_rows(result.summary_path)
    ]
    assert summary == [(date(2026, 10, 24), 1, 60, D("0.0600")), (date(2026, 10, 25), 2, 150, D("0.1500"))]


def test_exact_numerator_carries_the_unrounded_charge(tmp_path: Path) -> None:
    from fractions import Fraction

    _result, rated, _ = run(tmp_path, voice("0.05"), calls(61))
    row = rated["c0"]
    assert Fraction(int(row["exact_numerator"]), row["exact_denominator"]) == Fraction(61 * 5, 6000)
    _, rounded, _ = run(tmp_path / "r", voice("0.05"), calls(61), record_decimals=4)
    assert "exact_numerator" not in rounded["c0"]  # per-record rounding: the charge is the exact figure


def test_nothing_priced_still_writes_every_file(tmp_path: Path) -> None:
    result, rated, unrated = run(tmp_path, voice(), calls(60, 60, b="1212"))
    assert (result.rated, result.amount, len(rated), len(unrated)) == (0, D("0.00"), 0, 2)
    assert result.summary_path is not None and read_rows(result.summary_path) == []


def test_everything_priced_writes_an_empty_unrated_file(tmp_path: Path) -> None:
    result, _rated, unrated = run(tmp_path, voice(), calls(60, 60))
    assert (result.rated, result.unrated, len(unrated)) == (2, {}, 0)
    assert result.unrated_path is not None and result.unrated_path.is_file()
