"""The inputs of record matching: number keys, Arrow's and DuckDB's readers, record id typing, CSV lines.

A plain comma CSV is read by Arrow (`arrow_input`), anything else by DuckDB (`sources`); both must give
the same keys, the same record ids and the true CSV line of every record, however the file is chunked.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from o2o.domain.errors import ImportRefusedError
from o2o.domain.numbers import normalise_number, sql_clean, sql_normalise
from o2o.domain.operators import NumberingPlan
from o2o.reconcile import MatchOptions, MatchSummary, arrow_input, file_match, match_files, match_sql, sources

BASE = 1_790_856_000  # 2026-10-01T12:00:00Z
HEADER = ("record_id", "a_number", "b_number", "start_time", "duration_s")
Row = tuple[str, str, str, int | None, int | None]  # record_id, a, b, epoch, duration

# name: (delimiter, start_time format); Arrow reads the first two, DuckDB the others.
FORMATS = {
    "plain": (",", "%Y-%m-%dT%H:%M:%SZ"),
    "utc_offset": (",", "%Y-%m-%dT%H:%M:%S+00:00"),
    "fractions": (",", "%Y-%m-%dT%H:%M:%S.000Z"),
    "no_offset": (",", "%Y-%m-%dT%H:%M:%S"),
    "semicolon": (";", "%Y-%m-%dT%H:%M:%SZ"),
}
ARROW_FORMATS = {"plain", "utc_offset"}
UK, DE = NumberingPlan("44"), NumberingPlan("49")


def write_csv(path: Path, rows: Sequence[Row], fmt: str = "plain") -> Path:
    delimiter, time_format = FORMATS[fmt]
    with path.open("w", newline="") as fh:
        w = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
        w.writerow(HEADER)
        for rid, a, b, epoch, dur in rows:
            start = "" if epoch is None else datetime.fromtimestamp(epoch, UTC).strftime(time_format)
            w.writerow((rid, a, b, start, "" if dur is None else dur))
    return path


@pytest.fixture
def duckdb_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files DuckDB read (the others were read by Arrow)."""
    names: list[str] = []
    real = sources._duckdb_raw_batches

    def spy(con: Any, side: str, path: Path) -> Iterator[pa.RecordBatch]:
        names.append(Path(path).name)
        return real(con, side, path)

    monkeypatch.setattr(sources, "_duckdb_raw_batches", spy)
    return names


def _rows(path: Path, key: Sequence[str]) -> list[dict[str, Any]]:
    return sorted(pq.read_table(path).to_pylist(), key=lambda r: tuple(r[k] for k in key))


def outputs(out: Path) -> dict[str, Any]:
    """Every detail file but daily (compared through the summary), rows in line order, and column types."""
    files = {
        "matches": ("ours_line",),
        "only_ours": ("line",),
        "only_theirs": ("line",),
        "duplicates": ("side", "line"),
    }
    got: dict[str, Any] = {name: _rows(out / f"{name}.parquet", key) for name, key in files.items()}
    got["types"] = {
        name: {f.name: str(f.type) for f in pq.read_schema(out / f"{name}.parquet")} for name in files
    }
    return got


def match(ours: Path, theirs: Path, out: Path) -> tuple[MatchSummary, dict[str, Any]]:
    summary = match_files(ours, theirs, MatchOptions(ours_plan=UK, theirs_plan=DE), out)
    return summary, outputs(out)


# --- 1. number keys: Arrow compute functions against the SQL and Python references -------------------

PLANS = [
    NumberingPlan("44"),
    NumberingPlan("49", trunk_prefix=""),
    NumberingPlan(country_code="0", trunk_prefix=""),
    NumberingPlan("1", trunk_prefix="1", international_prefix="011"),
    NumberingPlan("7", trunk_prefix="8", international_prefix="810"),
    NumberingPlan("39", trunk_prefix="", international_prefix=""),
]
ASCII_PIECES = ["+", "00", "0", "1", " ", "  ", "-", "(", ")", ".", "/", "\t", "a", "Z", "x9", "011", "810"]
OTHER_PIECES = [
    "\v",
    "\n",
    "\r",
    "\f",
    "\x1f",
    "\u00a0",
    "\u2003",
    "\u0663",
    "\uff11",
    "\u0301",
    "é",
    "'",
    "%",
]
ascii_texts = st.lists(
    st.one_of(st.sampled_from(ASCII_PIECES), st.text("0123456789", min_size=1, max_size=20)), max_size=6
).map("".join)
any_texts = st.lists(
    st.one_of(ascii_texts, st.sampled_from(OTHER_PIECES), st.text(max_size=3)), max_size=3
).map("".join)


