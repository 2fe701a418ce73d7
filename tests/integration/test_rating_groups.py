"""Several usages rated in one run (`rating.engine.rate_groups`, the two sides of a period's usage line)
give each usage exactly what rating it alone gives: the rated, summary and unrated rows, the figures.

Random tariffs of the reference test (prefixes, dated versions at times of day, bands, the service's and a
destination's or rate's increments, setup fee and minimum, stepped and banded tiers: a tier's volume is its
own usage's) and random usages, some of several files, some empty or with nothing priced.
"""

from __future__ import annotations

import dataclasses
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from rating_cases import SERVICE, agreement, write_usage
from test_rating_reference import ZONES, _every_start_exists, tariffs, usage

from o2o.domain.money import Rounding
from o2o.domain.periods import Period
from o2o.domain.tariffs import Destination, PriceUnit, Rate, ServiceKind, Tariff, Tier, TierMode, Tiers
from o2o.rating import RatingResult, rate_usage
from o2o.rating.engine import rate_groups
from o2o.reconcile.aggregates import SummaryLine, read_summary

FILES = ("rated_path", "summary_path", "unrated_path")


def _rows(path: Path | None, ordered: bool) -> list[dict[str, Any]]:
    assert path is not None
    rows = pq.read_table(path).to_pylist()
    # The rated file is written as threads go (no order); the summary and unrated files are ordered.
    return rows if ordered else sorted(rows, key=lambda r: (r["src"], r["line"]))


def _figures(result: RatingResult) -> dict[str, Any]:
    return {k: v for k, v in dataclasses.asdict(result).items() if k not in FILES}


def _write(folder: Path, files: list[list[Any]]) -> list[Path]:
    paths = []
    for i, recs in enumerate(files):
        rows = [dataclasses.asdict(r) for r in recs]
        paths.append(write_usage(folder / f"usage-{i}.parquet", rows))
    return paths


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from([ServiceKind.VOICE, ServiceKind.SMS, ServiceKind.DATA]),
    data=st.data(),
    tz=st.sampled_from(ZONES),
    record_decimals=st.sampled_from([None, 2, 6]),
    with_period=st.booleans(),
)
def test_each_group_gets_what_it_gets_alone(
    kind: ServiceKind, data: st.DataObject, tz: str, record_decimals: int | None, with_period: bool
) -> None:
    tariff = data.draw(tariffs(kind))
    assume(_every_start_exists(tariff, tz))
    agr = agreement(tariff, kind, tz=tz, record_decimals=record_decimals, mode=Rounding.HALF_EVEN)
    period = Period(2026, 10) if with_period else None
    groups = data.draw(st.lists(st.lists(usage(), min_size=1, max_size=2), min_size=2, max_size=3))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        inputs = [
            (_write(work / f"in-{g}", files), work / "grouped" / f"g{g}") for g, files in enumerate(groups)
        ]
        together = rate_groups(agr, SERVICE, inputs, period)
        assert len(together) == len(groups)
        for g, (paths, _) in enumerate(inputs):
            alone = rate_usage(agr, SERVICE, paths, work / "alone" / f"g{g}", period)
            got = together[g]
            assert _figures(got) == _figures(alone), g
            assert got.records == sum(len(f) for f in groups[g])
            for name in FILES:
                ordered = name != "rated_path"
                assert _rows(getattr(got, name), ordered) == _rows(getattr(alone, name), ordered), (g, name)
                assert getattr(got, name).parent == inputs[g][1]
            # The summary's rows the run gives are the file's, as a reader reads them back.
            assert got.summary_rows is not None and got.summary_path is not None
            assert [SummaryLine(*r) for r in got.summary_rows] == read_summary(got.summary_path)


