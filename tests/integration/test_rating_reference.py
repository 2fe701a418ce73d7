"""The engine against the pure-Python reference rater on random tariffs and usage (hypothesis): prefixes,
bands, holidays, rate versions starting at midnight or at a time of day (also around the DST changes),
billing increments of the service, of a destination and of a rate, tiers, rounding."""

from __future__ import annotations

import os
import tempfile
from datetime import date, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from rating_cases import SERVICE, agreement, epoch, read_rows, write_usage
from rating_reference_rater import Rec, line_total, reference_rate

from o2o.domain.agreements import Agreement
from o2o.domain.errors import ValidationError
from o2o.domain.money import Rounding
from o2o.domain.periods import Period, zone
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
    local_start_epoch,
)
from o2o.rating import deck, rate_usage

ZONES = ["UTC", "Europe/Berlin", "Asia/Kolkata", "America/New_York", "Australia/Adelaide"]
START = epoch("2026-10-01T00:00:00+00:00")
SPAN = 40 * 86400  # into November: crosses the European and US DST changes
UNIT = {ServiceKind.VOICE: PriceUnit.MINUTE, ServiceKind.SMS: PriceUnit.EVENT, ServiceKind.DATA: PriceUnit.KB}
INCREMENTS = [Increments(1, 1), Increments(30, 6), Increments(60, 60, 0), Increments(6, 6, 20)]
# Midnight, times the European and US clocks repeat in autumn, a time Adelaide skips on 4 October, others.
FROM_TIMES = [time(0), time(1, 30), time(2, 30), time(12), time(18, 45, 30)]


def price() -> st.SearchStrategy[Decimal]:
    return st.integers(0, 2_000_000).map(lambda n: Decimal(n).scaleb(-6)) | st.sampled_from(
        [Decimal("0.05"), Decimal("0.09"), Decimal("0.15"), Decimal("0.0001")]
    )


@st.composite
def tariffs(draw: st.DrawFn, kind: ServiceKind) -> Tariff:
    prefixes = draw(st.lists(st.text("0123", min_size=0, max_size=3), min_size=1, max_size=5, unique=True))
    voice = kind is ServiceKind.VOICE
    own = st.none() | st.sampled_from(INCREMENTS) if voice else st.none()
    dests = tuple(Destination(p, f"d{p or 'all'}", draw(own)) for p in prefixes)
    bands = (
        TimeBand("peak", ("mon", "tue", "wed", "thu", "fri"), time(8), time(19, 30)),
        TimeBand("night", ("mon", "tue", "wed", "thu", "fri", "sat", "sun"), time(22), time(6)),
    )
    band_names = ["any", "peak", "night", "weekend"]
    holidays = (date(2026, 10, 3), date(2026, 11, 1)) if draw(st.booleans()) else ()
    common: dict[str, Any] = {
        "unit": UNIT[kind],
        "bands": bands if draw(st.booleans()) else (),
        "holidays": holidays,
        "increments": draw(st.sampled_from(INCREMENTS)),
        "volume_increment": draw(st.sampled_from([1, 512, 1000])),
        "setup_fee": draw(st.sampled_from([Decimal(0), Decimal("0.01")])),
        "minimum_charge": draw(st.sampled_from([Decimal(0), Decimal("0.02")])),
    }
    if draw(st.booleans()):  # tiers for voice too: their records bill by their destination's increments
        starts = sorted(draw(st.sets(st.integers(1, 40), max_size=3)))
        levels = tuple(Tier(Decimal(s), draw(price())) for s in [0, *starts])
        mode = draw(st.sampled_from(list(TierMode)))
        return Tariff(destinations=dests if draw(st.booleans()) else (), tiers=Tiers(mode, levels), **common)
    rates = []
    for d in dests:
        for day in sorted(draw(st.sets(st.integers(0, 35), min_size=1, max_size=3))):
            for band in draw(st.sets(st.sampled_from(band_names), min_size=1, max_size=3)):
                start = date(2026, 10, 1) + timedelta(days=day)
                at = draw(st.sampled_from(FROM_TIMES))
                version = draw(st.sampled_from([f"v{day}", ""]))
                rates.append(Rate(d.name, draw(price()), start, band, version, draw(own), at))
    return Tariff(destinations=dests, rates=tuple(rates), **common)


