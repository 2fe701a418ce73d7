"""Many file pairs matched as one run (`match_batch`) give each pair exactly what matching it alone
(`match_files`) gives: every count, the clock offset, the rounds and components, and the five detail files
(same columns and types; the small files in the same order). The property test draws lines whose sides
share their numbers and times with the other lines' (a candidate across lines would change the result),
with redials, duplicates, contested components, missing numbers, times and durations, ids typed BIGINT in
some lines and text in others, gaps in the line numbers and empty sides.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from o2o.domain.errors import ImportRefusedError
from o2o.reconcile import MatchOptions, MatchSummary, batch_match, match_files
from o2o.reconcile.batch_match import BatchLine, match_batch

BASE = 1_790_856_000  # 2026-10-01T12:00:00Z
FILES = ("matches", "only_ours", "only_theirs", "duplicates", "daily")
Record = tuple[str | None, str | None, int | None, int | None]  # a, b, start, duration

# Few numbers: the lines share calls (equal numbers within the tolerance), as well as numbers that are none.
numbers = st.sampled_from(["442079460000", "442079460000", "447911123456", "0", None])
# Times across two days (the per-day offsets) and within the tolerance of each other.
starts = st.one_of(st.integers(0, 8).map(lambda t: BASE + t), st.just(BASE + 86_400 + 3), st.none())
records = st.tuples(numbers, numbers, starts, st.one_of(st.none(), st.sampled_from([0, 1, 3, 60, 61])))


def write_side(path: Path, rows: list[Record], ids: str, first_line: int) -> Path:
    """A canonical lake file: lines from `first_line` with a gap, ids plain integers, text or missing."""
    lines = [first_line + i + (5 if i > 1 else 0) for i in range(len(rows))]
    record_ids: list[str | None] = [
        None if ids == "none" else str(100 + i) if ids == "int" else f"r{i}" for i in range(len(rows))
    ]
    pq.write_table(
        pa.table(
            {
                "line": pa.array(lines, pa.int64()),
                "record_id": pa.array(record_ids, pa.string()),
                "a_number": pa.array([r[0] for r in rows], pa.string()),
                "b_number": pa.array([r[1] for r in rows], pa.string()),
                "start_epoch": pa.array([r[2] for r in rows], pa.int64()),
                "duration_s": pa.array([r[3] for r in rows], pa.int64()),
            }
        ),
        path,
    )
    return path


@st.composite
def a_line(draw: st.DrawFn) -> tuple[list[Record], list[Record], str, str, int]:
    ours = draw(st.lists(records, max_size=7))
    theirs: list[Record] = []
    for a, b, start, duration in ours:
        if draw(st.booleans()):
            jitter = draw(st.integers(-4, 4))
            theirs.append((a, b, None if start is None else start + jitter, duration))
    theirs += draw(st.lists(records, max_size=3))
    if draw(st.booleans()) and ours:
        ours.append(draw(st.sampled_from(ours)))  # a duplicate
    ids = st.sampled_from(["int", "int", "text", "none"])
    return ours, draw(st.permutations(theirs)), draw(ids), draw(ids), draw(st.sampled_from([1, 2, 1000]))


def files_of(folder: Path) -> dict[str, tuple[list[Any], list[Any]]]:
    """Each detail file's columns with their types, and its rows (the pairs' in a fixed order)."""
    out = {}
    for name in FILES:
        path = folder / f"{name}.parquet"
        order = " ORDER BY ours_line, theirs_line" if name == "matches" else ""
        with duckdb.connect() as con:
            schema = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()
            out[name] = (schema, con.execute(f"SELECT * FROM read_parquet('{path}'){order}").fetchall())
    return out


def summary_of(s: MatchSummary) -> dict[str, Any]:
    return {k: getattr(s, k) for k in MatchSummary.__slots__ if k != "out_dir"}


def counting(left: list[Path]) -> Any:
    """`match_files`, noting the `ours` file of each pair it matches in `left`."""

    def alone(ours: Path, *args: Any) -> MatchSummary:
        left.append(ours)
        return match_files(ours, *args)

    return alone


def batch_against_alone(
    tmp: Path, lines: list[BatchLine], options: MatchOptions, alone: list[int] | None = None
) -> list[MatchSummary]:
    """`match_batch` against `match_files` for each pair; with `alone`, the pairs the batch left to
    `match_files` are exactly those."""
    scratch = tmp / "scratch"
    scratch.mkdir(exist_ok=True)
    left: list[Path] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch_match, "match_files", counting(left))
        batch = match_batch(lines, options, scratch)
    if alone is not None:
        assert left == [lines[i].ours for i in alone]
    for i, (line, got) in enumerate(zip(lines, batch, strict=True)):
        assert isinstance(got, MatchSummary), got
        by_itself = match_files(line.ours, line.theirs, options, tmp / "alone" / str(i))
        assert summary_of(got) == summary_of(by_itself), i
        assert got.out_dir == line.out_dir
        assert files_of(line.out_dir) == files_of(tmp / "alone" / str(i)), i
    assert not list(scratch.iterdir())  # the partitioned write's folder is gone
    return [s for s in batch if isinstance(s, MatchSummary)]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(a_line(), min_size=2, max_size=4))
def test_a_batch_gives_each_pair_what_it_gets_alone(drawn: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        lines = []
        for i, (ours, theirs, ours_ids, theirs_ids, first) in enumerate(drawn):
            lines.append(
                BatchLine(
                    write_side(tmp / f"o{i}.parquet", ours, ours_ids, first),
                    write_side(tmp / f"t{i}.parquet", theirs, theirs_ids, first),
                    tmp / "batch" / str(i) / "match",
                )
            )
        batch_against_alone(tmp, lines, MatchOptions(time_tolerance_s=5, duration_tolerance_s=1))


def test_equal_records_in_two_lines_never_pair_across_them(tmp_path: Path) -> None:
    """The same call in two lines: each line pairs its own records, none is a duplicate of the other's."""
    call: list[Record] = [
        ("442079460000", "447911123456", BASE, 60),
        ("442079460000", "447911123456", BASE + 2, 61),
    ]
    lines = [
        BatchLine(
            write_side(tmp_path / f"o{i}.parquet", call, "int", 2),
            write_side(tmp_path / f"t{i}.parquet", call[:1], "int", 2),
            tmp_path / "batch" / str(i),
        )
        for i in range(3)
    ]
    got = batch_against_alone(tmp_path, lines, MatchOptions(), alone=[])
    assert [(s.matched, s.exact, s.only_ours, s.duplicates_ours) for s in got] == [(1, 1, 1, 0)] * 3


