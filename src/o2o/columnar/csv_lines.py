"""Lines of CSV files: which are empty, on which line each data row is, and the rows read in groups.

CSV readers (DuckDB's, Arrow's when told to) skip empty lines, and a row's position among the rows read is
then not its line; the line is what errors, rejects and evidence cite, so the empty lines are counted.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _open(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if _is_gzip(path) else path.open("rb")  # type: ignore[return-value]


_TWO_NEWLINES = 0x0A0A  # b"\n\n" read as a 16-bit number (either byte order)


def _has_empty_line(path: Path, chunk_bytes: int = 16 << 20) -> bool:
    """Whether a plain (not compressed) file has an empty line: a vectorised pass over reused memory
    (byte pairs compared as 16-bit numbers at even and odd offsets; `\\r\\n` endings only where a `\\r` is)."""
    buffer = bytearray(chunk_bytes)
    before = b"\n"  # the file's start counts as after a newline: an empty first line is found too
    with path.open("rb", buffering=0) as fh:
        while read := fh.readinto(buffer):
            edge = before + bytes(buffer[: min(read, 2)])
            if b"\n\n" in edge or b"\n\r\n" in edge:
                return True
            for offset in (0, 1):
                pairs = np.frombuffer(buffer, dtype=np.uint16, count=(read - offset) // 2, offset=offset)
                if np.count_nonzero(pairs == _TWO_NEWLINES):
                    return True
            if read > 2 and buffer.find(b"\r", 0, read) >= 0:
                piece = np.frombuffer(buffer, dtype=np.uint8, count=read)
                newline = piece == 10
                if np.count_nonzero(newline[:-2] & (piece[1:-1] == 13) & newline[2:]):
                    return True
            before = (before + bytes(buffer[max(read - 2, 0) : read]))[-2:]
    return False


def blank_lines(path: Path, chunk_bytes: int = 64 << 20) -> np.ndarray:
    """The numbers (from 1) of the empty lines of a file (nothing, or only `\\r`, between two newlines),
    sorted: CSV readers skip them, so they must be counted to know the line of each record. A gzip file
    is read decompressed."""
    if not _is_gzip(path) and not _has_empty_line(path):
        return np.zeros(0, dtype=np.int64)
    found: list[np.ndarray] = []
    seen = 0  # newlines before this chunk
    tail, tail_length = b"", 0  # the first bytes after the last newline so far (of line 1 before any)
    with _open(path) as fh:
        while chunk := fh.read(chunk_bytes):
            data = np.frombuffer(chunk, dtype=np.uint8)
            ends = np.flatnonzero(data == 10)
            if not len(ends):
                tail, tail_length = (tail + chunk)[:2], tail_length + len(chunk)
                continue
            # The line from the last chunk's last newline (or the file's start) to this chunk's first.
            length, text = tail_length + int(ends[0]), tail + chunk[:2]
            if length == 0 or (length == 1 and text[:1] == b"\r"):
                found.append(np.array([seen + 1], dtype=np.int64))
            gap = np.diff(ends)
            after = data[np.minimum(ends[:-1] + 1, len(data) - 1)]
            blank = (gap == 1) | ((gap == 2) & (after == 13))
            found.append(seen + np.flatnonzero(blank).astype(np.int64) + 2)
            last = int(ends[-1])
            tail, tail_length = chunk[last + 1 : last + 3], len(chunk) - last - 1
            seen += len(ends)
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def lines_of_rows(rows: np.ndarray, blanks: np.ndarray) -> np.ndarray:
    """The file lines of data rows numbered from 0 in reading order (the header is line 1), given the
    file's empty lines, which readers skip: row k is on line k + 2 + (empty lines before it)."""
    lines = rows + 2
    if len(blanks) == 0:
        return lines
    shifted = blanks - np.arange(len(blanks), dtype=np.int64)
    return lines + np.searchsorted(shifted, lines, side="right")


def estimated_rows(path: Path, sample_bytes: int = 1 << 20) -> int:
    """About how many lines a file has: its size over the mean length of the lines in its first
    `sample_bytes` (decompressed for gzip, whose size is then taken as a fifth of the text's)."""
    with _open(path) as fh:
        sample = fh.read(sample_bytes)
    size = path.stat().st_size * (5 if _is_gzip(path) else 1)
    lines = sample.count(b"\n")
    if len(sample) < sample_bytes:
        return lines + (1 if sample and not sample.endswith(b"\n") else 0)
    return size * max(lines, 1) // len(sample)


def plain_header(path: Path) -> list[str] | None:
    """The column names of an uncompressed, comma-separated UTF-8 CSV whose header a plain split reads
    as DuckDB would (lower-case names without quotes, spaces or repeats), else None: such files can be
    read by Arrow's CSV reader with the same result; others are left to DuckDB, which sniffs dialects."""
    try:
        with path.open("rb") as fh:
            header = fh.readline(64 * 1024)
    except OSError:
        return None
    try:
        text = header.decode("utf-8-sig").rstrip("\r\n")  # Arrow skips a byte-order mark too
    except UnicodeDecodeError:
        return None
    if '"' in text or ";" in text or "\t" in text or "|" in text:
        return None
    columns = text.split(",")
    if columns != [c.strip().lower() for c in columns] or len(set(columns)) != len(columns) or "" in columns:
        return None
    return columns


def batch_groups(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[list[pa.RecordBatch]]:
    """The batches read, gathered into groups of at least `rows` rows (the last one smaller), in order."""
    group: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        group.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield group
            group, count = [], 0
    if group:
        yield group
