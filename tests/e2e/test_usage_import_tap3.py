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
import pyarrow.parquet as pq
import pytest

from o2o.domain.usage import CANONICAL_COLUMNS
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
    assert not {"rows_charge", "rows_tax", "declared"} & set(r.json()), "no declaration is made here"
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


# --- the declaration's records carry each event's charge, tax, currency and exchange rate ---------------

RATED_CTX = replace(CTX, exchange_rates={1: Decimal("0.86000"), 2: Decimal("1.1")})
VOICE = [
    event(1, EventKind.MOC),
    event(2, EventKind.MTC, charge_units=987654321, tax_units=0, exchange_rate_code=2),
    event(3, EventKind.MOC, charge_units=0, tax_units=7, exchange_rate_code=None),
    event(5, EventKind.MOC, local_time="20261002120005", utc_offset="+0000"),
]


def stored(lake_path: str) -> list[tuple[Any, ...]]:
    return duckdb.execute(
        "SELECT record_id, charge, tax, currency, exchange_rate, local_currency FROM read_parquet(?) ORDER BY line",
        [lake_path],
    ).fetchall()


def audit_totals(path: Path) -> tuple[Decimal, Decimal]:
    """The batch's AuditControlInfo TotalCharge and TotalTaxValue, as the file holds them."""
    from o2o.tap3.reader import TapBatch

    batch = TapBatch(path, GRAMMAR)
    for _ in batch.events():
        pass
    assert batch.audit is not None and batch.context is not None
    assert batch.audit.total_charge is not None and batch.audit.total_tax is not None
    return batch.context.amount(batch.audit.total_charge), batch.context.amount(batch.audit.total_tax)


def test_a_tap_declaration_stores_each_event_s_amounts_and_they_sum_to_the_audit_totals(
    loaded: Any, tmp_path: Path
) -> None:
    path = tmp_path / "CDGBRALDEUBE00007"
    write_transfer_batch(path, GRAMMAR, RATED_CTX, VOICE)
    r = tap_import(loaded, path, "--json")
    assert r.code == 0, r.err
    d = r.json()
    assert (d["rows"], d["rejected"]) == (4, 0)
    # Each record: the event's units of 10^-5 EUR exactly (Decimal, five places), its exchange rate code's rate.
    assert stored(d["lake_path"]) == [
        ("00007:1", Decimal("0.12345"), Decimal("0.00100"), "EUR", Decimal("0.86000"), "GBP"),
        ("00007:2", Decimal("9876.54321"), Decimal("0.00000"), "EUR", Decimal("1.10000"), "GBP"),
        ("00007:3", Decimal("0.00000"), Decimal("0.00007"), "EUR", None, "GBP"),
        ("00007:4", Decimal("0.61725"), Decimal("0.00500"), "EUR", Decimal("0.86000"), "GBP"),
    ]
    schema = pq.read_schema(d["lake_path"])
    assert (str(schema.field("charge").type), str(schema.field("tax").type)) == (
        "decimal128(38, 5)",
        "decimal128(38, 5)",
    )
    assert str(schema.field("exchange_rate").type) == "decimal128(38, 5)"
    assert schema.names[: len(CANONICAL_COLUMNS)] == list(CANONICAL_COLUMNS)
    charge, tax = audit_totals(path)
    assert (charge, tax) == (Decimal("9877.28391"), Decimal("0.00607"))
    expected = [
        {"currency": "EUR", "records": 4, "charge": "9877.28391", "tax": "0.00607", "local_currency": "GBP"}
    ]
    assert d["tap3"]["declared"] == expected
    assert (d["tap3"]["rows_charge"], d["tap3"]["rows_tax"]) == (str(charge), str(tax))
    shown = loaded("usage", "show", d["id"], "--json")
    assert shown.code == 0, shown.err
    assert shown.json()["amounts"] == expected
    # The totals of the stored records are the batch's audit control totals, to the last decimal place.
    assert (Decimal(expected[0]["charge"]), Decimal(expected[0]["tax"])) == (charge, tax)
    table = loaded("usage", "show", d["id"])
    assert table.code == 0 and "charge 9877.28391 EUR" in table.out


def test_the_stored_amounts_are_those_of_the_records_taken(loaded: Any, tmp_path: Path) -> None:
    # Five events of three kinds, one voice event without the other party's number (rejected), one
    # returned by RAP: the voice service's declaration holds the charges of the two voice records left.
    nobody = event(6, EventKind.MOC, other_number=None, charge_units=50000, tax_units=3)
    path, rap = tmp_path / "b.tap", tmp_path / "b.rap"
    write_transfer_batch(path, GRAMMAR, CTX, [*EVENTS, nobody])
    write_return_batch(rap, GRAMMAR, CTX, [(EVENTS[1], [34])])
    r = tap_import(loaded, path, "--rap", rap, "--json")
    assert r.code == 0, r.err
    d = r.json()
    assert (d["rows"], d["rejected"]) == (2, 1)
    assert [(row[0], row[1], row[2]) for row in stored(d["lake_path"])] == [
        ("00007:1", Decimal("0.12345"), Decimal("0.00100")),
        ("00007:5", Decimal("0.61725"), Decimal("0.00500")),
    ]
    charge, tax = audit_totals(path)
    units = {e.index: (e.charge_units, e.tax_units) for e in [*EVENTS, nobody]}
    # The audit totals less the events of other kinds (3, 4), returned (2) or rejected (6).
    left_out = [units[i] for i in (2, 3, 4, 6)]
    want_charge = charge - CTX.amount(sum(c for c, _ in left_out))
    want_tax = tax - CTX.amount(sum(t for _, t in left_out))
    assert (want_charge, want_tax) == (Decimal("0.74070"), Decimal("0.00600"))
    shown = loaded("usage", "show", d["id"], "--json").json()
    assert shown["amounts"] == [
        {"currency": "EUR", "records": 2, "charge": "0.74070", "tax": "0.00600", "local_currency": "GBP"}
    ]


