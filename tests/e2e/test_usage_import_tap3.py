"""`o2o usage import FILE --format tap3 --grammar DIR`: a TAP batch's call events become a declaration; its
audit control totals are checked; a RAP file's returned events are left out; broken files and grammars
are one-line errors."""

from __future__ import annotations

import csv
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from o2o.tap3.events import BatchContext, EventKind, TapEvent, UsageKind
from o2o.tap3.grammar import SUBSET_DIR, load_grammar
from o2o.tap3.writer import write_return_batch, write_transfer_batch

PEERS = Path(__file__).resolve().parents[2].parent / "shared" / "peers" / "tap3"
GRAMMAR = load_grammar(SUBSET_DIR)
CTX = BatchContext(
    sender="GBRAL",
    recipient="DEUBE",
    file_sequence="00007",
    specification=3,
    release=12,
    tap_currency="EUR",
    local_currency="GBP",
    decimal_places=5,
    exchange_rates={1: Decimal("0.86000")},
    utc_offsets={1: 3600, 2: 0},
    utc_offset_texts={1: "+0100", 2: "+0000"},
)


def event(index: int, kind: EventKind, **fields: Any) -> TapEvent:
    usage = {EventKind.GPRS: UsageKind.DATA}.get(kind, UsageKind.VOICE)
    values: dict[str, Any] = dict(
        index=index, kind=kind, usage=usage, imsi=f"26201123456789{index}", msisdn=None,
        other_number=None if kind is EventKind.GPRS else f"4477009001{index:02d}",
        service_code="GPRS" if kind is EventKind.GPRS else "T11", local_time=f"202610021300{index:02d}",
        utc_offset="+0100", start_epoch=None, duration_s=60 * index, volume_in=None, volume_out=None,
        charge_units=12345 * index, tax_units=100 * index, exchange_rate_code=1,
    )  # fmt: skip
    values.update(fields)
    return TapEvent(**values)


EVENTS = [
    event(1, EventKind.MOC),
    event(2, EventKind.MTC),
    event(3, EventKind.GPRS, volume_in=1000, volume_out=2000),
    event(4, EventKind.MOC, service_code="T22", usage=UsageKind.SMS),
    event(5, EventKind.MOC, local_time="20261002120005", utc_offset="+0000"),
]


def tap_import(cli: Any, path: Path, *extra: str | Path, grammar: Path = SUBSET_DIR) -> Any:
    return cli(
        "usage", "import", path, "--agreement", "AG-ALFA-BETA", "--period", "2026-10", "--declarer", "ALFA",
        "--service", "voice-ALFA", "--format", "tap3", "--grammar", grammar, *extra,
    )  # fmt: skip


def test_a_tap_batch_becomes_a_declaration(loaded: Any, tmp_path: Path) -> None:
    path = tmp_path / "CDGBRALDEUBE00007"
    write_transfer_batch(path, GRAMMAR, CTX, EVENTS)
    r = tap_import(loaded, path, "--json")
    assert r.code == 0, r.err
    d = r.json()
    tap = d["tap3"]
    assert (tap["sender"], tap["recipient"], tap["file_sequence"]) == ("GBRAL", "DEUBE", "00007")
    assert (tap["events"], tap["by_usage"]) == (5, {"voice": 3, "data": 1, "sms": 1})
    # 12345 * (1+2+3+4+5) units of 10^-5 EUR, exactly; the taxes likewise.
    assert (tap["charge"], tap["tax"], tap["currency"]) == ("1.85175", "0.01500", "EUR")
    assert tap["exchange_rates"] == {"1": "0.86000"} and tap["local_currency"] == "GBP"
    assert (tap["rows"], tap["returned"], tap["audit_mismatches"]) == (3, 0, [])
    assert (d["rows"], d["rejected"], d["duration_s"]) == (3, 0, 60 + 120 + 300)
    rows = duckdb.execute(
        "SELECT record_id, a_number, b_number, start_epoch, duration_s, route FROM read_parquet(?) ORDER BY line",
        [d["lake_path"]],
    ).fetchall()
    # 2026-10-02 13:00:0N at +0100 is 12:00:0N UTC (1790942400 + N); event 5 is written at +0000.
    assert rows == [
        ("00007:1", "262011234567891", "447700900101", 1790942401, 60, "MOC T11"),
        ("00007:2", "262011234567892", "447700900102", 1790942402, 120, "MTC T11"),
        ("00007:5", "262011234567895", "447700900105", 1790942405, 300, "MOC T11"),
    ]