def sql_keys(texts: list[str | None], plan: NumberingPlan) -> list[int | None]:
    """DuckDB's evaluation of the reference SQL text, per text in order."""
    con = duckdb.connect()
    try:
        con.register("texts", pa.table({"i": list(range(len(texts))), "x": pa.array(texts, pa.string())}))
        key = f"CAST('1' || {sql_normalise('c', plan)} AS BIGINT)"
        rows = con.execute(f"SELECT {key} FROM (SELECT i, {sql_clean('x')} AS c FROM texts) ORDER BY i")
        return [r[0] for r in rows.fetchall()]
    finally:
        con.close()


def python_key(text: str, plan: NumberingPlan) -> int | None:
    digits = normalise_number(text, plan)
    return None if digits is None else int("1" + digits)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(st.none(), ascii_texts, any_texts), min_size=1, max_size=12),
    st.sampled_from(PLANS),
)
def test_number_keys_equal_the_sql_reference_for_any_text(
    texts: list[str | None], plan: NumberingPlan
) -> None:
    got = arrow_input.number_keys(pa.array(texts, pa.string()), plan).to_pylist()
    assert got == sql_keys(texts, plan), list(zip(texts, got, strict=True))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.lists(
            st.one_of(st.none(), st.sampled_from(["+447700900123", "07700 900123", "x"]), ascii_texts),
            max_size=8,
        ),
        min_size=1,
        max_size=5,
    ),
    st.sampled_from(PLANS),
    st.sampled_from([0, 3, 1 << 20]),
)
def test_a_keyer_remembering_earlier_batches_keys_each_batch_as_alone(
    batches: list[list[str | None]], plan: NumberingPlan, memo: int
) -> None:
    """Texts seen in an earlier batch are taken from the memo (up to `memo` of them), new ones normalised;
    either way each batch's keys are those it has on its own, in its order, chunked or not."""
    keyer = arrow_input.NumberKeyer(plan)
    keyer.MEMO_TEXTS = memo
    for i, texts in enumerate(batches):
        column = pa.array(texts, pa.string())
        given_ = pa.chunked_array([column[:2], column[2:]], pa.string()) if i % 2 else column
        assert keyer(given_).to_pylist() == sql_keys(list(texts), plan)
    assert len(keyer.texts) <= memo


@settings(max_examples=200, deadline=None)
@given(st.lists(ascii_texts, min_size=1, max_size=12), st.sampled_from(PLANS))
def test_number_keys_equal_the_python_reference_for_ascii_text(texts: list[str], plan: NumberingPlan) -> None:
    got = arrow_input.number_keys(pa.array(texts, pa.string()), plan).to_pylist()
    assert got == [python_key(t, plan) for t in texts], list(zip(texts, got, strict=True))


@pytest.mark.parametrize(
    ("text", "plan", "key"),
    [
        ("020 7946 0001", UK, 1442079460001),
        ("+44 (20) 7946-0001", UK, 1442079460001),
        ("0044.20/7946\t0001", UK, 1442079460001),
        ("020 7946 0001", NumberingPlan(country_code="0", trunk_prefix=""), 102079460001),
        ("00442079460001", NumberingPlan("49", trunk_prefix=""), 1442079460001),
        ("12", UK, None),
        ("+" + "9" * 15, UK, int("1" + "9" * 15)),
        ("+" + "9" * 16, UK, None),
        ("", UK, None),
        ("+", UK, None),
        ("0", UK, None),
        ("44 2O79", UK, None),
    ],
)
def test_number_keys_of_known_spellings(text: str, plan: NumberingPlan, key: int | None) -> None:
    assert arrow_input.number_keys(pa.array([text, None]), plan).to_pylist() == [key, None]
    assert sql_keys([text], plan) == [key]


# --- 2. the Arrow and the DuckDB reader give the same matching ----------------------------------------