def test_groups_of_one_tiered_tariff_count_their_own_volume(tmp_path: Path) -> None:
    """A stepped tier priced on the group's own volume: one group over the threshold, one under it."""
    tariff = Tariff(
        unit=PriceUnit.EVENT,
        tiers=Tiers(TierMode.STEPPED, (Tier(Decimal(0), Decimal("0.10")), Tier(Decimal(5), Decimal("0.01")))),
    )
    agr = agreement(tariff, ServiceKind.SMS)
    start = 1_790_000_000
    big = [{"b_number": "4930", "start_epoch": start + i, "volume": 1} for i in range(6)]
    small = [{"b_number": "4930", "start_epoch": start + i, "volume": 1} for i in range(3)]
    inputs = [
        ([write_usage(tmp_path / "big.parquet", big)], tmp_path / "out-big"),
        ([write_usage(tmp_path / "small.parquet", small)], tmp_path / "out-small"),
    ]
    big_result, small_result = rate_groups(agr, SERVICE, inputs)
    assert big_result.amount == Decimal("0.06")  # six events at the second level's price
    assert small_result.amount == Decimal("0.30")  # three at the first level's


def test_unrated_file_has_one_schema_whether_or_not_a_record_is_unpriced(tmp_path: Path) -> None:
    """With every record priced the steps are not run again for the unrated file: it is written empty with
    the columns and types a file of unpriced records has."""
    tariff = Tariff(
        unit=PriceUnit.EVENT,
        destinations=(Destination("49", "Germany"),),
        rates=(Rate("Germany", Decimal("0.02"), date(2026, 1, 1)),),
    )
    agr = agreement(tariff, ServiceKind.SMS)
    start = 1_790_000_000
    priced = [{"b_number": "4930", "start_epoch": start, "volume": 1}]
    unpriced = [*priced, {"b_number": "3330", "start_epoch": start, "volume": 1}]
    for groups in (1, 2):
        results = {}
        for name, rows in (("priced", priced), ("unpriced", unpriced)):
            inputs = [
                (
                    [write_usage(tmp_path / f"{name}-{groups}-{g}.parquet", rows)],
                    tmp_path / f"{name}-{groups}-{g}",
                )
                for g in range(groups)
            ]
            results[name] = rate_groups(agr, SERVICE, inputs)[0]
        assert results["priced"].unrated == {}
        assert results["unpriced"].unrated == {"no_destination": 1}
        # Names and types (DuckDB marks a column REQUIRED where its data has no NULL: data, not schema).
        schemas = {
            k: [(f.name, f.type) for f in pq.read_schema(r.unrated_path)]  # type: ignore[arg-type]
            for k, r in results.items()
        }
        assert schemas["priced"] == schemas["unpriced"], groups


def test_the_usage_statistics_come_from_the_footers_as_a_scan_gives_them(tmp_path: Path) -> None:
    """The figures that size a rating's deck and arithmetic are read from the Parquet footers when every
    file has them, a column of NULLs (voice usage's volume) included, and equal a scan of the data."""
    import duckdb

    from o2o.rating.engine import STATS_SQL, _footer_stats

    start = 1_790_000_000
    rows = [{"b_number": "4930", "start_epoch": start + 7 * i, "duration_s": 30 + i} for i in range(50)]
    paths = [write_usage(tmp_path / "a.parquet", rows[:20]), write_usage(tmp_path / "b.parquet", rows[20:])]
    got = _footer_stats([pq.read_metadata(p) for p in paths])
    files = ", ".join(f"'{p}'" for p in paths)
    scan = STATS_SQL.replace("FROM usage", f"FROM read_parquet([{files}])")
    ((lo, hi, duration, volume, count),) = duckdb.connect().execute(scan).fetchall()
    assert volume is None  # every volume NULL
    assert got == (lo, hi, duration, 0, count)