def test_audit_totals_that_differ_are_an_error_naming_them(loaded: Any, tmp_path: Path) -> None:
    path = tmp_path / "bad-audit.tap"
    write_transfer_batch(
        path, GRAMMAR, CTX, EVENTS,
        audit=lambda count, charge, tax: {"totalCharge": charge + 1, "totalTaxValue": tax, "callEventDetailsCount": count + 1},
    )  # fmt: skip
    r = tap_import(loaded, path)
    assert r.code == 1
    assert r.err.strip().count("\n") == 0
    assert "CallEventDetailsCount 6 but the batch has 5 call events" in r.err
    assert "TotalCharge 1.85176 EUR but the call events sum to 1.85175 EUR" in r.err
    assert "--accept-audit-mismatch" in r.err
    assert loaded("usage", "list", "--json").json() == []
    r = tap_import(loaded, path, "--accept-audit-mismatch", "--json")
    assert r.code == 0, r.err
    assert r.json()["rows"] == 3 and len(r.json()["tap3"]["audit_mismatches"]) == 2


@pytest.mark.skipif(not PEERS.is_dir(), reason="../shared/peers/tap3 is not here")
def test_the_peer_sample_audit_mismatch(loaded: Any) -> None:
    # libxfsx's sample is a syntax fixture: its TotalCharge (2.300) is not its events' sum (71.200).
    r = tap_import(loaded, PEERS / "tap_3_12_valid.ber")
    assert r.code == 1
    assert "TotalCharge 2.300 XDR but the call events sum to 71.200 XDR" in r.err
    assert r.err.strip().count("\n") == 0


def test_a_rap_batch_leaves_the_returned_events_out(loaded: Any, tmp_path: Path) -> None:
    path, rap = tmp_path / "b.tap", tmp_path / "b.rap"
    write_transfer_batch(path, GRAMMAR, CTX, EVENTS)
    write_return_batch(rap, GRAMMAR, CTX, [(EVENTS[1], [34])])
    r = tap_import(loaded, path, "--rap", rap, "--json")
    assert r.code == 0, r.err
    d = r.json()
    assert (d["rows"], d["tap3"]["returned"], d["tap3"]["rows"]) == (2, 1, 2)
    other = tmp_path / "other.rap"
    write_return_batch(other, GRAMMAR, replace(CTX, file_sequence="00008"), [(EVENTS[1], [34])])
    r = tap_import(loaded, path, "--rap", other)
    assert r.code == 1 and "returns no event of" in r.err and "00008" in r.err