OURS: list[Row] = [
    ("o1", "020 7946 0001", "+49 30 1234567", BASE, 60),
    ("o2", "(020) 7946-0002", "0049301234567", BASE + 100, 30),
    ("o3", "+44 20 7946 0003", "0049 30 1234567", BASE + 200, 45),
    ("o4", "02079460004", "+49301234567", BASE + 300, 10),
    ("o5", "02079460001", "+49 30 1234567", BASE, 60),  # duplicate of line 2
    ("o6", "not a number", "+49301234567", BASE + 400, 5),
    ("o7", "020 7946 0007", "+49301234567", BASE + 500, 20),
    ("o8", "", "", BASE + 600, 3),
    ("o9", "020 7946 0001", "+49 30 1234567", BASE + 5, 60),  # a redial
    ("o10", "020 7946 0010", "+49301234567", None, 7),  # no start time
    ("o11", "020 7946 0011", "+49301234567", BASE + 800, None),  # no duration
]
THEIRS: list[Row] = [
    ("t1", "0044 20 7946 0001", "030 1234567", BASE + 1, 60),
    ("t2", "+44 20 7946 0002", "030/1234567", BASE + 100, 30),
    ("t3", "004420 79460003", "0301234567", BASE + 202, 50),
    ("t4", "0044 20 7946 0007", "+49301234567", BASE + 503, 21),
    ("t5", "0044 20 7946 0001", "030 1234567", BASE + 6, 60),
    ("t6", "+44 20 7946 0099", "030 1234567", BASE + 700, 9),
    ("t7", "+44 20 7946 0002", "030-1234567", BASE + 100, 30),  # duplicate of line 3
    ("", "0044 20 7946 0011", "030 1234567", BASE + 801, 4),
]


@pytest.mark.parametrize("fmt", sorted(set(FORMATS) - {"plain"}))
def test_duckdb_reads_the_same_records_as_arrow(fmt: str, tmp_path: Path, duckdb_reads: list[str]) -> None:
    plain = match(write_csv(tmp_path / "o.csv", OURS), write_csv(tmp_path / "t.csv", THEIRS), tmp_path / "a")
    assert duckdb_reads == []
    other = match(
        write_csv(tmp_path / f"o_{fmt}.csv", OURS, fmt),
        write_csv(tmp_path / f"t_{fmt}.csv", THEIRS, fmt),
        tmp_path / "b",
    )
    assert sorted(duckdb_reads) == ([] if fmt in ARROW_FORMATS else [f"o_{fmt}.csv", f"t_{fmt}.csv"])
    assert other[0].as_report() == plain[0].as_report()
    assert other[1] == plain[1]
    pairs = {(m["ours_line"], m["theirs_line"], m["class"]) for m in plain[1]["matches"]}
    assert pairs == {
        (2, 2, "exact"),
        (3, 3, "exact"),
        (4, 4, "duration_mismatch"),
        (8, 5, "partial"),
        (10, 6, "exact"),
        (12, 9, "duration_mismatch"),
    }


hours = st.integers(0, 3)
spellings = st.sampled_from(["+44 20 7946 00{:02d}", "0044{:02d}", "020-7946-00{:02d}", "(020) 794600{:02d}"])


@st.composite
def call_rows(draw: st.DrawFn, prefix: str) -> list[Row]:
    drawn = draw(st.lists(st.tuples(st.integers(0, 5), spellings, hours, st.integers(0, 3)), max_size=8))
    return [
        (f"{prefix}{i}", spelling.format(a), "+49 30 1234567", BASE + 2 * t, d)
        for i, (a, spelling, t, d) in enumerate(drawn)
    ]