@st.composite
def _line(draw: st.DrawFn, record_decimals: int | None) -> tuple[Any, list[list[Any]], bool]:
    kind = draw(st.sampled_from([ServiceKind.VOICE, ServiceKind.SMS, ServiceKind.DATA]))
    tz = draw(st.sampled_from(ZONES))
    # Mostly tariffs priced by rate (a tier-priced line is rated in a run of its own).
    tariff = draw(
        tariffs(kind) if draw(st.integers(0, 3)) == 0 else tariffs(kind).filter(lambda t: not t.tiers)
    )
    assume(_every_start_exists(tariff, tz))
    agr = agreement(tariff, kind, tz=tz, record_decimals=record_decimals, mode=Rounding.HALF_EVEN)
    groups = draw(st.lists(st.lists(usage(), min_size=1, max_size=2), min_size=1, max_size=2))
    return agr, groups, draw(st.booleans())


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(data=st.data(), record_decimals=st.sampled_from([None, 2, 6]))
def test_each_line_of_a_run_of_many_tariffs_gets_what_it_gets_alone(
    data: st.DataObject, record_decimals: int | None
) -> None:
    """`rate_lines`: lines of different tariffs, kinds, zones and periods rated in one run; each line's
    usages get exactly the rated, summary and unrated rows, the column types and the figures that
    `rate_groups` gives the line alone (and the test above: each usage what it gets alone)."""
    from o2o.rating.lines import LineRating, rate_lines

    lines = data.draw(st.lists(_line(record_decimals), min_size=2, max_size=4))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        jobs = []
        for n, (agr, groups, with_period) in enumerate(lines):
            inputs = [
                (_write(work / f"in-{n}-{g}", files), work / "lines" / f"l{n}" / f"g{g}")
                for g, files in enumerate(groups)
            ]
            jobs.append(LineRating(agr, SERVICE, inputs, Period(2026, 10) if with_period else None))
        together = rate_lines(jobs, usage_columns=data.draw(st.booleans(), label="usage_columns"))
        for n, job in enumerate(jobs):
            got_line = together[n]
            assert not isinstance(got_line, Exception), got_line
            keyed = "record_id" not in pq.read_schema(got_line[0].rated_path).names  # type: ignore[arg-type]
            outs = [(paths, work / "alone" / f"l{n}g{g}") for g, (paths, _) in enumerate(job.groups)]
            alone_line = rate_groups(job.agreement, SERVICE, outs, job.period, usage_columns=not keyed)
            for g, (got, alone) in enumerate(zip(got_line, alone_line, strict=True)):
                assert _figures(got) == _figures(alone), (n, g)
                for name in FILES:
                    ordered = name != "rated_path"
                    assert _rows(getattr(got, name), ordered) == _rows(getattr(alone, name), ordered), (
                        n,
                        g,
                        name,
                    )
                    types = [pq.read_schema(getattr(r, name)).types for r in (got, alone)]
                    assert types[0] == types[1], (n, g, name)
                assert [SummaryLine(*r) for r in got.summary_rows or ()] == read_summary(got.summary_path)


def test_a_line_whose_file_cannot_be_read_gets_its_own_error(tmp_path: Path) -> None:
    """A run of several lines that fails is not the end of its lines: each is rated alone, the line with
    the bad file gets its error and the others their results."""
    from o2o.rating.lines import LineRating, rate_lines

    tariff = Tariff(
        unit=PriceUnit.EVENT,
        destinations=(Destination("49", "Germany"),),
        rates=(Rate("Germany", Decimal("0.02"), date(2026, 1, 1)),),
    )
    agr = agreement(tariff, ServiceKind.SMS)
    rows = [{"b_number": "4930", "start_epoch": 1_790_000_000, "volume": 1}]
    good = write_usage(tmp_path / "good.parquet", rows)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(good.read_bytes()[:-40])  # a file cut short: its footer is gone
    jobs = [
        LineRating(agr, SERVICE, [([good], tmp_path / "a")]),
        LineRating(agr, SERVICE, [([bad], tmp_path / "b")]),
        LineRating(agr, SERVICE, [([good], tmp_path / "c")]),
    ]
    first, second, third = rate_lines(jobs)
    assert isinstance(second, Exception) and "bad.parquet" in str(second)
    assert not isinstance(first, Exception) and not isinstance(third, Exception)
    assert first[0].amount == third[0].amount == Decimal("0.02")