def test_a_csv_declaration_has_no_amounts_and_a_tap_one_rates_and_matches_as_any(
    loaded: Any, tmp_path: Path
) -> None:
    # BETA's own records of the same four calls as a CSV; ALFA's as its TAP file.
    usage = tmp_path / "voice.csv"
    usage.write_text(
        "record_id,a_number,b_number,start_time,duration_s\n"
        + "".join(
            f"b{n},+26201123456789{i},+4477009001{i:02d},2026-10-02T12:00:0{n}Z,{60 * i}\n"
            for n, i in enumerate((1, 2, 3, 5), start=1)
        ),
        encoding="utf-8",
    )
    r = loaded(
        "usage", "import", usage, "--agreement", "AG-ALFA-BETA", "--period", "2026-10", "--declarer", "BETA",
        "--service", "voice-ALFA", "--json",
    )  # fmt: skip
    assert r.code == 0, r.err
    assert pq.read_schema(r.json()["lake_path"]).names == list(CANONICAL_COLUMNS)
    shown = loaded("usage", "show", r.json()["id"], "--json")
    assert shown.code == 0 and "amounts" not in shown.json()
    path = tmp_path / "CDGBRALDEUBE00007"
    write_transfer_batch(path, GRAMMAR, RATED_CTX, VOICE)
    r = tap_import(loaded, path)
    assert r.code == 0, r.err
    assert "stored with the 4 records: charge 9877.28391 EUR, tax 0.00607 EUR" in r.out
    # Rating and matching read the canonical columns of both declarations by name, the amounts beside them.
    rated = loaded("rate", "--agreement", "AG-ALFA-BETA", "--period", "2026-10", "--json")
    assert rated.code == 0, rated.err
    assert sorted((x["records"], x["rated"]) for x in rated.json()) == [(4, 4), (4, 4)]
    sms = tmp_path / "sms.csv"
    sms.write_text("a_number,b_number,start_time\n+4930123456,+447700900123,2026-10-03T10:00:00Z\n")
    for declarer in ("ALFA", "BETA"):  # the agreement's other service, so that the period can reconcile
        r = loaded(
            "usage", "import", sms, "--agreement", "AG-ALFA-BETA", "--period", "2026-10",
            "--declarer", declarer, "--service", "sms-BETA",
        )  # fmt: skip
        assert r.code == 0, r.err
    recon = loaded("reconcile", "--agreement", "AG-ALFA-BETA", "--period", "2026-10", "--json")
    assert recon.code == 0, recon.err
    (report,) = recon.json()
    voice = next(line for line in report["lines"] if line["service"] == "voice-ALFA")
    assert (voice["matched"], voice["provider_amount"], voice["customer_amount"]) == (4, "0.11", "0.11")


@pytest.mark.parametrize("places", [0, 6])
def test_the_stored_amounts_keep_the_batch_s_decimal_places(loaded: Any, tmp_path: Path, places: int) -> None:
    # A credit (a negative charge) keeps its sign; a batch without a local currency stores none.
    ctx = replace(RATED_CTX, decimal_places=places, local_currency=None)
    events = [event(1, EventKind.MOC, charge_units=-2500, tax_units=-1), event(2, EventKind.MTC)]
    path = tmp_path / f"places{places}.tap"
    write_transfer_batch(path, GRAMMAR, ctx, events)
    r = tap_import(loaded, path, "--json")
    assert r.code == 0, r.err
    d = r.json()
    assert str(pq.read_schema(d["lake_path"]).field("charge").type) == f"decimal128(38, {places})"
    assert [(row[1], row[2], row[5]) for row in stored(d["lake_path"])] == [
        (Decimal(-2500).scaleb(-places), Decimal(-1).scaleb(-places), None),
        (Decimal(24690).scaleb(-places), Decimal(200).scaleb(-places), None),
    ]
    charge, tax = audit_totals(path)
    shown = loaded("usage", "show", d["id"], "--json").json()["amounts"]
    assert shown == [
        {"currency": "EUR", "records": 2, "charge": f"{charge:f}", "tax": f"{tax:f}", "local_currency": None}
    ]
    assert (charge, tax) == (Decimal(22190).scaleb(-places), Decimal(199).scaleb(-places))
