"""Record matching of two files end to end in DuckDB: counts, classes, duplicates, clock, formats.

The property test draws small sides with redials, equal start times and duplicates, and checks that the
pairs written to matches.parquet are a maximum matching as good as the brute-force best.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from o2o.domain.operators import NumberingPlan
from o2o.reconcile import MatchOptions, match_files
from o2o.reconcile.components import Edge, matching_cost

BASE = 1_790_856_000  # 2026-10-01T12:00:00Z
HEADER = ("record_id", "a_number", "b_number", "start_time", "duration_s")
Row = tuple[str, str, str, int, int]  # record_id, a, b, epoch, duration


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_csv(path: Path, rows: Sequence[Row]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for rid, a, b, epoch, dur in rows:
            w.writerow((rid, a, b, _iso(epoch), dur))
    return path


def brute_force_cost(edges: Sequence[Edge]) -> tuple[int, int, int]:
    ours = sorted({e[0] for e in edges})
    best: list[tuple[int, int, int]] = [(0, 0, 0)]

    def walk(i: int, used: frozenset[int], chosen: list[tuple[int, int]]) -> None:
        if i == len(ours):
            best[0] = min(best[0], matching_cost(edges, chosen))
            return
        walk(i + 1, used, chosen)
        for o, t, _, _ in edges:
            if o == ours[i] and t not in used:
                walk(i + 1, used | {t}, [*chosen, (o, t)])

    walk(0, frozenset(), [])
    return best[0]


def _digits(number: str) -> str:
    return number[1:] if number.startswith("+") else number[2:]


def _first_lines(rows: Sequence[Row]) -> dict[int, Row]:
    """The non-duplicate records by CSV line (data lines count from 2), compared after normalisation."""
    seen: set[tuple[str, str, int, int]] = set()
    kept: dict[int, Row] = {}
    for i, row in enumerate(rows):
        key = (_digits(row[1]), _digits(row[2]), row[3], row[4])
        if key not in seen:
            seen.add(key)
            kept[i + 2] = row
    return kept


calls = st.tuples(st.sampled_from(["A1", "A2"]), st.integers(0, 12), st.sampled_from([0, 1, 3, 4, 30, 60]))


@st.composite
def two_sides(draw: st.DrawFn) -> tuple[list[Row], list[Row]]:
    ours_calls = draw(st.lists(calls, min_size=0, max_size=6))
    ours = [
        (f"o{i}", f"+4420794600{a[-1]}", "+447911123456", BASE + t, d)
        for i, (a, t, d) in enumerate(ours_calls)
    ]
    theirs: list[Row] = []
    for _, a, b, epoch, dur in ours:
        if draw(st.booleans()):
            jitter, stretch = draw(st.integers(-3, 3)), draw(st.integers(-2, 2))
            theirs.append(("t", "00" + a[1:], b, epoch + jitter, max(0, dur + stretch)))
    for a, t, d in draw(st.lists(calls, max_size=3)):
        theirs.append(("t", "004420794600" + a[-1], "00447911123456", BASE + t, d))
    theirs = draw(st.permutations(theirs))
    if ours and draw(st.booleans()):
        ours.append(draw(st.sampled_from(ours)))  # a duplicate line
    return ours, [(f"t{i}", *r[1:]) for i, r in enumerate(theirs)]  # type: ignore[misc]


def _edges(ours: dict[int, Row], theirs: dict[int, Row], tol: int) -> list[Edge]:
    digits = _digits
    return [
        (ol, tl, t[4] - o[4], t[3] - o[3])
        for ol, o in ours.items()
        for tl, t in theirs.items()
        if digits(o[1]) == digits(t[1]) and digits(o[2]) == digits(t[2]) and abs(t[3] - o[3]) <= tol
    ]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(two_sides())
def test_matching_is_maximum_and_prefers_duration_then_time(sides: tuple[list[Row], list[Row]]) -> None:
    ours_rows, theirs_rows = sides
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        s = match_files(
            write_csv(d / "o.csv", ours_rows), write_csv(d / "t.csv", theirs_rows), MatchOptions(), d / "out"
        )
        got = duckdb.sql(f"SELECT ours_line, theirs_line FROM '{d}/out/matches.parquet'").fetchall()
    ours, theirs = _first_lines(ours_rows), _first_lines(theirs_rows)
    edges = _edges(ours, theirs, 5)
    pairs = [(int(o), int(t)) for o, t in got]
    assert len({o for o, _ in pairs}) == len(pairs) == len({t for _, t in pairs})
    assert matching_cost(edges, pairs) == brute_force_cost(edges)
    assert s.duplicates_ours == len(ours_rows) - len(ours)
    assert s.duplicates_theirs == len(theirs_rows) - len(theirs)
    assert s.ours == len(ours_rows) and s.theirs == len(theirs_rows)


OURS_CSV = """record_id,a_number,b_number,start_time,duration_s
o1,+44 20 7946 0000,+44 7911 123456,2026-10-01T12:00:00Z,60
o2,+44 20 7946 0000,+44 7911 123456,2026-10-01T12:00:00Z,60
o3,020 7946 0001,07911 123457,2026-10-01T12:10:00Z,3
o4,020 7946 0001,07911 123457,2026-10-01T12:10:04Z,120
o5,020 7946 0002,07911 123458,2026-10-01T13:00:00Z,30
o6,(020) 7946-0003,07911 123459,2026-10-01T01:00:00+02:00,40
"""
THEIRS_CSV = """record_id,a_number,b_number,start_time,duration_s
t1,0044-20-7946-0000,0044 7911 123456,2026-10-01T12:00:02Z,61
t2,+442079460001,+447911123457,2026-10-01T12:10:03Z,3
t3,+442079460001,+447911123457,2026-10-01T12:10:05Z,120
t4,+442079460009,+447911123457,2026-10-01T12:10:05Z,120
t5,00442079460003,00447911123459,2026-09-30T23:00:01Z,45
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_classes_duplicates_formats_and_detail_files(tmp_path: Path) -> None:
    ours, theirs = _write(tmp_path / "o.csv", OURS_CSV), _write(tmp_path / "t.csv", THEIRS_CSV)
    uk = NumberingPlan(country_code="44")
    s = match_files(ours, theirs, MatchOptions(ours_plan=uk, theirs_plan=uk), tmp_path / "out")
    assert s.as_report() == {
        "ours": 6, "theirs": 5, "matched": 4, "exact": 2, "partial": 1, "duration_mismatch": 1,
        "only_ours": 1, "only_theirs": 1, "duplicates_ours": 1, "duplicates_theirs": 0, "clock_offset_s": 1,
    }  # fmt: skip
    matches = pq.read_table(tmp_path / "out" / "matches.parquet").to_pylist()
    got = {(m["ours_record_id"], m["theirs_record_id"], m["class"], m["time_gap_s"]) for m in matches}
    # The redial: o3 (3 s) pairs t2 (3 s) although t3 is nearer in time; o6 is +02:00, i.e. 09-30 23:00:00Z.
    assert got == {
        ("o1", "t1", "partial", 2), ("o3", "t2", "exact", 3), ("o4", "t3", "exact", 1),
        ("o6", "t5", "duration_mismatch", 1),
    }  # fmt: skip
    assert [r["record_id"] for r in pq.read_table(tmp_path / "out" / "only_ours.parquet").to_pylist()] == [
        "o5"
    ]
    assert [r["record_id"] for r in pq.read_table(tmp_path / "out" / "only_theirs.parquet").to_pylist()] == [
        "t4"
    ]
    dups = pq.read_table(tmp_path / "out" / "duplicates.parquet").to_pylist()
    assert [(d["side"], d["line"], d["record_id"]) for d in dups] == [("ours", 3, "o2")]
    daily = {str(r["day"]): r for r in pq.read_table(tmp_path / "out" / "daily.parquet").to_pylist()}
    assert set(daily) == {"2026-09-30", "2026-10-01"}
    assert daily["2026-09-30"]["duration_mismatch"] == 1 and daily["2026-09-30"]["ours_duration_s"] == 40
    first = daily["2026-10-01"]
    assert (first["ours"], first["theirs"], first["matched"], first["duplicates_ours"]) == (5, 4, 3, 1)
    assert (first["matched_ours_duration_s"], first["matched_theirs_duration_s"]) == (183, 184)