@settings(max_examples=10, deadline=None)
@given(ours=call_rows("o"), theirs=call_rows("t"), fmt=st.sampled_from(sorted(set(FORMATS) - ARROW_FORMATS)))
def test_any_pair_of_files_matches_alike_through_either_reader(
    ours: list[Row], theirs: list[Row], fmt: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    d = tmp_path_factory.mktemp("either")
    plain = match(write_csv(d / "o.csv", ours), write_csv(d / "t.csv", theirs), d / "a")
    other = match(write_csv(d / "o2.csv", ours, fmt), write_csv(d / "t2.csv", theirs, fmt), d / "b")
    assert other[0].as_report() == plain[0].as_report()
    assert other[1] == plain[1]


def test_the_cli_reports_the_same_for_a_semicolon_file(cli: Any, tmp_path: Path) -> None:
    reports = []
    for fmt in ("plain", "semicolon"):
        ours = write_csv(tmp_path / f"o_{fmt}.csv", OURS, fmt)
        theirs = write_csv(tmp_path / f"t_{fmt}.csv", THEIRS, fmt)
        r = cli("recon", "match", ours, theirs, "--ours-country", "44", "--theirs-country", "49",
                "--out", tmp_path / fmt, "--json")  # fmt: skip
        assert r.code == 0, r.err
        reports.append((r.json(), outputs(tmp_path / fmt)))
    assert reports[0] == reports[1]
    assert reports[0][0]["matched"] == 6 and reports[0][0]["duplicates_theirs"] == 1


# --- 3. record ids: BIGINT when every id of a file is a plain integer, else the exact texts -----------


def _calls(ids: Sequence[str]) -> list[Row]:
    return [(rid, f"+44207946{i:04d}", "+49301234567", BASE + 60 * i, 30) for i, rid in enumerate(ids)]


def _ids_by_line(rows: list[dict[str, Any]], line: str, rid: str) -> dict[int, Any]:
    return {r[line]: r[rid] for r in rows}


THEIR_IDS = ["100", "101", "102"]  # plain integers: their ids stay BIGINT whatever ours are


@pytest.mark.parametrize("fmt", ["plain", "fractions"])
@pytest.mark.parametrize(
    ("ids", "integers"),
    [
        (["1", "2", "30", "0", "999999999999999999"], True),
        (["007", "2", "3"], False),
        (["A1", "2", "3"], False),
        (["1", "1234567890123456789", "3"], False),  # 19 digits
        (["-5", "6", "7"], False),
        (["+5", "6", "7"], False),
        (["1.0", "2", "3"], False),
        (["\u0663", "2", "3"], False),  # an Arabic-Indic digit
        (["00", "2", "3"], False),
    ],
)
def test_record_ids_are_integers_only_when_all_are(
    ids: list[str], integers: bool, fmt: str, tmp_path: Path
) -> None:
    ours = write_csv(tmp_path / "o.csv", _calls(ids), fmt)
    theirs = write_csv(tmp_path / "t.csv", _calls(THEIR_IDS), fmt)
    _, got = match(ours, theirs, tmp_path / "out")
    kind = "int64" if integers else "string"
    assert got["types"]["matches"]["ours_record_id"] == kind
    assert got["types"]["only_ours"]["record_id"] == kind
    assert got["types"]["matches"]["theirs_record_id"] == "int64"
    expected = {i + 2: int(rid) if integers else rid for i, rid in enumerate(ids)}
    seen = _ids_by_line(got["matches"], "ours_line", "ours_record_id")
    seen.update(_ids_by_line(got["only_ours"], "line", "record_id"))
    assert seen == expected
    assert _ids_by_line(got["matches"], "theirs_line", "theirs_record_id") == {
        i + 2: int(rid) for i, rid in enumerate(THEIR_IDS)
    }


@pytest.mark.parametrize("fmt", ["plain", "fractions"])
@pytest.mark.parametrize(
    ("ids", "text"),
    [
        (["1", "2", "3", "X9", "5"], True),
        (["1", "2", "3", "4", "05"], True),
        (["1", "2", "3", "4", "12345678901234567890"], True),
        (["1", "2", "3", "4", "5"], False),
        (["1", "2", "", "", "5"], None),  # an all-empty chunk with CHUNK_ROWS 2
        (["", "", "3", "4", "5"], None),
    ],
)
@pytest.mark.parametrize("held", ["arrow", "duckdb"])
def test_record_id_typing_does_not_depend_on_chunks(
    ids: list[str],
    text: bool | None,
    fmt: str,
    held: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ours = write_csv(tmp_path / "o.csv", _calls(ids), fmt)
    theirs = write_csv(tmp_path / "t.csv", _calls(THEIR_IDS), fmt)
    whole = match(ours, theirs, tmp_path / "whole")
    monkeypatch.setattr(sources, "CHUNK_ROWS", 2)
    monkeypatch.setattr(arrow_input, "BLOCK_BYTES", 100)
    inserts: list[int] = []
    if held == "duckdb":  # no memory for Arrow tables: every chunk goes into the DuckDB tables
        monkeypatch.setattr(sources, "memory_bytes", lambda text: 0)
        insert = sources._Sink._insert
        monkeypatch.setattr(sources._Sink, "_insert", lambda self, t: (inserts.append(1), insert(self, t))[1])
    chunked = match(ours, theirs, tmp_path / "chunked")
    assert (len(inserts) >= 5) == (held == "duckdb")  # 3 chunks of ours, 2 of theirs
    assert chunked[0].as_report() == whole[0].as_report()
    assert chunked[1] == whole[1]
    if text is not None:
        assert chunked[1]["types"]["matches"]["ours_record_id"] == ("string" if text else "int64")
    typed: Any = str if chunked[1]["types"]["matches"]["ours_record_id"] == "string" else int
    seen = _ids_by_line(chunked[1]["matches"], "ours_line", "ours_record_id")
    seen.update(_ids_by_line(chunked[1]["only_ours"], "line", "record_id"))
    assert seen == {i + 2: typed(rid) if rid else None for i, rid in enumerate(ids)}


@pytest.mark.parametrize("fmt", ["plain", "fractions"])
def test_duplicates_keep_text_ids(fmt: str, tmp_path: Path) -> None:
    ours = write_csv(tmp_path / "o.csv", _calls(["1", "2", "3"]) + _calls(["4"]), fmt)
    theirs = write_csv(tmp_path / "t.csv", _calls(["7", "8"]) + _calls(["9"])[:1], fmt)
    _, got = match(ours, theirs, tmp_path / "out")
    assert got["types"]["duplicates"]["record_id"] == "string"
    assert got["types"]["matches"]["ours_record_id"] == "int64"
    assert [(d["side"], d["line"], d["record_id"]) for d in got["duplicates"]] == [
        ("ours", 5, "4"),
        ("theirs", 4, "9"),
    ]


# --- 4. lines: the true CSV line of every record, however many blocks and chunks ---------------------


def _shuffled_pairs(n: int) -> tuple[list[Row], list[Row], set[tuple[int, int]]]:
    """Ours: n calls, a duplicate of the third and one call only ours; theirs: the same n calls in another
    order and one call only theirs. Ids are 1000 + line (ours) and 5000 + line (theirs)."""
    calls = [(f"+44207946{i:04d}", "+49301234567", BASE + 7 * i, 20 + i) for i in range(n)]
    ours_calls = [*calls, calls[2], ("+442079469999", "+49301234567", BASE, 5)]
    order = [(i * 5) % n for i in range(n)]  # n coprime with 5: a permutation
    theirs_calls = [*(calls[i] for i in order), ("+442079468888", "+49301234567", BASE, 5)]
    ours: list[Row] = [(str(1000 + line), *c) for line, c in enumerate(ours_calls, start=2)]
    theirs: list[Row] = [(str(5000 + line), *c) for line, c in enumerate(theirs_calls, start=2)]
    pairs = {(i + 2, order.index(i) + 2) for i in range(n)}
    return ours, theirs, pairs


@pytest.mark.parametrize("fmt", ["plain", "fractions", "semicolon"])
def test_lines_are_true_csv_lines_in_many_blocks_and_chunks(
    fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, duckdb_reads: list[str]
) -> None:
    n = 13
    ours_rows, theirs_rows, pairs = _shuffled_pairs(n)
    batches: list[int] = []
    real_batches = arrow_input.csv_batches

    def counted(path: Path, columns: list[str]) -> Iterator[pa.RecordBatch]:
        for batch in real_batches(path, columns):
            batches.append(batch.num_rows)
            yield batch

    monkeypatch.setattr(sources, "csv_batches", counted)
    monkeypatch.setattr(sources, "CHUNK_ROWS", 2)
    monkeypatch.setattr(arrow_input, "BLOCK_BYTES", 100)
    ours = write_csv(tmp_path / "o.csv", ours_rows, fmt)
    theirs = write_csv(tmp_path / "t.csv", theirs_rows, fmt)
    summary, got = match(ours, theirs, tmp_path / "out")
    if fmt in ARROW_FORMATS:
        assert duckdb_reads == [] and len(batches) > 4 and sum(batches) == len(ours_rows) + len(theirs_rows)
    else:
        assert sorted(duckdb_reads) == ["o.csv", "t.csv"]
    assert (summary.matched, summary.only_ours, summary.only_theirs, summary.duplicates_ours) == (n, 1, 1, 1)
    assert {(m["ours_line"], m["theirs_line"]) for m in got["matches"]} == pairs
    for m in got["matches"]:
        assert (m["ours_record_id"], m["theirs_record_id"]) == (
            1000 + m["ours_line"],
            5000 + m["theirs_line"],
        )
        assert m["class"] == "exact"
    assert [(r["line"], r["record_id"]) for r in got["only_ours"]] == [(n + 3, 1000 + n + 3)]
    assert [(r["line"], r["record_id"]) for r in got["only_theirs"]] == [(n + 2, 5000 + n + 2)]
    assert [(d["side"], d["line"], d["record_id"]) for d in got["duplicates"]] == [
        ("ours", n + 2, str(1000 + n + 2))
    ]


# --- 5. empty lines: not records, but counted in the lines of the records after them -----------------


def _with_blank_lines(path: Path, fmt: str, ending: str) -> tuple[Path, dict[str, int]]:
    """A CSV with empty lines among its records (and at its end); the line of each record id."""
    _, time_format = FORMATS[fmt]
    rows = _calls(["1", "2", "3", "4"])
    text, lines, line = [",".join(HEADER)], {}, 1
    for i, (rid, a, b, epoch, dur) in enumerate(rows):
        if i in (0, 2):  # empty lines before the first and the third record
            text.append("")
            line += 1
        start = datetime.fromtimestamp(epoch or 0, UTC).strftime(time_format)
        text.append(",".join((rid, a, b, start, str(dur))))
        line += 1
        lines[rid] = line
    text.append(",,,,")  # a line of empty fields is a record (which cannot match)
    lines["empty fields"] = line + 1
    path.write_bytes((ending.join(text) + ending + ending).encode())  # and an empty last line
    return path, lines


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
@pytest.mark.parametrize("fmt", ["plain", "fractions"])
def test_empty_lines_are_skipped_and_counted_in_lines(
    fmt: str, ending: str, tmp_path: Path, duckdb_reads: list[str]
) -> None:
    ours, lines = _with_blank_lines(tmp_path / "o.csv", fmt, ending)
    theirs = write_csv(tmp_path / "t.csv", _calls(THEIR_IDS), fmt)
    summary, got = match(ours, theirs, tmp_path / "out")
    assert ("o.csv" in duckdb_reads) == (fmt not in ARROW_FORMATS)
    assert summary.ours == 5  # four calls and the line of empty fields; no empty line is a record
    seen = _ids_by_line(got["matches"], "ours_line", "ours_record_id")
    seen.update(_ids_by_line(got["only_ours"], "line", "record_id"))
    assert seen == {lines["1"]: 1, lines["2"]: 2, lines["3"]: 3, lines["4"]: 4, lines["empty fields"]: None}


@pytest.mark.parametrize(
    ("text", "size"),
    [("1500MB", 1_500_000_000), ("1.5GiB", 3 << 29), (" 2 GB ", 2_000_000_000), ("512KiB", 1 << 19),
     ("80%", 0), ("lots", 0), ("", 0)],
)  # fmt: skip
def test_memory_sizes_are_read_as_duckdb_reads_them(text: str, size: int) -> None:
    """Bytes of a memory limit (0 when it is not a size: no side is then held as an Arrow table)."""
    assert sources.memory_bytes(text) == size


@pytest.mark.parametrize("fmt", ["plain", "fractions"])
def test_a_byte_order_mark_changes_nothing(fmt: str, tmp_path: Path) -> None:
    """A file starting with a UTF-8 byte-order mark (spreadsheet exports) reads as the same records."""
    ours = write_csv(tmp_path / "o.csv", _calls(["7", "8", "9"]), fmt)
    theirs = write_csv(tmp_path / "t.csv", _calls(THEIR_IDS), fmt)
    plain = match(ours, theirs, tmp_path / "plain")
    marked = tmp_path / "o-bom.csv"
    marked.write_bytes(b"\xef\xbb\xbf" + ours.read_bytes())
    with_mark = match(marked, theirs, tmp_path / "bom")
    assert with_mark[0].as_report() == plain[0].as_report()
    assert with_mark[1] == plain[1]
    assert sorted(r["ours_record_id"] for r in with_mark[1]["matches"]) == [7, 8, 9]


# --- degrees: counted with NumPy or by the portable aggregate, the same records -------------------------

edge_lists = st.lists(st.tuples(st.none() | st.integers(0, 40), st.none() | st.integers(0, 40)), max_size=60)


def _multi(con: Any) -> list[tuple[int | None, int | None]]:
    rows = con.execute(
        "SELECT o_line, t_line FROM multi ORDER BY o_line NULLS LAST, t_line NULLS LAST"
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


@settings(max_examples=60, deadline=None)
@given(edges=edge_lists)
def test_degrees_counted_with_numpy_equal_the_sql_aggregate(
    edges: list[tuple[int | None, int | None]],
) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE cand (o_line BIGINT, t_line BIGINT)")
    if edges:
        con.executemany("INSERT INTO cand VALUES (?, ?)", edges)
    con.execute(match_sql.multi_step("cand"))
    reference = _multi(con)
    con.execute("DROP TABLE multi")
    assert sources.multi_by_counting(con, "cand", match_sql.BOTH)
    assert _multi(con) == reference


def test_degrees_beyond_the_dense_limit_are_left_to_sql() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE cand AS SELECT * FROM (VALUES (1, 2), (1, 3), (-1, 4)) v(o_line, t_line)")
    assert not sources.multi_by_counting(con, "cand", match_sql.BOTH, limit=2)  # three edges
    assert not sources.multi_by_counting(con, "cand", match_sql.BOTH)  # a negative line
    con.execute("DELETE FROM cand WHERE o_line < 0")
    assert not sources.multi_by_counting(con, "cand", match_sql.BOTH, limit=1)  # line 3 > 2 * 1
    assert "multi" not in {r[0] for r in con.execute("SHOW TABLES").fetchall()}


@settings(max_examples=10, deadline=None)
@given(ours=call_rows("o"), theirs=call_rows("t"))
def test_matching_is_the_same_whichever_counts_the_degrees(
    ours: list[Row], theirs: list[Row], tmp_path_factory: pytest.TempPathFactory
) -> None:
    d = tmp_path_factory.mktemp("degrees")
    o, t = write_csv(d / "o.csv", ours), write_csv(d / "t.csv", theirs)
    counted = match(o, t, d / "a")
    with pytest.MonkeyPatch.context() as mp:
        # no edge is dense enough: the portable aggregate counts them
        mp.setattr(file_match, "multi_by_counting", lambda *a: sources.multi_by_counting(*a, limit=0))
        aggregated = match(o, t, d / "b")
    assert aggregated[0].as_report() == counted[0].as_report()
    assert aggregated[1] == counted[1]


@pytest.mark.parametrize(
    "row",
    [
        b"1,+44123456789\xe9,+49301234567,2026-10-01T12:00:00Z,10",
        b"1\xe9,+441234567890,+49301234567,2026-10-01T12:00:00Z,10",
    ],
    ids=["number", "record_id"],
)
def test_text_that_is_not_utf8_is_refused_naming_the_file(row: bytes, tmp_path: Path) -> None:
    ours = tmp_path / "latin1.csv"
    ours.write_bytes(
        b"record_id,a_number,b_number,start_time,duration_s\n2,+441234567890,+49301234567,2026-10-01T12:00:00Z,10\n"
        + row
        + b"\n"
    )
    theirs = write_csv(tmp_path / "t.csv", [("t1", "+441234567890", "+49301234567", BASE, 10)])
    with pytest.raises(ImportRefusedError, match=r"latin1\.csv"):
        match_files(ours, theirs, MatchOptions(ours_plan=UK, theirs_plan=DE), tmp_path / "out")


# --- lines and durations are INTEGER inside: the bounds --------------------------------------------------

LIMIT = arrow_input.MAX_DURATION_S


@pytest.mark.parametrize("fmt", ["plain", "semicolon"])  # Arrow's reader and DuckDB's
def test_durations_beyond_the_bound_are_unreadable_and_those_at_it_are_kept(fmt: str, tmp_path: Path) -> None:
    durations = [(LIMIT, -LIMIT), (LIMIT + 1, 5), (5, -LIMIT - 1), (2**40, 2**40), (7, 7)]
    ours = [
        (f"o{i}", f"+44207946{i:04d}", "+49301234567", BASE + 60 * i, d) for i, (d, _) in enumerate(durations)
    ]
    theirs = [
        (f"t{i}", f"+44207946{i:04d}", "+49301234567", BASE + 60 * i, d) for i, (_, d) in enumerate(durations)
    ]
    summary, files = match(
        write_csv(tmp_path / "o.csv", ours, fmt), write_csv(tmp_path / "t.csv", theirs, fmt), tmp_path / "out"
    )
    got = [
        (r["ours_duration_s"], r["theirs_duration_s"], r["duration_gap_s"], r["class"])
        for r in files["matches"]
    ]
    assert got == [
        (LIMIT, -LIMIT, -2 * LIMIT, "duration_mismatch"),  # the widest gap there can be
        (None, 5, None, "duration_mismatch"),
        (5, None, None, "duration_mismatch"),
        (None, None, None, "duration_mismatch"),
        (7, 7, 0, "exact"),
    ]
    assert files["types"]["matches"]["ours_duration_s"] == "int64"
    assert files["types"]["matches"]["ours_line"] == "int64"
    assert (summary.matched, summary.exact, summary.duration_mismatch) == (5, 1, 4)


def test_a_line_beyond_the_bound_is_refused_naming_the_file(tmp_path: Path) -> None:
    table = pa.table(
        {
            "line": pa.array([2, 2**31], pa.int64()),
            "record_id": ["o1", "o2"],
            "a_number": ["+442079460001", "+442079460002"],
            "b_number": ["+49301234567", "+49301234567"],
            "start_epoch": pa.array([BASE, BASE + 60], pa.int64()),
            "duration_s": pa.array([10, 10], pa.int64()),
        }
    )
    pq.write_table(table, tmp_path / "far.parquet")
    theirs = write_csv(tmp_path / "t.csv", [("t1", "+442079460001", "+49301234567", BASE, 10)])
    with pytest.raises(ImportRefusedError, match=r"far\.parquet: line 2147483648 is beyond"):
        match_files(
            tmp_path / "far.parquet", theirs, MatchOptions(ours_plan=UK, theirs_plan=DE), tmp_path / "out"
        )


@pytest.mark.parametrize("fmt", ["plain", "semicolon"])
def test_a_side_estimated_beyond_its_budget_goes_straight_into_duckdb(
    fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_csv(tmp_path / "o.csv", _calls([str(i) for i in range(1000)]), fmt)
    budgets: list[int] = []
    real = sources._collect

    def spy(con: Any, side: str, budget: int, *rest: Any) -> Any:
        budgets.append(budget)
        return real(con, side, budget, *rest)

    monkeypatch.setattr(sources, "_collect", spy)
    con = sources.connect("1GB", tmp_path / "scratch")
    assert sources.load_side(con, "ours", path, UK, 1000 * sources.KEYED_ROW_BYTES // 2) is None  # in DuckDB
    assert con.execute("SELECT count(*) FROM ours").fetchall() == [(1000,)]
    assert sources.load_side(con, "theirs", path, UK, 10**9) is not None  # held in Arrow
    assert budgets[0] == 0 and budgets[-1] == 10**9


def test_what_arrow_holds_to_read_comes_off_duckdbs_limit_when_a_side_goes_into_duckdb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _calls([str(i) for i in range(300_000)])  # 12 MB of keyed rows
    small, large = write_csv(tmp_path / "s.csv", rows[:10]), write_csv(tmp_path / "l.csv", rows)

    def limit_after(paths: tuple[Path, Path], memory_limit: str) -> int:
        con = sources.connect(memory_limit, tmp_path / "scratch")
        loaded = sources.load_sides(con, [("ours", paths[0], UK), ("theirs", paths[1], UK)], memory_limit)
        loaded.drop(con)
        return sources.memory_bytes(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])

    # a quarter of 40 MB is too little for the large side: into DuckDB, and the reading's share (here more
    # than half of the limit) comes off, down to half
    assert limit_after((small, small), "40MB") == pytest.approx(40e6, rel=0.01)
    assert limit_after((small, large), "40MB") == pytest.approx(20e6, rel=0.01)
    monkeypatch.setattr(sources, "READING_BYTES", 4_000_000)  # a share under half comes off whole
    assert limit_after((small, large), "40MB") == pytest.approx(32e6, rel=0.01)
