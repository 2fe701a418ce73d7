"""The TAP 3 reader on the public sample files (their libxfsx XML renderings are the expected values), on
files written by the project's writer (a hypothesis round trip on the grammar subset, indefinite lengths,
RAP returns), and on broken files."""

from __future__ import annotations

import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from o2o.tap3.ber import Tap3FormatError, definite, parse_header
from o2o.tap3.events import BatchContext, EventKind, TapEvent, UsageKind
from o2o.tap3.grammar import SUBSET_DIR, load_grammar
from o2o.tap3.rap import read_returns
from o2o.tap3.reader import BatchKind, TapBatch
from o2o.tap3.writer import length_octets, write_return_batch, write_transfer_batch

PEERS = Path(__file__).resolve().parents[2].parent / "shared" / "peers" / "tap3"
needs_peers = pytest.mark.skipif(not PEERS.is_dir(), reason="../shared/peers/tap3 is not here")
GRAMMAR = load_grammar(SUBSET_DIR)
# Members whose OCTET STRING is a TAP BCDString: libxfsx renders their digits.
BCD = {"imsi", "msisdn", "calledNumber", "callingNumber"}
SAMPLES = [
    ("tap_3_12_valid.ber", "tap_3_12_valid.pretty.xml"),
    ("sample-DataInterChange-1.ber", "sample-DataInterChange-1.pretty.xml"),
    ("tap_notification.ber", "tap_notification.xml"),
]


def xml_leaves(path: Path) -> list[str]:
    """The texts of the XML rendering's leaf elements, in document order ('' for an empty element)."""
    return [(e.text or "") for e in ET.parse(path).getroot().iter() if len(e) == 0]


def decoded_leaves(value: Any, key: str | None = None) -> list[str]:
    """The leaves of asn1tools' decoded tree in decoding (file) order, rendered as libxfsx does."""
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in decoded_leaves(v, k)] if value else [""]
    if isinstance(value, list):
        return [leaf for v in value for leaf in decoded_leaves(v, key)]
    if isinstance(value, tuple):
        return decoded_leaves(value[1], value[0])
    if isinstance(value, bytes):
        return [value.hex().rstrip("f")] if key in BCD else [value.decode("latin-1")]
    return [str(value)]


@needs_peers
@pytest.mark.parametrize(("ber", "xml"), SAMPLES)
def test_peer_samples_decode_to_their_xml_references(ber: str, xml: str) -> None:
    _, decoded = GRAMMAR.decode("DataInterChange", (PEERS / ber).read_bytes())
    expected = xml_leaves(PEERS / xml)
    assert decoded_leaves(decoded) == expected
    assert len(expected) >= 9


@needs_peers
def test_tap_3_12_valid_as_usage_events() -> None:
    batch = TapBatch(PEERS / "tap_3_12_valid.ber", GRAMMAR)
    events = list(batch.events())
    ctx = batch.context
    assert ctx is not None and batch.kind is BatchKind.TRANSFER
    assert (ctx.sender, ctx.recipient, ctx.file_sequence, ctx.release) == ("WERFD", "XLKJE", "31707", 12)
    # No TapCurrency: the charges are in SDR; EUR is the sender's local currency at 1.16203 per SDR.
    assert (ctx.tap_currency, ctx.local_currency, ctx.decimal_places) == ("XDR", "EUR", 3)
    assert ctx.exchange_rates == {1: Decimal("1.16203")}
    assert [e.kind for e in events] == [EventKind.MTC, EventKind.MOC, EventKind.GPRS, EventKind.SUPPL]
    assert [e.usage for e in events] == [UsageKind.VOICE, UsageKind.VOICE, UsageKind.DATA, UsageKind.NONE]
    assert [e.imsi for e in events] == [
        "133713371337133",
        "232323232323232",
        "232323232323232",
        "133713371337133",
    ]
    # 2014-03-01 14:03:42 at +0200 is 12:03:42 UTC.
    assert [e.start_epoch for e in events] == [1393675422, 1393678920, 1393679280, 1393765680]
    assert [e.duration_s for e in events] == [153, 213, 500, None]
    assert events[2].volume == 1200000000 + 2200000000
    assert [ctx.amount(e.charge_units) for e in events] == [
        Decimal("2.300"),
        Decimal("2.300"),
        Decimal("66.600"),
        Decimal("0.000"),
    ]
    assert batch.audit is not None and batch.audit.event_count == 4
    # The sample's TotalCharge is not the sum of its events (a syntax fixture): the reader says so.
    assert batch.audit_mismatches() == ["TotalCharge 2.300 XDR but the call events sum to 71.200 XDR"]


