"""TAP 3 decoding: the reader's records per second beside asn1tools' bare decode of the same file.

A TransferBatch of `--events` call events (MOC, MTC, GPRS in turn) is written with the project's grammar
subset (`o2o.tap3.writer`). Each contender runs in a fresh child process, which times only its decoding
(the grammar is compiled before the clock starts) and reports its peak RSS:

* baseline: `spec.decode("DataInterChange", data)` on the whole file read into memory, asn1tools' own
  BER decoder, yielding the decoded tree (no usage values);
* reader: `o2o.tap3.reader.TapBatch.events()`: the outer TLVs walked over a buffered file, each call event
  made definite and decoded by asn1tools on its own, then turned into a `TapEvent` (UTC start, exact
  amounts), and the audit control totals compared at the end.

The goal is the reader within 1.5x of the baseline's time; its memory stays that of one buffer and one
event whatever the file's size, where the baseline holds the whole file and its tree.

    .venv/bin/python benchmarks/tap3_bench.py                    # 100,000 events, best of 3
    .venv/bin/python benchmarks/tap3_bench.py --events 300000 --rounds 2
    .venv/bin/python benchmarks/tap3_bench.py --reader-only-mb 1024   # a 1 GB file, the reader alone

`--reader-only-mb SIZE` writes a file of about SIZE MB quickly (3,000 encoded events repeated, the batch
and its event list with indefinite lengths, the audit totals those of the whole) and runs the reader
alone on it: the baseline would hold the whole file and its tree in memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from o2o.tap3.events import BatchContext, EventKind, TapEvent, UsageKind
from o2o.tap3.grammar import SUBSET_DIR, load_grammar
from o2o.tap3.reader import TapBatch
from o2o.tap3.writer import event_value, header_values, write_transfer_batch

CTX = BatchContext(
    sender="GBRAL",
    recipient="DEUBE",
    file_sequence="00001",
    specification=3,
    release=12,
    tap_currency="EUR",
    local_currency="GBP",
    decimal_places=5,
    exchange_rates={1: Decimal("0.86000")},
    utc_offsets={1: 3600},
    utc_offset_texts={1: "+0100"},
)
KINDS = [EventKind.MOC, EventKind.MTC, EventKind.GPRS]


def events(count: int) -> list[TapEvent]:
    out = []
    for i in range(1, count + 1):
        kind = KINDS[i % 3]
        data = kind is EventKind.GPRS
        out.append(
            TapEvent(
                index=i,
                kind=kind,
                usage=UsageKind.DATA if data else UsageKind.VOICE,
                imsi=f"262011{i:09d}",
                msisdn=f"4917{i:09d}",
                other_number=None if data else f"44770{i % 1000000:06d}",
                service_code="GPRS" if data else "T11",
                local_time=f"202610{1 + i % 28:02d}{i % 24:02d}{i % 60:02d}{(i * 7) % 60:02d}",
                utc_offset="+0100",
                start_epoch=None,
                duration_s=i % 3600,
                volume_in=(i * 1013) % 10**9 if data else None,
                volume_out=(i * 7919) % 10**9 if data else None,
                charge_units=(i * 37) % 100000,
                tax_units=(i * 3) % 1000,
                exchange_rate_code=1,
            )
        )
    return out


def write_repeated(path: Path, megabytes: int) -> int:
    """A TransferBatch of about `megabytes` MB: a block of encoded events repeated; its event count."""
    grammar = load_grammar(SUBSET_DIR)
    block_events = events(3000)
    codes = {text: code for code, text in CTX.utc_offset_texts.items()}
    block = b"".join(grammar.encode("CallEventDetail", event_value(e, codes)) for e in block_events)
    repeats = max(1, megabytes * 1_000_000 // len(block))
    header = header_values(CTX)
    head = b"".join(
        grammar.encode(t, header[k])
        for t, k in (("BatchControlInfo", "batchControlInfo"), ("AccountingInfo", "accountingInfo"),
                     ("NetworkInfo", "networkInfo"))
    )  # fmt: skip
    audit = {
        "totalCharge": repeats * sum(e.charge_units for e in block_events),
        "totalTaxValue": repeats * sum(e.tax_units for e in block_events),
        "callEventDetailsCount": repeats * len(block_events),
    }
    with path.open("wb") as fh:
        fh.write(b"\x61\x80" + head + b"\x63\x80")
        for _ in range(repeats):
            fh.write(block)
        fh.write(b"\x00\x00" + grammar.encode("AuditControlInfo", audit) + b"\x00\x00")
    return repeats * len(block_events)


def reader_only(megabytes: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.tap"
        count = write_repeated(path, megabytes)
        print(
            f"TAP file: {count:,} call events, {path.stat().st_size / 1e6:,.0f} MB, indefinite outer lengths"
        )
        got = run("reader", path)
    assert got["records"] == count, got
    print(
        f"   reader: {got['seconds']:.1f} s wall, {got['cpu']:.1f} s CPU, {count / got['seconds']:,.0f} records/s, "
        f"peak RSS {got['peak_mb']:.0f} MB"
    )


def peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM, which starts afresh at exec (getrusage's ru_maxrss keeps the parent's
    peak from before the fork, here the generated events)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, path: Path) -> None:
    grammar = load_grammar(SUBSET_DIR)
    cpu0, start = time.process_time(), time.perf_counter()
    if mode == "baseline":
        _, batch = grammar.spec.decode("DataInterChange", path.read_bytes())
        records = len(batch["callEventDetails"])
    else:
        reader = TapBatch(path, grammar)
        records = sum(1 for _ in reader.events())
        if reader.audit_mismatches():
            sys.exit(f"audit mismatch: {reader.audit_mismatches()}")
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu0
    peak = peak_rss_mb()
    print(json.dumps({"records": records, "seconds": seconds, "cpu": cpu, "peak_mb": peak}))


def run(mode: str, path: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)], check=True, capture_output=True, text=True
    )
    return dict(json.loads(done.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reader-only-mb", type=int, help="a file of about this many MB, the reader alone")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    if args.reader_only_mb:
        reader_only(args.reader_only_mb)
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.tap"
        grammar = load_grammar(SUBSET_DIR)
        write_transfer_batch(path, grammar, CTX, events(args.events))
        size = path.stat().st_size
        print(f"TAP file: {args.events:,} call events, {size / 1e6:.1f} MB (subset grammar)")
        best: dict[str, dict[str, float]] = {}
        for _ in range(args.rounds):
            for mode in ("baseline", "reader"):  # alternately, so both see the same load
                got = run(mode, path)
                assert got["records"] == args.events, got
                kept = best.get(mode)
                if kept is None or got["seconds"] < kept["seconds"]:
                    best[mode] = {**got, "peak_mb": max(got["peak_mb"], kept["peak_mb"] if kept else 0.0)}
    for mode in ("baseline", "reader"):
        b = best[mode]
        print(
            f"{mode:>9}: {b['seconds']:.2f} s wall, {b['cpu']:.2f} s CPU, {args.events / b['seconds']:,.0f} "
            f"records/s, peak RSS {b['peak_mb']:.0f} MB"
        )
    ratio = best["reader"]["seconds"] / best["baseline"]["seconds"]
    cpu_ratio = best["reader"]["cpu"] / best["baseline"]["cpu"]
    print(f"reader / asn1tools bare decode: {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU (goal: within 1.5x)")


if __name__ == "__main__":
    main()