def test_a_pair_with_a_bad_file_gets_its_own_error_and_the_others_their_results(tmp_path: Path) -> None:
    call: list[Record] = [("442079460000", "447911123456", BASE, 60)]
    lines = [
        BatchLine(
            write_side(tmp_path / f"o{i}.parquet", call, "int", 2),
            write_side(tmp_path / f"t{i}.parquet", call, "int", 2),
            tmp_path / "batch" / str(i),
        )
        for i in range(4)
    ]
    lines[1].theirs.unlink()
    lines[3].ours.write_bytes(b"PAR1 not a Parquet file")
    left: list[Path] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch_match, "match_files", counting(left))
        got = match_batch(lines, MatchOptions(), tmp_path)
    assert left == [lines[1].ours, lines[3].ours]  # the two others in one batch
    assert isinstance(got[1], ImportRefusedError) and lines[1].theirs.name in str(got[1])
    assert isinstance(got[3], Exception)  # what matching that pair alone raises
    assert [s.matched for s in (got[0], got[2]) if isinstance(s, MatchSummary)] == [1, 1]


@pytest.mark.parametrize("correct_clock", [False, True])
def test_csv_pairs_and_the_clock_correction_are_matched_alone(tmp_path: Path, correct_clock: bool) -> None:
    """What a batch does not take (a CSV side; the clock correction, whose offset is each pair's own) is
    matched alone, with the same results."""
    call: list[Record] = [
        ("442079460000", "447911123456", BASE, 60),
        ("442079460001", "447911123456", BASE, 3),
    ]
    csv = tmp_path / "t0.csv"
    csv.write_text(
        "record_id,a_number,b_number,start_time,duration_s\n"
        "x,+442079460000,+447911123456,2026-10-01T12:00:01Z,60\n"
    )
    lines = [
        BatchLine(write_side(tmp_path / "o0.parquet", call, "int", 2), csv, tmp_path / "batch" / "0"),
        *(
            BatchLine(
                write_side(tmp_path / f"o{i}.parquet", call, "int", 2),
                write_side(tmp_path / f"t{i}.parquet", call, "text", 2),
                tmp_path / "batch" / str(i),
            )
            for i in (1, 2)
        ),
    ]
    alone = [0, 1, 2] if correct_clock else [0]
    got = batch_against_alone(tmp_path, lines, MatchOptions(correct_clock=correct_clock), alone)
    assert [s.matched for s in got] == [1, 2, 2]


@pytest.mark.parametrize("statistics", [True, False])
def test_the_lines_bounds_from_the_files_statistics_or_read(tmp_path: Path, statistics: bool) -> None:
    """The batch folds the lines by their bounds, which the files' statistics give (read from the files
    when they have none); a negative line leaves every pair alone."""
    calls: list[Record] = [("442079460000", "447911123456", BASE + 60 * i, 60) for i in range(3)]

    def side(name: str, first: int) -> Path:
        path = write_side(tmp_path / f"{name}.parquet", calls, "int", first)
        pq.write_table(pq.read_table(path), path, write_statistics=statistics)
        return path

    lines = [BatchLine(side(f"o{i}", 2), side(f"t{i}", 2), tmp_path / "batch" / str(i)) for i in range(3)]
    read: list[int] = []
    lines_read = batch_match._lines_read
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch_match, "_lines_read", lambda *a: (read.append(1), lines_read(*a))[1])
        got = batch_against_alone(tmp_path, lines, MatchOptions(), alone=[])
    assert [s.matched for s in got] == [3, 3, 3]
    assert read == ([] if statistics else [1])
    lines.append(BatchLine(side("o3", -4), side("t3", 2), tmp_path / "batch" / "3"))
    batch_against_alone(tmp_path, lines, MatchOptions(), alone=[0, 1, 2, 3])
