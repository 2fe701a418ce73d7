"""Usage files (CSV or Parquet, raw numbers, ISO times) to canonical usage for the rating engine."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from o2o.domain.errors import ImportRefusedError
from o2o.domain.operators import NumberingPlan
from o2o.rating import usage_file_to_canonical

RU = NumberingPlan("7", "8", "810")


def test_csv_numbers_by_the_plan_times_to_epoch_and_lines_counted_from_two(tmp_path: Path) -> None:
    src = tmp_path / "u.csv"
    src.write_text(
        "record_id,service,a_number,b_number,start_time,duration_s,volume,route\n"
        "a,voice,8 916 000-00-01,810 49 30 1234567,2026-10-01T12:00:05Z,60,,r1\n"
        "b,,+7 (916) 0000002,8104930,2026-10-01T15:00:05+03:00,x,,\n"
        "c,voice,not a number,12,yesterday,5,7,\n",
        encoding="utf-8",
    )
    out = tmp_path / "c.parquet"
    assert usage_file_to_canonical(src, RU, out) == 3
    rows = pq.read_table(out).to_pylist()
    assert [r["line"] for r in rows] == [2, 3, 4]
    a, b, c = rows
    assert (a["a_number"], a["b_number"], a["b_raw"]) == ("79160000001", "49301234567", "810 49 30 1234567")
    assert a["start_epoch"] == b["start_epoch"] == 1_790_856_005
    assert (a["duration_s"], a["route"]) == (60, "r1")
    assert (b["service"], b["duration_s"]) == (None, None)  # empty service: the rated one; bad duration: NULL
    assert (c["a_number"], c["b_number"], c["start_epoch"], c["volume"]) == (None, None, None, 7)


def test_parquet_input_with_iso_times_and_a_lake_file_with_epochs(tmp_path: Path) -> None:
    raw = tmp_path / "raw.parquet"
    pq.write_table(
        pa.table(
            {"a_number": ["89160000001"], "b_number": ["+4930"], "start_time": ["2026-10-01T00:00:00Z"]}
        ),
        raw,
    )
    out = tmp_path / "c1.parquet"
    assert usage_file_to_canonical(raw, RU, out) == 1
    row = pq.read_table(out).to_pylist()[0]
    assert (row["line"], row["a_number"], row["b_number"], row["start_epoch"]) == (
        1,
        "79160000001",
        "4930",
        1_790_812_800,
    )
    lake = tmp_path / "lake.parquet"
    pq.write_table(
        pa.table({"a_number": ["79160000001"], "b_number": ["4930"], "start_epoch": [1_790_812_800]}), lake
    )
    assert usage_file_to_canonical(lake, RU, tmp_path / "c2.parquet") == 1
    assert pq.read_table(tmp_path / "c2.parquet").to_pylist()[0]["start_epoch"] == 1_790_812_800


def test_missing_columns_refuse_the_file(tmp_path: Path) -> None:
    src = tmp_path / "u.csv"
    src.write_text("a_number,b_number\n1,2\n", encoding="utf-8")
    with pytest.raises(ImportRefusedError, match="missing column"):
        usage_file_to_canonical(src, RU, tmp_path / "c.parquet")
