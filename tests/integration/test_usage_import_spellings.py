"""Usage normalisation of plain and unusual spellings: each takes the same value whichever path it takes.

The import has fast paths for plain text (digits, `YYYY-MM-DDTHH:MM:SSZ`) and general rules for the
rest (surrounding spaces, other offsets, punctuation); these rows go through both.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from o2o.domain.operators import NumberingPlan
from o2o.domain.tariffs import ServiceKind
from o2o.lake import usage_import
from o2o.lake.usage_import import ImportSpec, normalise_usage

START, END = 1790812800, 1793491200  # 2026-10 in UTC
T0 = 1790856005  # 2026-10-01T12:00:05Z
HEADER = "record_id,service,a_number,b_number,start_time,duration_s,volume,route"
LINES = [
    "r1,voice-X,+447700900123,07700900124,2026-10-01T12:00:05Z,60,,T1",
    "r2, voice-X ,447700900123 ,(0770) 090-0124,  2026-10-01T12:00:05Z ,  61 , 7 ,T1",
    "r3,,0044 7700 900123,+44.7700.900124,2026-10-01 14:00:05+02,62,0,T2",
    "r4,voice-X,447700900123,447700900124,2026-10-01T11:00:05.000-0100,63,,T2",
    "r5,voice-X,447700900123,447700900124,2026-10-01T12:00:05.750+00:00,-1,,T2",
    "r6,voice-X,447700900123,447700900124,2026-10-01T12:00:05,64,,T2",
    "r7,voice-Y,447700900123,447700900124,2026-10-01T12:00:05Z,65,,T2",
    "r8,voice-X,447700900123,447700900124,2026-10-01T12:00:05Z, 6 6,,T2",
    "r9,voice-X,447700900123,447700900124,2026-10-01T12:00:05Z,66, -3 ,T2",
    "r10,voice-X,4477009001x3,447700900124,2026-10-01T12:00:05Z,67,,T2",
    "r11,voice-X,447700900123,447700900124,2026-11-01T00:00:00Z,68,,T2",
]


def _run(tmp_path: Path, kind: ServiceKind) -> tuple[list[tuple[object, ...]], dict[int, str]]:
    src = tmp_path / "u.csv"
    src.write_text(HEADER + "\n" + "\n".join(LINES) + "\n", encoding="utf-8")
    spec = ImportSpec("voice-X", kind, NumberingPlan("44"), START, END, "2026-10")
    work = tmp_path / "work"
    work.mkdir()
    out, rejects_csv = tmp_path / "u.parquet", tmp_path / "r.csv"
    normalise_usage(src, "csv", spec, out, rejects_csv, work)
    rows = duckdb.execute(
        "SELECT line, a_number, b_number, start_epoch, duration_s, volume FROM read_parquet(?) ORDER BY line",
        [str(out)],
    ).fetchall()
    with rejects_csv.open(newline="", encoding="utf-8") as fh:
        reasons = {int(r["line"]): r["reason"] for r in csv.DictReader(fh)}
    return rows, reasons


@pytest.fixture(params=["arrow", "duckdb"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which reader takes the file apart: Arrow (a plain CSV) or DuckDB (what it is left to otherwise)."""
    if request.param == "duckdb":
        monkeypatch.setattr(usage_import, "plain_header", lambda path: None)
    return str(request.param)


def test_plain_and_unusual_spellings_take_the_same_values(tmp_path: Path, reader: str) -> None:
    rows, reasons = _run(tmp_path, ServiceKind.VOICE)
    a, b = "447700900123", "447700900124"
    assert rows == [
        (2, a, b, T0, 60, 0),
        (3, a, b, T0, 61, 7),
        (4, a, b, T0, 62, 0),
        (5, a, b, T0, 63, 0),
    ]
    assert reasons == {
        6: "duration_s: negative: -1",
        7: "start_time: not an ISO-8601 time with a UTC offset: 2026-10-01T12:00:05",
        8: "service: voice-Y is not the declared service voice-X",
        9: "duration_s: not an integer: 6 6",
        10: "volume: negative: -3",
        11: "a_number: not a phone number: 4477009001x3",
        12: "start_time: outside period 2026-10: 2026-11-01T00:00:00Z",
    }


def test_a_missing_volume_counts_one_message_for_sms(tmp_path: Path, reader: str) -> None:
    rows, _ = _run(tmp_path, ServiceKind.SMS)
    assert [r[5] for r in rows] == [1, 7, 0, 1]


def test_a_plain_csv_is_read_by_arrow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The plain file above never reaches DuckDB's reader (so the Arrow cases above are Arrow's)."""

    def refuse(*args: object) -> None:
        raise AssertionError("read by DuckDB")

    monkeypatch.setattr(usage_import, "_validated_by_duckdb", refuse)
    rows, _ = _run(tmp_path, ServiceKind.VOICE)
    assert len(rows) == 4


# --- times Arrow reads at once take the value the SQL rule gives them ------------------------------------


_TIME_PIECES = st.tuples(
    st.sampled_from(
        ["2026-10-01", "2026-02-29", "2024-02-29", "2026-1-01", "20261001", "0000-10-01", "2026-13-01"]
    ),
    st.sampled_from(["T", " ", "t", "", "  "]),
    st.sampled_from(["12:00:05", "00:00", "23:59:60", "24:00:00", "12", "12:00:05.750", "1:00:05", "120005"]),
    st.sampled_from(
        ["Z", "z", "+02", "+0200", "+02:00", "-05:30", "+24:00", "+00:60", "+2:00", "", " Z", "+9999"]
    ),
    st.sampled_from(["", " ", "  "]),
)


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(_TIME_PIECES, min_size=1, max_size=4))
def test_times_arrow_reads_take_the_value_of_the_sql_rule(pieces: list[tuple[str, ...]]) -> None:
    texts = [lead + date + sep + clock + zone for date, sep, clock, zone, lead in pieces]
    epochs = usage_import._arrow_epochs(pa.chunked_array([pa.array(texts)]))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    sql = usage_import._sql_epoch("trim(start_raw)")
    expected = [
        con.execute(f"SELECT {sql} FROM (SELECT ?::VARCHAR AS start_raw)", [t]).fetchone()[0] for t in texts
    ]
    if epochs is not None:  # Arrow read them all: the same values, none missing
        assert epochs.to_pylist() == expected
        assert None not in expected


_INTEGER_TEXTS = st.one_of(
    st.integers(-(10**19), 10**19).map(str),
    st.text(alphabet="0123456789-+ .e_x\u0663", max_size=20),
    st.sampled_from(
        ["007", "-0", "00", "+5", " 5", "5 ", "1e3", "123456789012345678", "1234567890123456789"]
    ),
)


@settings(max_examples=400, deadline=None)
@given(texts=st.lists(st.none() | _INTEGER_TEXTS, min_size=1, max_size=4))
def test_integers_arrow_reads_take_the_value_of_the_sql_rule(texts: list[str | None]) -> None:
    values = usage_import._arrow_integers(pa.chunked_array([pa.array(texts, pa.string())]))
    con = duckdb.connect()
    sql = usage_import._integer("duration_in", "trim(coalesce(duration_in, '0'))", "0")
    expected = [
        con.execute(f"SELECT {sql} FROM (SELECT ?::VARCHAR AS duration_in)", [t]).fetchone()[0] for t in texts
    ]
    if values is not None:  # Arrow read them all: the same values (a missing one takes the default)
        assert [0 if v is None else v for v in values.to_pylist()] == expected
        assert None not in expected
