"""Tariffs as operators sign them, through the CLI: billing increments per destination and per rate (30/6,
1/1 beside a 60/60 default, in TOML and in the rate-deck CSV) and a rate change at a time of day across
the autumn DST change, rated by `o2o rate file` and from the workspace (`o2o rate --agreement`) on SQLite
and PostgreSQL, each figure equal to the reference rater's; bad increments and times refused in one line.

Europe/Berlin leaves summer time on 2026-10-25 at 03:00 CEST (01:00Z): the new prices from 12:00 that day
start at 11:00Z, not at 10:00Z as a summer-time reading would have it.
"""

from __future__ import annotations

import csv
import textwrap
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from rating_reference_rater import Rec, line_total, reference_rate, rnd

from o2o.domain.agreements import Agreement
from o2o.schemas.agreement import load_agreement_file, to_domain

OPERATORS = """
[[operators]]
id = "ALFA"
name = "Alfa Netz GmbH"
currency = "EUR"
country_code = "49"

[[operators]]
id = "BETA"
name = "Beta Telecom plc"
currency = "EUR"
country_code = "44"
"""

AGREEMENT = """
id = "AG-SIGNED"
currency = "EUR"
timezone = "Europe/Berlin"
valid_from = 2026-01-01

[[parties]]
operator = "ALFA"
country_code = "49"

[[parties]]
operator = "BETA"
country_code = "44"

[[services]]
id = "voice"
kind = "voice"
provider = "ALFA"
customer = "BETA"
increments = { first = 60, next = 60 }
destinations = [
  { prefix = "49", name = "Germany" },
  { prefix = "4915", name = "Germany mobile", increments = { first = 30, next = 6 } },
  { prefix = "4917", name = "Germany mobile", increments = { first = 30, next = 6 } },
  { prefix = "4990", name = "Premium" },
]
rates = [
  { destination = "Germany", price = 0.0100, valid_from = 2026-01-01 },
  { destination = "Germany mobile", price = 0.0500, valid_from = 2026-01-01, version = "m1" },
  { destination = "Germany mobile", price = 0.0450, valid_from = 2026-10-25T12:00:00, version = "m2" },
  { destination = "Premium", price = 0.60, valid_from = 2026-01-01, increments = { first = 1, next = 1 } },
  { destination = "Premium", price = 0.90, valid_from = "2026-10-25T12:00", increments = { first = 1, next = 1 } },
]

[[services]]
id = "voice-deck"
kind = "voice"
provider = "ALFA"
customer = "BETA"
increments = { first = 60, next = 60 }
rate_deck = "deck.csv"
"""

DECK = """prefix,destination,price,valid_from,band,version,increments
49,Germany,0.0100,2026-01-01,,d1,
4915,Germany mobile,0.0500,2026-01-01,,d1,30/6
4917,Germany mobile,0.0500,2026-01-01,,d1,30/6
4915,Germany mobile,0.0450,2026-10-25T12:00,,d2,30/6
4917,Germany mobile,0.0450,2026-10-25T12:00,,d2,30/6
4990,Premium,0.6000,2026-01-01,,d1,1/1
4990,Premium,0.9000,2026-10-25T12:00,,d2,1/1
"""

NUMBERS = {"fix": "4930123456", "mob": "4915112345678", "mob7": "4917012345678", "prem": "4990012345"}
STARTS = [
    "2026-10-14T12:00:00Z",  # summer time, first prices
    "2026-10-25T00:30:00Z",  # 02:30 CEST, before the clocks go back
    "2026-10-25T10:30:00Z",  # 11:30 CET: first prices (12:30 if read in summer time)
    "2026-10-25T10:59:59Z",  # 11:59:59 CET: first prices
    "2026-10-25T11:00:00Z",  # 12:00 CET: new prices
    "2026-10-26T09:00:00Z",
]
DURATIONS = [1, 29, 31, 37, 61, 125]


def _calls() -> list[dict[str, str]]:
    rows = []
    for i, start in enumerate(STARTS):
        for j, (name, number) in enumerate(NUMBERS.items()):
            duration = DURATIONS[(i + j) % len(DURATIONS)]
            rows.append({"record_id": f"{name}-{i}", "b_number": number, "start": start, "d": str(duration)})
    return rows