def test_broken_files_and_grammars_are_one_line_errors(loaded: Any, tmp_path: Path) -> None:
    good = tmp_path / "good.tap"
    write_transfer_batch(good, GRAMMAR, CTX, EVENTS)
    data = good.read_bytes()
    (tmp_path / "truncated.tap").write_bytes(data[: len(data) // 2])
    (tmp_path / "corrupt.tap").write_bytes(b"\x61\x89" + data[2:])
    (tmp_path / "notber.tap").write_bytes(b"record_id,a_number\n1,2\n")
    wrong = tmp_path / "wrong-grammar"
    wrong.mkdir()
    (wrong / "other.asn").write_text("OTHER DEFINITIONS ::= BEGIN Thing ::= INTEGER END\n")
    broken = tmp_path / "broken-grammar"
    broken.mkdir()
    (broken / "tap.asn").write_text("TAP DEFINITIONS ::= BEGIN DataInterChange ::= CHOICE { END\n")
    # A TAP grammar whose tags are not the file's: MobileOriginatedCall moved to [APPLICATION 99].
    retagged = tmp_path / "retagged-grammar"
    retagged.mkdir()
    for source in SUBSET_DIR.glob("*.asn"):
        text = source.read_text().replace(
            "MobileOriginatedCall ::= [APPLICATION 9]", "MobileOriginatedCall ::= [APPLICATION 99]"
        )
        (retagged / source.name).write_text(text)
    cases = [
        (good, retagged, "call event 1 at byte"),
        (tmp_path / "truncated.tap", SUBSET_DIR, "truncated"),
        (tmp_path / "corrupt.tap", SUBSET_DIR, "not a BER length"),
        (tmp_path / "notber.tap", SUBSET_DIR, "not a TAP file"),
        (good, wrong, "not a TAP 3 grammar: it has no DataInterChange"),
        (good, broken, "does not compile"),
        (good, tmp_path / "nowhere", "no such folder"),
    ]
    for path, grammar, words in cases:
        r = tap_import(loaded, path, grammar=grammar)
        assert r.code == 1, (path, grammar)
        assert words in r.err and r.err.strip().count("\n") == 0, r.err
    r = loaded(
        "usage", "import", good, "--agreement", "AG-ALFA-BETA", "--period", "2026-10", "--declarer", "ALFA",
        "--service", "voice-ALFA", "--format", "tap3",
    )  # fmt: skip
    assert r.code == 1 and "--format tap3 needs --grammar DIR" in r.err


def test_usage_tap3_writes_every_event_with_its_amounts(cli: Any, tmp_path: Path) -> None:
    path, rap, out = tmp_path / "b.tap", tmp_path / "b.rap", tmp_path / "events.csv"
    write_transfer_batch(path, GRAMMAR, CTX, EVENTS)
    write_return_batch(rap, GRAMMAR, CTX, [(EVENTS[2], [200, 201])])
    r = cli("usage", "tap3", path, "--grammar", SUBSET_DIR, "--out", out, "--rap", rap, "--json")
    assert r.code == 0, r.err
    assert (r.json()["events"], r.json()["returned"], r.json()["charge"]) == (5, 1, "1.85175")
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [row["record_id"] for row in rows] == [f"00007:{i}" for i in range(1, 6)]
    assert [row["usage"] for row in rows] == ["voice", "voice", "data", "sms", "voice"]
    # Charge 12345 * N and tax 100 * N in units of 10^-5 EUR, exactly; exchange rate code 1 is 0.86.
    assert [(row["charge"], row["tax"]) for row in rows[:2]] == [
        ("0.12345", "0.00100"),
        ("0.24690", "0.00200"),
    ]
    assert {(row["currency"], row["exchange_rate"], row["local_currency"]) for row in rows} == {
        ("EUR", "0.86000", "GBP")
    }
    assert [(row["returned"], row["error_codes"]) for row in rows][1:4] == [
        ("false", ""),
        ("true", "200 201"),
        ("false", ""),
    ]
    assert (rows[2]["volume_in"], rows[2]["volume_out"], rows[2]["start_time"]) == (
        "1000",
        "2000",
        "2026-10-02T12:00:03Z",
    )
    r = cli("usage", "tap3", path, "--grammar", SUBSET_DIR, "--out", tmp_path / "events.txt")
    assert r.code == 1 and "name it .csv" in r.err


@pytest.mark.skipif(not PEERS.is_dir(), reason="../shared/peers/tap3 is not here")
def test_usage_tap3_on_the_peer_sample(cli: Any, tmp_path: Path) -> None:
    r = cli(
        "usage", "tap3", PEERS / "tap_3_12_valid.ber", "--grammar", SUBSET_DIR, "--out", tmp_path / "e.csv"
    )
    assert r.code == 0, r.err
    assert "TotalCharge 2.300 XDR but the call events sum to 71.200 XDR" in r.out
    with (tmp_path / "e.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [(row["imsi"], row["start_time"], row["charge"], row["currency"]) for row in rows] == [
        ("133713371337133", "2014-03-01T12:03:42Z", "2.300", "XDR"),
        ("232323232323232", "2014-03-01T13:02:00Z", "2.300", "XDR"),
        ("232323232323232", "2014-03-01T13:08:00Z", "66.600", "XDR"),
        ("133713371337133", "2014-03-02T13:08:00Z", "0.000", "XDR"),
    ]
