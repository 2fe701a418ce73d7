"""Empty lines of CSV files and the lines of data rows (`o2o.columnar.csv_lines`), against a plain split."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from o2o.columnar.csv_lines import blank_lines, estimated_rows, lines_of_rows

texts = st.tuples(
    st.lists(st.sampled_from(["", "\r", "x", "ab", "a\r", "1,2", "\r\r", "\r\n"]), max_size=12),
    st.sampled_from(["", "\n", "\r\n"]),
).map(lambda t: "\n".join(t[0]) + t[1])


def expected(text: str) -> tuple[list[int], list[int]]:
    """The empty lines (from 1; an empty line ends with a newline), and the lines of the data rows: every
    other line after the first (what follows the last newline is a line only if it holds something)."""
    parts = text.split("\n")
    empty = [i + 1 for i, line in enumerate(parts[:-1]) if line in ("", "\r")]
    rows = [i + 1 for i, line in enumerate(parts) if i >= 1 and line not in ("", "\r")]
    return empty, rows


@settings(max_examples=300, deadline=None)
@given(texts, st.sampled_from([1, 2, 3, 5, 64, 1 << 20]))
def test_empty_lines_and_row_lines_of_any_text(
    tmp_path_factory: pytest.TempPathFactory, text: str, chunk: int
) -> None:
    folder = tmp_path_factory.mktemp("lines")
    plain, packed = folder / "f.csv", folder / "f.csv.gz"
    plain.write_bytes(text.encode())
    packed.write_bytes(gzip.compress(text.encode()))
    empty, rows = expected(text)
    for path in (plain, packed):
        assert blank_lines(path, chunk).tolist() == empty
    after_header = np.array([line for line in empty if line > 1], dtype=np.int64)
    assert lines_of_rows(np.arange(len(rows), dtype=np.int64), after_header).tolist() == rows


def test_a_file_without_empty_lines_is_read_once_and_gives_none(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"h\r\n" + b"1,2\r\n" * 1000)
    assert blank_lines(path).tolist() == []
    assert lines_of_rows(np.arange(3, dtype=np.int64), np.zeros(0, dtype=np.int64)).tolist() == [2, 3, 4]


def test_lines_are_counted_in_a_small_file_and_estimated_in_a_large_one(tmp_path: Path) -> None:
    small = tmp_path / "small.csv"
    small.write_bytes(b"h\n1,2\n3,4")  # the last line has no newline
    assert estimated_rows(small) == 3
    large = tmp_path / "large.csv"
    large.write_bytes(b"h\n" + b"12345,678\n" * 100_000)  # 1,000,002 bytes
    assert estimated_rows(large, sample_bytes=1000) == 100_000  # 100 lines in the first 1000 bytes
    assert estimated_rows(large) == 100_001
    packed = tmp_path / "large.csv.gz"
    packed.write_bytes(gzip.compress(large.read_bytes()))
    assert (
        estimated_rows(packed, sample_bytes=1000) == packed.stat().st_size * 5 // 10
    )  # text's size taken as 5x