def _write(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "operators.toml").write_text(OPERATORS, encoding="utf-8")
    (folder / "agreement.toml").write_text(AGREEMENT, encoding="utf-8")
    (folder / "deck.csv").write_text(DECK, encoding="utf-8")
    with (folder / "usage.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["record_id", "service", "a_number", "b_number", "start_time", "duration_s", "volume", "route"]
        )
        for c in _calls():
            w.writerow(
                [c["record_id"], "", "+442079460000", "+" + c["b_number"], c["start"], c["d"], "", "tr1"]
            )
    return folder


def _expected(agreement: Agreement, service: str) -> tuple[dict[str, Any], Decimal, Decimal]:
    """The reference rater's records (by record id), line amount and exact sum (10 decimals)."""
    calls = _calls()
    recs = [
        Rec(
            line=i,
            service=None,
            b_number=c["b_number"],
            start_epoch=int(datetime.fromisoformat(c["start"]).astimezone(UTC).timestamp()),
            duration_s=int(c["d"]),
            volume=None,
            record_id=c["record_id"],
        )
        for i, c in enumerate(calls)
    ]
    outcomes = reference_rate(agreement, service, recs, None)
    assert all(o.reason is None for o in outcomes)
    exact = rnd(sum((o.num for o in outcomes), Fraction(0)), 10, agreement.rounding.mode)
    by_id = {c["record_id"]: o for c, o in zip(calls, outcomes, strict=True)}
    return by_id, line_total(agreement, outcomes), exact


@pytest.mark.parametrize("service", ["voice", "voice-deck"])
def test_rate_file_bills_each_destination_by_its_increments_and_dated_time(
    cli: Any, tmp_path: Path, service: str
) -> None:
    folder = _write(tmp_path / "signed")
    out = tmp_path / "out"
    r = cli("rate", "file", folder / "usage.csv", "--agreement-file", folder / "agreement.toml",
            "--service", service, "--out", out, "--json")  # fmt: skip
    assert r.code == 0, r.err
    expected, amount, exact = _expected(to_domain(load_agreement_file(folder / "agreement.toml")), service)
    figures = r.json()["services"][service]
    assert (figures["amount"], figures["amount_unrounded"]) == (str(amount), str(exact))
    rated = {row["record_id"]: row for row in pq.read_table(out / "rated.parquet").to_pylist()}
    assert set(rated) == set(expected)
    for rid, o in expected.items():
        row = rated[rid]
        assert (row["billed_quantity"], row["charge"], row["rate_version"]) == (o.billed, o.charge, o.version)
    # Hand-checked: 31 s bills 60 (Germany 60/60), 36 (mobile 30/6) or 31 (premium 1/1) seconds.
    assert [rated[k]["billed_quantity"] for k in ("fix-2", "mob-1", "prem-5")] == [60, 36, 31]
    # 11:30 CET on the day the clocks go back still has the first prices; 12:00 CET the new ones.
    old, new = ("m1", "m2") if service == "voice" else ("d1", "d2")
    assert [rated[f"mob-{i}"]["rate_version"] for i in (2, 3, 4)] == [old, old, new]
    assert rated["prem-4"]["price"] == Decimal("0.9") and rated["prem-3"]["price"] == Decimal("0.6")


def test_workspace_rating_uses_the_stored_increments_and_times(db_cli: Any, tmp_path: Path) -> None:
    folder = _write(tmp_path / "signed")
    assert db_cli("operator", "add", "--file", folder / "operators.toml").code == 0
    r = db_cli("agreement", "load", folder / "agreement.toml")
    assert r.code == 0, r.err
    agreement = to_domain(load_agreement_file(folder / "agreement.toml"))
    for service in ("voice", "voice-deck"):
        r = db_cli("usage", "import", folder / "usage.csv", "--agreement", "AG-SIGNED", "--period", "2026-10",
                   "--declarer", "ALFA", "--service", service)  # fmt: skip
        assert r.code == 0, r.err
    r = db_cli("rate", "--agreement", "AG-SIGNED", "--period", "2026-10", "--declarer", "ALFA", "--json")
    assert r.code == 0, r.err
    got = {next(iter(x["services"])): x for x in r.json()}
    for service in ("voice", "voice-deck"):
        _, amount, exact = _expected(agreement, service)
        assert got[service]["rated"] == len(_calls())
        figures = got[service]["services"][service]
        assert (figures["amount"], figures["amount_unrounded"]) == (str(amount), str(exact))