@st.composite
def usage(draw: st.DrawFn) -> list[Rec]:
    n = draw(st.integers(0, 25))
    recs = []
    for i in range(n):
        recs.append(
            Rec(
                line=i + 1,
                service=draw(st.sampled_from([SERVICE, SERVICE, SERVICE, None, "other", "tv"])),
                b_number=draw(st.none() | st.text("01234", min_size=1, max_size=6)),
                start_epoch=draw(st.none() | st.integers(START - 86400, START + SPAN))
                if i % 7
                else START + i,
                duration_s=draw(st.none() | st.integers(0, 400)),
                volume=draw(st.none() | st.integers(0, 60_000)),
                record_id=draw(st.none() | st.sampled_from(["a", "b", "c"])),
            )
        )
    return recs


def engine_outcomes(
    agr: Agreement, recs: list[Rec], period: Period | None, work: Path
) -> tuple[Any, dict[int, Any]]:
    rows = [
        {
            "line": r.line,
            "record_id": r.record_id,
            "service": r.service,
            "b_number": r.b_number,
            "start_epoch": r.start_epoch,
            "duration_s": r.duration_s,
            "volume": r.volume,
        }
        for r in recs
    ]
    path = write_usage(work / "usage.parquet", rows)
    result = rate_usage(agr, SERVICE, [path], work / "out", period)
    assert result.rated_path and result.unrated_path
    by_line = {r["line"]: r for r in read_rows(result.rated_path)}
    by_line |= {r["line"]: r for r in read_rows(result.unrated_path)}
    return result, by_line


def _every_start_exists(tariff: Tariff, tz: str) -> bool:
    """A rate cannot start at a time the zone's clock skips (the schema refuses it)."""
    try:
        for r in tariff.rates:
            local_start_epoch(r.starts(), zone(tz), explicit_time=r.from_time != time(0))
    except ValidationError:
        return False
    return True


@settings(
    max_examples=int(os.environ.get("RATING_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    kind=st.sampled_from([ServiceKind.VOICE, ServiceKind.SMS, ServiceKind.DATA]),
    data=st.data(),
    tz=st.sampled_from(ZONES),
    record_decimals=st.sampled_from([None, 2, 4, 6]),
    mode=st.sampled_from(list(Rounding)),
    with_period=st.booleans(),
    expansion_limit=st.sampled_from([1, deck.EXPANSION_LIMIT]),
)
def test_engine_agrees_with_the_reference_rater(
    kind: ServiceKind,
    data: st.DataObject,
    tz: str,
    record_decimals: int | None,
    mode: Rounding,
    with_period: bool,
    expansion_limit: int,
) -> None:
    tariff = data.draw(tariffs(kind))
    assume(_every_start_exists(tariff, tz))
    prefixes = {d.prefix for d in tariff.destinations} or {""}
    recs = data.draw(usage())
    numbers = {r.line: r.b_number for r in recs}
    agr = agreement(tariff, kind, tz=tz, record_decimals=record_decimals, mode=mode)
    period = Period(2026, 10) if with_period else None
    bounds = period.bounds_epoch(tz) if period else None
    expected = reference_rate(agr, SERVICE, recs, bounds)
    # A limit of 1 expands only the shortest prefixes: the longer ones take a join per length.
    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(deck, "EXPANSION_LIMIT", expansion_limit):
        result, got = engine_outcomes(agr, recs, period, Path(tmp))
    for o in expected:
        row = got[o.line]
        if o.reason is not None:
            assert row.get("reason") == o.reason, (o, row)
            continue
        assert "reason" not in row, (o, row)
        assert (row["destination"], row["band"], row["day"]) == (o.destination, o.band, o.day), (o, row)
        assert (row["billed_quantity"], row["charge"]) == (o.billed, o.charge), (o, row)
        assert row["rate_version"] == o.version, (o, row)
        number = numbers[o.line] or ""
        assert row["prefix"] == max((p for p in prefixes if number.startswith(p)), key=len), (o, row)
    assert result.records == len(recs)
    assert result.rated == sum(1 for o in expected if o.reason is None)
    assert result.amount == line_total(agr, expected)