@needs_peers
def test_notification_has_no_events() -> None:
    batch = TapBatch(PEERS / "tap_notification.ber", GRAMMAR)
    assert list(batch.events()) == []
    assert batch.kind is BatchKind.NOTIFICATION
    assert batch.notification is not None and batch.notification["sender"] == b"ABC08"


def indefinite(data: bytes) -> bytes:
    """Every constructed element of `data` rewritten with an indefinite length (a test's own encoder)."""
    out, pos = [], 0
    while pos < len(data):
        header = parse_header(data, pos, len(data))
        assert header is not None and header.length >= 0
        start, stop = pos + header.size, pos + header.size + header.length
        if header.constructed:
            out.append(header.tag + b"\x80" + indefinite(data[start:stop]) + b"\x00\x00")
        else:
            out.append(data[pos:stop])
        pos = stop
    return b"".join(out)


@needs_peers
@pytest.mark.parametrize("name", ["tap_3_12_valid.ber", "sample-DataInterChange-1.ber"])
def test_indefinite_lengths_read_as_the_definite_file(name: str, tmp_path: Path) -> None:
    data = (PEERS / name).read_bytes()
    loose = indefinite(data)
    assert loose != data and definite(loose) == data
    (tmp_path / "loose.tap").write_bytes(loose)
    expected, found = TapBatch(PEERS / name, GRAMMAR), TapBatch(tmp_path / "loose.tap", GRAMMAR)
    assert list(found.events()) == list(expected.events())
    assert (found.context, found.audit) == (expected.context, expected.audit)


CTX = BatchContext(
    sender="ALFA1",
    recipient="BRAVO",
    file_sequence="00042",
    specification=3,
    release=12,
    tap_currency="EUR",
    local_currency="EUR",
    decimal_places=3,
    exchange_rates={1: Decimal("1.00000")},
    utc_offsets={1: 3600, 2: -18000},
    utc_offset_texts={1: "+0100", 2: "-0500"},
)