def test_without_a_country_trunk_numbers_stay_national(tmp_path: Path) -> None:
    ours, theirs = _write(tmp_path / "o.csv", OURS_CSV), _write(tmp_path / "t.csv", THEIRS_CSV)
    s = match_files(ours, theirs, MatchOptions(), tmp_path / "out")
    # Only the +44/0044 pair o1–t1 still agrees; the national 020… numbers do not meet +44 20….
    assert (s.matched, s.only_ours, s.only_theirs) == (1, 4, 4)


def _shifted_sides(tmp_path: Path, shift: int) -> tuple[Path, Path]:
    ours_rows: list[Row] = []
    theirs_rows: list[Row] = []
    for i in range(40):
        a, b, start = f"+4420794{i:05d}", f"+4479111{i:05d}", BASE + 3600 * i
        ours_rows.append((f"o{i}", a, b, start, 60 + i))
        theirs_rows.append((f"t{i}", a, b, start + shift + (i % 3) - 1, 60 + i))
    return write_csv(tmp_path / "o.csv", ours_rows), write_csv(tmp_path / "t.csv", theirs_rows)


def test_clock_offset_is_estimated_and_corrected(tmp_path: Path) -> None:
    ours, theirs = _shifted_sides(tmp_path, 9)  # their switch runs 9 s ahead, ±1 s of jitter
    plain = match_files(ours, theirs, MatchOptions(), tmp_path / "plain")
    assert (plain.matched, plain.only_ours) == (0, 40)
    fixed = match_files(ours, theirs, MatchOptions(correct_clock=True), tmp_path / "fixed")
    assert (fixed.matched, fixed.exact, fixed.clock_offset_s) == (40, 40, 9)
    gaps = pq.read_table(tmp_path / "fixed" / "matches.parquet").column("time_gap_s").to_pylist()
    assert sorted(set(gaps)) == [8, 9, 10]  # the detail keeps the raw gaps
    small = match_files(*_shifted_sides(tmp_path, 3), MatchOptions(), tmp_path / "small")
    assert (small.matched, small.clock_offset_s) == (40, 3)


