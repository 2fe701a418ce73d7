"""`o2o rate file` through the CLI: the documented example agreement, JSON figures, errors as one line."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "agreement"


def _example(tmp_path: Path) -> Path:
    folder = tmp_path / "agreement"
    shutil.copytree(EXAMPLE, folder)
    return folder


def test_rate_file_prices_the_documented_example(cli: Any, tmp_path: Path) -> None:
    folder = _example(tmp_path)
    out = tmp_path / "out"
    r = cli(
        "rate", "file", folder / "usage.csv", "--agreement-file", folder / "agreement.toml",
        "--service", "voice-de", "--declarer", "BETA", "--out", out, "--json",
    )  # fmt: skip
    assert r.code == 0, r.err
    data = r.json()
    assert (data["records"], data["rated"], data["unrated"]) == (6, 4, 2)
    assert data["unrated_by_reason"] == {"no_destination": 1, "other_service": 1}
    figures = data["services"]["voice-de"]
    # 0.0120 + 0.5020 + 0.0140 + 0.0380 (see docs/agreements.md for each call)
    assert figures == {
        "billed_quantity": 744,
        "quantity_unit": "second",
        "amount": "0.57",
        "amount_unrounded": "0.5660",
    }
    rated = {row["record_id"]: row for row in pq.read_table(out / "rated.parquet").to_pylist()}
    assert rated["c2"]["band"] == "peak" and rated["c2"]["charge"] == Decimal("0.5020")
    assert rated["c4"]["rate_version"] == "2026b"
    assert rated["c1"]["b_number"] == "49301234567"  # +49 30 1234567 normalised
    unrated = pq.read_table(out / "unrated.parquet").to_pylist()
    assert {(u["record_id"], u["reason"]) for u in unrated} == {
        ("c5", "no_destination"),
        ("c6", "other_service"),
    }


def test_rate_file_numbers_follow_the_declarer_plan(cli: Any, tmp_path: Path) -> None:
    # Under the provider's (ALFA, German) plan, BETA's 810… international numbers are not German numbers.
    folder = _example(tmp_path)
    r = cli(
        "rate", "file", folder / "usage.csv", "--agreement-file", folder / "agreement.toml",
        "--service", "voice-de", "--out", tmp_path / "out", "--json",
    )  # fmt: skip
    assert r.code == 0, r.err
    assert r.json()["rated"] == 1  # only the call written +49… still matches


def test_rate_file_recurring_service_by_period(cli: Any, tmp_path: Path) -> None:
    folder = _example(tmp_path)
    r = cli(
        "rate", "file", "--agreement-file", folder / "agreement.toml", "--service", "lease",
        "--period", "2026-10", "--json",
    )  # fmt: skip
    assert r.code == 0, r.err
    data = r.json()
    assert data["services"]["lease"]["amount"] == "493.55"
    assert [(c["name"], c["days_in_service"], c["amount"]) for c in data["recurring"]] == [
        ("E1 Berlin-Moscow", 21, "203.2258"),  # the example rounds records to 4 decimals
        ("Rack M9-12", 20, "290.3226"),
    ]


def test_rate_file_table_output(cli: Any, tmp_path: Path) -> None:
    folder = _example(tmp_path)
    r = cli(
        "rate", "file", folder / "usage.csv", "--agreement-file", folder / "agreement.toml",
        "--service", "voice-de", "--declarer", "BETA", "--out", tmp_path / "out",
    )  # fmt: skip
    assert r.code == 0, r.err
    assert "0.57 EUR" in r.out and "no_destination" in r.out


def test_rate_file_errors_are_one_line(cli: Any, tmp_path: Path) -> None:
    folder = _example(tmp_path)
    agreement = folder / "agreement.toml"
    r = cli(
        "rate",
        "file",
        folder / "usage.csv",
        "--agreement-file",
        agreement,
        "--service",
        "fax",
        "--out",
        tmp_path,
    )
    assert r.code == 1 and "has no service 'fax'" in r.err
    r = cli("rate", "file", "--agreement-file", agreement, "--service", "lease")
    assert r.code == 1 and "give --period" in r.err
    r = cli(
        "rate",
        "file",
        tmp_path / "nope.csv",
        "--agreement-file",
        agreement,
        "--service",
        "voice-de",
        "--out",
        tmp_path,
    )
    assert r.code == 1 and "does not exist" in r.err
    bad = tmp_path / "bad.csv"
    bad.write_text("record_id,a_number\nx,1\n", encoding="utf-8")
    r = cli("rate", "file", bad, "--agreement-file", agreement, "--service", "voice-de", "--out", tmp_path)
    assert r.code == 1 and "missing column(s) b_number, start_time" in r.err
