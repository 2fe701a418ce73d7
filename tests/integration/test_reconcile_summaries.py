"""Reading rated summaries (the rating engine's summary.parquet) and aggregate-only declarations."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from o2o.domain.agreements import TolerancePolicy
from o2o.domain.errors import ImportRefusedError
from o2o.reconcile import compare_by_day, compare_summaries, read_summary, total_amounts, verdict


def test_rated_summary_against_an_aggregate_declaration(tmp_path: Path) -> None:
    rated = pa.table(
        {
            "service": ["voice-A-B", "voice-A-B"],
            "destination": ["UK mobile", "UK fixed"],
            "day": [date(2026, 10, 1), date(2026, 10, 1)],
            "events": pa.array([120, 30], pa.int64()),
            "billed_quantity": pa.array([7200, 1800], pa.int64()),
            "amount": pa.array([Decimal("101.250000"), Decimal("9.000000")], pa.decimal128(38, 6)),
        }
    )
    pq.write_table(rated, tmp_path / "summary.parquet")
    (tmp_path / "declared.csv").write_text(
        "service,destination,day,events,quantity,amount\n"
        "voice-A-B,UK mobile,2026-10-01,118,7080,99.56\n"
        "voice-A-B,UK fixed,2026-10-01,30,1800,9.00\n"
    )
    provider = read_summary(tmp_path / "summary.parquet")
    customer = read_summary(tmp_path / "declared.csv")
    assert provider[0].amount == Decimal("101.250000") and customer[0].billed_quantity == 7080
    lines = compare_summaries(provider, customer)
    mobile = next(line for line in lines if line.destination == "UK mobile")
    assert (mobile.events_difference, mobile.quantity_difference, mobile.amount_difference) == (
        2, 120, Decimal("1.690000"),
    )  # fmt: skip
    p, c = total_amounts(lines)
    v = verdict(p, c, TolerancePolicy(relative=Decimal("0.02")), compare_by_day(lines), currency="GBP")
    assert v.agreed and v.amount == Decimal("110.250000")  # 1.69 <= 2% of 110.25 = 2.205


def test_a_summary_without_amounts_or_columns(tmp_path: Path) -> None:
    (tmp_path / "counts.csv").write_text(
        "service,destination,day,events,quantity\nsms-A-B,UK,2026-10-02,40,40\n"
    )
    (line,) = read_summary(tmp_path / "counts.csv")
    assert line.amount is None and line.events == 40
    (tmp_path / "bad.csv").write_text("service,day,events\nsms,2026-10-02,4\n")
    with pytest.raises(ImportRefusedError, match="missing column"):
        read_summary(tmp_path / "bad.csv")


def test_summaries_read_on_a_reused_database_as_alone(tmp_path: Path) -> None:
    from o2o.reconcile import batch_connection

    table = {
        "service": ["sms-A-B"],
        "destination": ["UK"],
        "day": [date(2026, 10, 2)],
        "events": pa.array([40], pa.int64()),
        "billed_quantity": pa.array([40], pa.int64()),
    }
    pq.write_table(pa.table(table), tmp_path / "no-amount.parquet")
    amounts = pa.array([Decimal("1.2000000000")], pa.decimal128(38, 10))
    pq.write_table(pa.table({**table, "amount": amounts}), tmp_path / "summary.parquet")
    (tmp_path / "bad.csv").write_text("service,day,events\nsms,2026-10-02,4\n")
    con = batch_connection(tmp_path / "spill")
    try:
        for name in ("summary.parquet", "no-amount.parquet", "summary.parquet"):
            assert read_summary(tmp_path / name, con) == read_summary(tmp_path / name)
        with pytest.raises(ImportRefusedError, match=r"missing column\(s\) destination, quantity"):
            read_summary(tmp_path / "bad.csv", con)
    finally:
        con.close()
    (rated,) = read_summary(tmp_path / "summary.parquet")
    assert rated.amount == Decimal("1.2000000000") and str(rated.amount) == "1.2000000000"
    (counted,) = read_summary(tmp_path / "no-amount.parquet")
    assert counted.amount is None and counted.billed_quantity == 40