def test_canonical_lake_parquet_with_epochs_and_lines(tmp_path: Path) -> None:
    lake = pa.table(
        {
            "line": pa.array([7, 9, 12], pa.int64()),
            "record_id": ["x", "x", "y"],  # a party's ids need not be unique
            "a_number": ["442079460000", "442079460000", "442079460001"],
            "b_number": ["447911123456", "447911123456", "447911123457"],
            "start_epoch": pa.array([BASE, BASE + 600, BASE], pa.int64()),
            "duration_s": pa.array([60, 10, 5], pa.int64()),
        }
    )
    pq.write_table(lake, tmp_path / "ours.parquet")
    theirs = write_csv(
        tmp_path / "t.csv",
        [
            ("a", "+442079460000", "+447911123456", BASE + 1, 60),
            ("b", "+442079460000", "+447911123456", BASE + 600, 12),
        ],
    )
    s = match_files(tmp_path / "ours.parquet", theirs, MatchOptions(), tmp_path / "out")
    assert (s.ours, s.theirs, s.exact, s.duration_mismatch, s.only_ours) == (3, 2, 1, 1, 1)
    rows = pq.read_table(tmp_path / "out" / "matches.parquet").to_pylist()
    assert sorted((r["ours_line"], r["theirs_line"]) for r in rows) == [(7, 2), (9, 3)]
    assert pq.read_table(tmp_path / "out" / "only_ours.parquet").column("line").to_pylist() == [12]


