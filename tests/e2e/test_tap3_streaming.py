"""A large TAP file streams: `o2o usage tap3` reads a transfer batch ten times the size of another in about the
same memory, its growth a small part of the difference in size (Python's allocations traced by tracemalloc, the
read buffer made small so that both files span many of its fills; buffering the whole file fails it). The batch
and its event list have indefinite lengths, as the benchmark's 1 GB file does; every event is written to the CSV
and the audit totals agree."""

from __future__ import annotations

import tracemalloc
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from o2o.tap3 import ber
from o2o.tap3.events import BatchContext, EventKind, TapEvent, UsageKind
from o2o.tap3.grammar import SUBSET_DIR, load_grammar
from o2o.tap3.writer import event_value, header_values

CTX = BatchContext(
    sender="GBRAL", recipient="DEUBE", file_sequence="00042", specification=3, release=12,
    tap_currency="EUR", local_currency="GBP", decimal_places=5, exchange_rates={1: Decimal("0.86000")},
    utc_offsets={1: 3600}, utc_offset_texts={1: "+0100"},
)  # fmt: skip
BLOCK = 400  # events encoded once, the block repeated


def _event(i: int) -> TapEvent:
    data = i % 3 == 0
    return TapEvent(
        index=i, kind=EventKind.GPRS if data else (EventKind.MOC, EventKind.MTC)[i % 2],
        usage=UsageKind.DATA if data else UsageKind.VOICE, imsi=f"262011{i:09d}", msisdn=f"4917{i:09d}",
        other_number=None if data else f"44770{i:06d}", service_code="GPRS" if data else "T11",
        local_time=f"202610{1 + i % 28:02d}{i % 24:02d}{i % 60:02d}{(i * 7) % 60:02d}", utc_offset="+0100",
        start_epoch=None, duration_s=i % 3600, volume_in=i * 1013 if data else None,
        volume_out=i * 7919 if data else None, charge_units=(i * 37) % 100000, tax_units=(i * 3) % 1000,
        exchange_rate_code=1,
    )  # fmt: skip


def _write(path: Path, repeats: int) -> int:
    """A TransferBatch of `repeats` blocks of events, outer lengths indefinite; its number of events."""
    grammar = load_grammar(SUBSET_DIR)
    events = [_event(i) for i in range(1, BLOCK + 1)]
    block = b"".join(grammar.encode("CallEventDetail", event_value(e, {"+0100": 1})) for e in events)
    header = header_values(CTX)
    head = b"".join(
        grammar.encode(t, header[k])
        for t, k in (("BatchControlInfo", "batchControlInfo"), ("AccountingInfo", "accountingInfo"),
                     ("NetworkInfo", "networkInfo"))
    )  # fmt: skip
    audit = {
        "totalCharge": repeats * sum(e.charge_units for e in events),
        "totalTaxValue": repeats * sum(e.tax_units for e in events),
        "callEventDetailsCount": repeats * BLOCK,
    }
    with path.open("wb") as fh:
        fh.write(b"\x61\x80" + head + b"\x63\x80")
        for _ in range(repeats):
            fh.write(block)
        fh.write(b"\x00\x00" + grammar.encode("AuditControlInfo", audit) + b"\x00\x00")
    return repeats * BLOCK


def _traced(cli: Any, path: Path, out: Path) -> tuple[int, dict[str, Any]]:
    tracemalloc.start()
    try:
        r = cli("usage", "tap3", path, "--grammar", SUBSET_DIR, "--out", out, "--json")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.code == 0, r.err
    return peak, r.json()


def test_a_file_ten_times_larger_is_read_in_the_same_memory(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ber, "_CHUNK", 1 << 14)  # 16 KB fills: both files are many buffers long
    small, large = tmp_path / "small.tap", tmp_path / "large.tap"
    counts = {small: _write(small, 3), large: _write(large, 30)}
    assert large.stat().st_size > 60 * (1 << 14)
    assert cli("usage", "tap3", small, "--grammar", SUBSET_DIR, "--out", tmp_path / "warm.csv").code == 0
    peaks = {}
    for path in (small, large):
        out = path.with_suffix(".csv")
        peaks[path], report = _traced(cli, path, out)
        assert report["events"] == counts[path]
        assert report["audit_mismatches"] == [], report
        with out.open(encoding="utf-8") as fh:
            assert sum(1 for _ in fh) == counts[path] + 1  # every event, under the header
    grown = peaks[large] - peaks[small]
    # Held in memory, the ninefold more events would add their bytes (and more, as objects); streamed, a
    # little noise.
    assert grown < (large.stat().st_size - small.stat().st_size) / 10, (peaks, large.stat().st_size)
