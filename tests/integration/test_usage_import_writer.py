"""The canonical Parquet writer thread: batches land in order, and a failed write surfaces on close."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from o2o.lake.usage_import import _BackgroundWriter


def _batch(start: int, rows: int) -> pa.RecordBatch:
    return pa.record_batch({"line": pa.array(range(start, start + rows), pa.int64())})


def test_batches_are_written_in_the_order_given(tmp_path: Path) -> None:
    out = tmp_path / "u.parquet"
    writer = _BackgroundWriter(out)
    for i in range(10):
        writer.put(_batch(i * 100, 100))
    writer.put(_batch(1000, 0))
    writer.close()
    assert pq.read_table(out).column("line").to_pylist() == list(range(1000))


def test_a_failed_write_is_raised_by_close_and_never_blocks(tmp_path: Path) -> None:
    writer = _BackgroundWriter(tmp_path / "missing-folder" / "u.parquet")
    with pytest.raises(OSError):
        try:
            for i in range(20):  # more batches than the queue holds
                writer.put(_batch(i, 1))
        finally:
            writer.close()
    assert not writer._thread.is_alive()
