"""`o2o recon roaming HOME.csv VISITED.tap`: the home operator's records of its roamers matched against the
visited operator's TAP file per service (IMSI, time, duration) and compared per TADIG pair and service."""

from __future__ import annotations

import decimal
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from o2o.tap3.events import BatchContext, EventKind, TapEvent, UsageKind
from o2o.tap3.grammar import SUBSET_DIR, load_grammar
from o2o.tap3.writer import write_return_batch, write_transfer_batch

GRAMMAR = load_grammar(SUBSET_DIR)
CTX = BatchContext(
    sender="GBRAL", recipient="DEUBE", file_sequence="00011", specification=3, release=12, tap_currency="EUR",
    local_currency="GBP", decimal_places=3, exchange_rates={}, utc_offsets={1: 3600}, utc_offset_texts={1: "+0100"},
)  # fmt: skip
A, B = "262011234567890", "262019876543210"


def ev(index: int, kind: EventKind, imsi: str, local: str, duration: int, **more: Any) -> TapEvent:
    fields: dict[str, Any] = dict(
        index=index, kind=kind, usage=UsageKind.DATA if kind is EventKind.GPRS else UsageKind.VOICE, imsi=imsi,
        msisdn=None, other_number=None, service_code="GPRS" if kind is EventKind.GPRS else "T11",
        local_time=f"20261002{local}", utc_offset="+0100", start_epoch=None, duration_s=duration,
        volume_in=None, volume_out=None, charge_units=100, tax_units=0, exchange_rate_code=None,
    )  # fmt: skip
    fields.update(more)
    return TapEvent(**fields)


# Local times at +0100: 130000 is 12:00:00 UTC.
EVENTS = [
    ev(1, EventKind.MOC, A, "130000", 60),
    ev(2, EventKind.MOC, A, "131000", 120),
    ev(3, EventKind.MTC, B, "132000", 30),
    ev(4, EventKind.GPRS, B, "133000", 600, volume_in=1 << 20, volume_out=1 << 20),
    ev(5, EventKind.MOC, A, "134000", 0, usage=UsageKind.SMS, service_code="T22"),
]
HOME = """imsi,start_time,duration_s,volume,service,visited
262011234567890,2026-10-02T12:00:02Z,60,,MOC,GBRAL
262011234567890,2026-10-02T14:10:00+02:00,118,,moc,GBRAL
262019876543210,2026-10-02T12:30:00Z,600,2097152,data,GBRAL
262011234567890,2026-10-02T12:40:01Z,,,SMS-MO,GBRAL
262011234567890,2026-10-02T15:00:00Z,45,,MOC,GBRAL
262011234567890,2026-10-02T15:00:00Z,45,,MOC,FRAF1
"""


def minutes(seconds: int) -> Decimal:
    return (Decimal(seconds) / 60).quantize(Decimal("0.000001"), rounding=decimal.ROUND_HALF_EVEN)


def percent(own: Decimal, partner: Decimal) -> Decimal:
    return ((own - partner) * 100 / own).quantize(Decimal("0.00000001"), rounding=decimal.ROUND_HALF_EVEN)


def run(cli: Any, tmp_path: Path, *extra: str | Path) -> Any:
    (tmp_path / "home.csv").write_text(HOME, encoding="utf-8")
    return cli(
        "recon", "roaming", tmp_path / "home.csv", tmp_path / "visited.tap", "--grammar", SUBSET_DIR,
        "--out", tmp_path / "out", "--json", *extra,
    )  # fmt: skip


def test_home_records_against_the_visited_operators_tap(cli: Any, tmp_path: Path) -> None:
    write_transfer_batch(tmp_path / "visited.tap", GRAMMAR, CTX, EVENTS)
    r = run(cli, tmp_path)
    assert r.code == 0, r.err
    report = r.json()
    assert report["home"] == {"rows": 5, "other_networks": 1}
    m = report["matching"]
    assert set(m) == {"MOC", "MTC", "SMS MO", "GPRS"}
    moc = m["MOC"]
    assert (moc["ours"], moc["theirs"], moc["matched"], moc["exact"], moc["duration_mismatch"]) == (
        3,
        2,
        2,
        1,
        1,
    )
    assert (moc["only_ours"], moc["only_theirs"]) == (1, 0)
    assert (m["MTC"]["ours"], m["MTC"]["only_theirs"]) == (0, 1)
    assert (m["GPRS"]["matched"], m["GPRS"]["exact"]) == (1, 1)
    assert (m["SMS MO"]["matched"], m["SMS MO"]["exact"]) == (
        1,
        1,
    )  # no duration in the home file: none compared
    pairs = duckdb.execute(
        "SELECT ours_line, theirs_record_id, time_gap_s, duration_gap_s, class FROM read_parquet(?) ORDER BY ours_line",
        [str(tmp_path / "out" / "moc" / "matches.parquet")],
    ).fetchall()
    assert pairs == [(2, "00011:1", -2, 0, "exact"), (3, "00011:2", 0, 2, "duration_mismatch")]
    lines = {d["service"]: d for d in report["discrepancy"]}
    assert set(lines) == {"MOC", "SMS MO", "GPRS"}  # MTC: only the TAP side has usage
    own, partner = minutes(60 + 118 + 45), minutes(60 + 120)
    assert lines["MOC"] == {
        "home": "DEUBE", "visited": "GBRAL", "year_month": "202610", "service": "MOC", "unit": "min",
        "own": str(own), "partner": str(partner), "delta": str(own - partner),
        "delta_percent": str(percent(own, partner)),
    }  # fmt: skip
    gprs = lines["GPRS"]
    assert [gprs[k] for k in ("own", "partner", "delta", "delta_percent")] == ["2", "2", "0", "0.00000000"]
    assert (lines["SMS MO"]["own"], lines["SMS MO"]["partner"]) == ("1", "1")
    assert report["only_tap"] == [
        {"home": "DEUBE", "visited": "GBRAL", "year_month": "202610", "service": "MTC", "usage": "0.500000",
         "unit": "min"}
    ]  # fmt: skip
    assert report["only_home"] == []


def test_returned_events_and_audit_and_bad_rows(cli: Any, tmp_path: Path) -> None:
    write_transfer_batch(tmp_path / "visited.tap", GRAMMAR, CTX, EVENTS)
    write_return_batch(tmp_path / "r.rap", GRAMMAR, CTX, [(EVENTS[2], [30])])
    r = run(cli, tmp_path, "--rap", tmp_path / "r.rap")
    assert r.code == 0, r.err
    assert "MTC" not in r.json()["matching"] and r.json()["tap"]["returned"] == 1
    write_transfer_batch(
        tmp_path / "visited.tap", GRAMMAR, CTX, EVENTS,
        audit=lambda count, charge, tax: {"totalCharge": charge * 2, "callEventDetailsCount": count},
    )  # fmt: skip
    r = run(cli, tmp_path)
    assert r.code == 1 and "TotalCharge 1.000 EUR but the call events sum to 0.500 EUR" in r.err
    assert r.err.strip().count("\n") == 0
    assert run(cli, tmp_path, "--accept-audit-mismatch").code == 0
    (tmp_path / "bad.csv").write_text(
        "imsi,start_time,service\n262011234567890,yesterday,MOC\n", encoding="utf-8"
    )
    r = cli(
        "recon", "roaming", tmp_path / "bad.csv", tmp_path / "visited.tap", "--grammar", SUBSET_DIR, "--out",
        tmp_path / "o2", "--accept-audit-mismatch",
    )  # fmt: skip
    assert r.code == 1 and "line 2: start_time: not an ISO-8601 time with a UTC offset" in r.err