def test_csv_lines_follow_the_file_in_a_large_file(tmp_path: Path) -> None:
    rows = [(f"r{i}", f"+44207{i:07d}", "+447911123456", BASE + i, i % 50) for i in range(60_000)]
    path = write_csv(tmp_path / "big.csv", rows)
    s = match_files(path, path, MatchOptions(), tmp_path / "out")
    assert (s.matched, s.exact) == (60_000, 60_000)
    bad = duckdb.sql(
        f"SELECT count(*) FROM '{tmp_path}/out/matches.parquet' "
        "WHERE ours_line <> theirs_line OR ours_record_id <> 'r' || CAST(ours_line - 2 AS VARCHAR)"
    ).fetchall()
    assert bad == [(0,)]


def test_missing_columns_and_missing_files_are_refused(tmp_path: Path) -> None:
    from o2o.domain.errors import ImportRefusedError

    bad = _write(tmp_path / "bad.csv", "record_id,a_number,start_time\n1,123,2026-10-01T00:00:00Z\n")
    good = _write(tmp_path / "t.csv", THEIRS_CSV)
    for ours, message in ((bad, "missing column(s) b_number"), (tmp_path / "none.csv", "no such file")):
        try:
            match_files(ours, good, MatchOptions(), tmp_path / "out")
        except ImportRefusedError as exc:
            assert message in str(exc)
        else:
            raise AssertionError("expected a refusal")


def test_evidence_lists_the_differing_records_of_the_chosen_days(tmp_path: Path) -> None:
    from datetime import date

    from o2o.reconcile.evidence import write_evidence

    ours, theirs = _write(tmp_path / "o.csv", OURS_CSV), _write(tmp_path / "t.csv", THEIRS_CSV)
    uk = NumberingPlan(country_code="44")
    match_files(ours, theirs, MatchOptions(ours_plan=uk, theirs_plan=uk), tmp_path / "out")
    ev = write_evidence(tmp_path / "out", [date(2026, 10, 1)], tmp_path / "evidence.parquet")
    assert ev.counts == {"partial": 1, "only_ours": 1, "only_theirs": 1} and ev.records == 3
    rows = pq.read_table(ev.path).to_pylist()
    assert [(r["kind"], r["ours_record_id"], r["theirs_record_id"]) for r in rows] == [
        ("only_ours", "o5", None),
        ("only_theirs", None, "t4"),
        ("partial", "o1", "t1"),
    ]
    other = write_evidence(tmp_path / "out", [date(2026, 9, 30)], tmp_path / "e2.parquet")
    assert other.counts == {"duration_mismatch": 1}


def test_evidence_on_a_reused_database_is_the_same_and_leaves_nothing_on_it(tmp_path: Path) -> None:
    from datetime import date

    from o2o.reconcile import batch_connection
    from o2o.reconcile.evidence import write_evidence

    ours, theirs = _write(tmp_path / "o.csv", OURS_CSV), _write(tmp_path / "t.csv", THEIRS_CSV)
    uk = NumberingPlan(country_code="44")
    match_files(ours, theirs, MatchOptions(ours_plan=uk, theirs_plan=uk), tmp_path / "out")
    days = [date(2026, 10, 1), date(2026, 9, 30), date(2026, 10, 1)]
    alone = write_evidence(tmp_path / "out", days, tmp_path / "alone.parquet")
    con = batch_connection(tmp_path / "spill")
    # What a run could leave behind on the database it was lent.
    catalog = "SELECT table_name FROM duckdb_tables() UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT internal"
    try:
        before = con.execute(catalog).fetchall()
        reused = [
            write_evidence(tmp_path / "out", days, tmp_path / f"reused{i}.parquet", con) for i in (1, 2)
        ]
        after = con.execute(catalog).fetchall()
        none = write_evidence(tmp_path / "out", [], tmp_path / "none.parquet", con)
    finally:
        con.close()
    assert alone.counts == {"partial": 1, "only_ours": 1, "only_theirs": 1, "duration_mismatch": 1}
    assert all(r.counts == alone.counts for r in reused) and before == after
    assert all(pq.read_table(r.path).equals(pq.read_table(alone.path)) for r in reused)
    assert none.counts == {} and pq.read_table(none.path).num_rows == 0