@st.composite
def tap_events(draw: st.DrawFn, ctx: BatchContext = CTX) -> list[TapEvent]:
    events = []
    for index in range(1, draw(st.integers(0, 12)) + 1):
        kind = draw(st.sampled_from([EventKind.MOC, EventKind.MTC, EventKind.GPRS]))
        code = draw(st.sampled_from(sorted(ctx.utc_offsets)))
        moment = draw(st.datetimes(min_value=datetime(2000, 1, 1)))
        local = moment.strftime("%Y%m%d%H%M%S")
        naive = moment.replace(microsecond=0) - datetime(1970, 1, 1)
        data = kind is EventKind.GPRS
        service = None if data else draw(st.sampled_from(["T11", "T22", "B20"]))
        usage = UsageKind.DATA if data else UsageKind.SMS if service == "T22" else UsageKind.VOICE
        events.append(
            TapEvent(
                index=index,
                kind=kind,
                usage=usage,
                imsi=draw(st.from_regex(r"[2-7][0-9]{14}", fullmatch=True)),
                msisdn=draw(st.none() | st.from_regex(r"[1-9][0-9]{7,14}", fullmatch=True)),
                other_number=None
                if data
                else draw(st.none() | st.from_regex(r"[1-9][0-9]{3,14}", fullmatch=True)),
                service_code="GPRS" if data else service,
                local_time=local,
                utc_offset=ctx.utc_offset_texts[code],
                start_epoch=int(naive.total_seconds()) - ctx.utc_offsets[code],
                duration_s=draw(st.integers(0, 86_400)),
                volume_in=draw(st.integers(0, 10**12)) if data else None,
                volume_out=draw(st.integers(0, 10**12)) if data else None,
                charge_units=draw(st.integers(0, 10**9)),
                tax_units=draw(st.integers(0, 10**6)),
                exchange_rate_code=draw(st.none() | st.just(1)),
            )
        )
    return events


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=tap_events(), loose=st.booleans())
def test_round_trip_on_the_subset_grammar(events: list[TapEvent], loose: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "batch.tap"
        assert write_transfer_batch(path, GRAMMAR, CTX, events, indefinite=loose) == len(events)
        batch = TapBatch(path, GRAMMAR)
        assert list(batch.events()) == events
        assert batch.context == CTX
        assert batch.audit_mismatches() == []


def test_rap_batch_marks_the_returned_events(tmp_path: Path) -> None:
    events = [
        TapEvent(index=i, kind=EventKind.MOC, usage=UsageKind.VOICE, imsi=f"26201000000000{i}", msisdn=None,
                 other_number="4930123456", service_code="T11", local_time=f"202610011200{i:02d}",
                 utc_offset="+0100", start_epoch=1790852400 + i, duration_s=60 + i, volume_in=None,
                 volume_out=None, charge_units=1000 * i, tax_units=0, exchange_rate_code=None)
        for i in range(1, 5)
    ]  # fmt: skip
    write_transfer_batch(tmp_path / "b.tap", GRAMMAR, CTX, events)
    write_return_batch(tmp_path / "b.rap", GRAMMAR, CTX, [(events[1], [30, 31]), (events[3], [40])])
    returns = read_returns(tmp_path / "b.rap", GRAMMAR)
    assert (returns.sender, returns.recipient) == ("BRAVO", "ALFA1")
    found = list(TapBatch(tmp_path / "b.tap", GRAMMAR, returns).events())
    assert [e.returned for e in found] == [False, True, False, True]
    assert [e.error_codes for e in found] == [(), (30, 31), (), (40,)]
    assert found[0] == events[0] and found[1] == replace(events[1], returned=True, error_codes=(30, 31))
    assert returns.matched == 2


def first_event(data: bytes) -> int:
    """The offset of the first call event of a definite-length TransferBatch."""
    top = parse_header(data, 0, len(data))
    assert top is not None
    pos = top.size
    while (child := parse_header(data, pos, len(data))) is not None and child.tag != b"\x63":
        pos += child.size + child.length
    assert child is not None
    return pos + child.size


@pytest.mark.parametrize("recursion_limit", [None, 12288], ids=["default", "raised"])
def test_truncated_and_corrupt_files_are_one_line_errors(
    tmp_path: Path, request: pytest.FixtureRequest, recursion_limit: int | None
) -> None:
    # py-evm raises the interpreter's recursion limit to 12288 when it is imported in the same process: the
    # nesting limit must hold whatever the limit (it once relied on RecursionError and failed there).
    if recursion_limit is not None:
        previous = sys.getrecursionlimit()
        sys.setrecursionlimit(recursion_limit)
        request.addfinalizer(lambda: sys.setrecursionlimit(previous))
    events = [
        TapEvent(index=1, kind=EventKind.GPRS, usage=UsageKind.DATA, imsi="262010000000001", msisdn=None,
                 other_number=None, service_code="GPRS", local_time="20261001120000", utc_offset="+0100",
                 start_epoch=1790852400, duration_s=60, volume_in=10, volume_out=20, charge_units=5,
                 tax_units=0, exchange_rate_code=None)
    ] * 3  # fmt: skip
    good = tmp_path / "good.tap"
    write_transfer_batch(good, GRAMMAR, CTX, [replace(e, index=i + 1) for i, e in enumerate(events)])
    data = good.read_bytes()
    cases = {
        "truncated": data[: len(data) - 30],
        # The first call event's length octet says more than its list holds.
        "corrupt": data[: first_event(data) + 1] + b"\x7f" + data[first_event(data) + 2 :],
        "bad length": data[: first_event(data) + 1] + b"\x89" + data[first_event(data) + 2 :],
        "garbage": b"not a TAP file at all",
        "too deep": b"\x61\x80\x63\x80\x6e\x80" + b"\x7f\x72\x80" * 5000 + b"\x00\x00" * 5003,
        "indefinite cut": indefinite(data)[:-3],
    }
    for name, content in cases.items():
        path = tmp_path / f"{name}.tap"
        path.write_bytes(content)
        with pytest.raises(Tap3FormatError) as err:
            list(TapBatch(path, GRAMMAR).events())
        message = str(err.value)
        assert "\n" not in message and str(path) in message, name


def test_length_octets() -> None:
    assert [length_octets(n) for n in (0, 127, 128, 256, 70000)] == [
        b"\x00",
        b"\x7f",
        b"\x81\x80",
        b"\x82\x01\x00",
        b"\x83\x01\x11\x70",
    ]


def test_nested_indefinite_lengths_inside_events(tmp_path: Path) -> None:
    # 12:00 at -0500 is 17:00 UTC: 2026-10-01T17:00:00Z.
    events = [
        TapEvent(index=i, kind=EventKind.MTC, usage=UsageKind.VOICE, imsi=f"26201000000001{i}", msisdn="4917012345",
                 other_number="441234567", service_code="T11", local_time="20261001120000", utc_offset="-0500",
                 start_epoch=1790874000, duration_s=i, volume_in=None, volume_out=None, charge_units=7 * i,
                 tax_units=i, exchange_rate_code=1)
        for i in range(1, 4)
    ]  # fmt: skip
    write_transfer_batch(tmp_path / "b.tap", GRAMMAR, CTX, events)
    data = (tmp_path / "b.tap").read_bytes()
    (tmp_path / "loose.tap").write_bytes(indefinite(data))
    assert definite(indefinite(data)) == data
    batch = TapBatch(tmp_path / "loose.tap", GRAMMAR)
    assert list(batch.events()) == events
    assert batch.audit_mismatches() == []