BAD = [
    ("deck.csv", "4915,Germany mobile,0.0500,2026-01-01,,d1,30/6", "4915,Germany mobile,0.0500,2026-01-01,,d1,30/0",
     "deck.csv: line 3: increments"),
    ("deck.csv", "4990,Premium,0.6000,2026-01-01,,d1,1/1", "4990,Premium,0.6000,2026-01-01,,d1,1-1",
     "deck.csv: line 7: increments"),
    ("deck.csv", "4990,Premium,0.9000,2026-10-25T12:00,,d2,1/1", "4990,Premium,0.9000,2026-03-29T02:30,,d2,1/1",
     "deck.csv: line 8: valid_from: 2026-03-29T02:30:00 does not exist in Europe/Berlin"),
    ("deck.csv", "4990,Premium,0.9000,2026-10-25T12:00,,d2,1/1", "4990,Premium,0.9000,2026-10-25T25:00,,d2,1/1",
     "deck.csv: line 8: valid_from"),
    ("deck.csv", "4917,Germany mobile,0.0500,2026-01-01,,d1,30/6", "4917,Germany mobile,0.0500,2026-01-01,,d1,60/6",
     "deck.csv: line 4: 'Germany mobile' any from 2026-01-01 differs from line 3"),
    ("agreement.toml", 'name = "Premium" }', 'name = "Premium", increments = { first = 0, next = 1 } }',
     "services[0].destinations[3].increments.first"),
    ("agreement.toml", '{ prefix = "4917", name = "Germany mobile", increments = { first = 30, next = 6 } }',
     '{ prefix = "4917", name = "Germany mobile", increments = { first = 60, next = 6 } }',
     "destinations[2].increments: 'Germany mobile' already bills by other increments"),
    ("agreement.toml", "valid_from = 2026-10-25T12:00:00, version", "valid_from = 2026-03-29T02:15:00, version",
     "services[0].rates[2].valid_from: 2026-03-29T02:15:00 does not exist in Europe/Berlin"),
    ("agreement.toml", "valid_from = 2026-10-25T12:00:00, version", "valid_from = 2026-10-25T12:00:00+01:00, version",
     "services[0].rates[2].valid_from"),
    ("agreement.toml", "valid_from = 2026-10-25T12:00:00, version", "valid_from = 2026-01-01T00:00:00, version",
     "rates[2]: a second price for 'Germany mobile' any from 2026-01-01"),  # midnight is the plain date
]  # fmt: skip


@pytest.mark.parametrize(("file", "good", "bad", "message"), BAD)
def test_bad_increments_and_times_are_refused_in_one_line(
    cli: Any, tmp_path: Path, file: str, good: str, bad: str, message: str
) -> None:
    folder = _write(tmp_path / "signed")
    text = (folder / file).read_text(encoding="utf-8")
    assert good in text
    (folder / file).write_text(text.replace(good, bad, 1), encoding="utf-8")
    r = cli("rate", "file", folder / "usage.csv", "--agreement-file", folder / "agreement.toml",
            "--service", "voice", "--out", tmp_path / "out")  # fmt: skip
    assert r.code != 0
    assert message in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1, r.err
    assert "Traceback" not in r.err


def test_increments_on_a_data_destination_are_refused(cli: Any, tmp_path: Path) -> None:
    folder = _write(tmp_path / "signed")
    data = textwrap.dedent(
        """
        [[services]]
        id = "data"
        kind = "data"
        provider = "ALFA"
        customer = "BETA"
        destinations = [{ prefix = "", name = "IP", increments = { first = 30, next = 6 } }]
        rates = [{ destination = "IP", price = 0.5, valid_from = 2026-01-01 }]
        """
    )
    with (folder / "agreement.toml").open("a", encoding="utf-8") as fh:
        fh.write(data)
    r = cli("rate", "file", folder / "usage.csv", "--agreement-file", folder / "agreement.toml",
            "--service", "voice", "--out", tmp_path / "out")  # fmt: skip
    assert r.code != 0
    assert "services[2]" in r.err and "increments apply to voice only" in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1, r.err