def test_unreadable_times_and_durations_stay_unmatched(tmp_path: Path) -> None:
    ours = _write(
        tmp_path / "o.csv",
        "record_id,a_number,b_number,start_time,duration_s\n"
        "o1,+442079460000,+447911123456,2026-10-01T12:00:00Z,60\n"
        "o2,+442079460001,+447911123456,yesterday noon,60\n"
        "o3,+442079460002,+447911123456,2026-10-01T12:00:00Z,sixty\n",
    )
    theirs = _write(
        tmp_path / "t.csv",
        "record_id,a_number,b_number,start_time,duration_s\n"
        "t1,+442079460000,+447911123456,2026-10-01T12:00:01Z,60\n"
        "t2,+442079460001,+447911123456,2026-10-01T12:00:00Z,60\n"
        "t3,+442079460002,+447911123456,2026-10-01T12:00:00Z,60\n",
    )
    s = match_files(ours, theirs, MatchOptions(), tmp_path / "out")
    # o2's time cannot be read: it cannot match; o3's unknown duration still pairs, as a mismatch.
    assert (s.exact, s.duration_mismatch, s.only_ours, s.only_theirs) == (1, 1, 1, 1)
    only = pq.read_table(tmp_path / "out" / "only_ours.parquet").to_pylist()
    assert [(r["line"], r["record_id"], r["start_epoch"]) for r in only] == [(3, "o2", None)]
    m = {r["ours_record_id"]: r for r in pq.read_table(tmp_path / "out" / "matches.parquet").to_pylist()}
    assert (m["o3"]["ours_duration_s"], m["o3"]["theirs_duration_s"], m["o3"]["class"]) == (
        None,
        60,
        "duration_mismatch",
    )


def test_a_pair_across_a_time_bucket_and_duplicates_with_and_without_candidates(tmp_path: Path) -> None:
    # BASE is on an hour (a time bucket's edge): t1's window reaches into the next bucket, where o1 is.
    assert BASE % 3600 == 0
    ours = write_csv(
        tmp_path / "o.csv",
        [
            ("o1", "+442079460000", "+447911123456", BASE + 1, 60),
            ("o2", "+442079460000", "+447911123456", BASE + 1, 60),  # duplicate of o1, same candidate
            ("o3", "+442079460000", "+447911123456", BASE + 100, 30),
            ("o4", "+442079460000", "+447911123456", BASE + 100, 30),  # duplicate of o3, no candidate
            ("o5", "+442079460001", "+447911123456", BASE + 3601, 45),
        ],
    )
    theirs = write_csv(
        tmp_path / "t.csv",
        [
            ("t1", "+442079460000", "+447911123456", BASE - 2, 60),
            ("t2", "+442079460001", "+447911123456", BASE + 3598, 45),  # alone with o5, across the hour
        ],
    )
    s = match_files(ours, theirs, MatchOptions(), tmp_path / "out")
    assert (s.matched, s.exact, s.only_ours, s.only_theirs) == (2, 2, 1, 0)
    assert (s.duplicates_ours, s.duplicates_theirs) == (2, 0)
    # Once o2 is set aside, o1–t1 is unambiguous: it gives the clock offset.
    assert s.clock_offset_s == -3
    rows = pq.read_table(tmp_path / "out" / "matches.parquet").to_pylist()
    assert sorted((r["ours_record_id"], r["theirs_record_id"], r["time_gap_s"]) for r in rows) == [
        ("o1", "t1", -3),
        ("o5", "t2", -3),
    ]
    dups = pq.read_table(tmp_path / "out" / "duplicates.parquet").to_pylist()
    assert [d["record_id"] for d in dups] == ["o2", "o4"]
    only = pq.read_table(tmp_path / "out" / "only_ours.parquet").to_pylist()
    assert [r["record_id"] for r in only] == ["o3"]
