"""`o2o generate` through the CLI: the folder it writes, its summary, and the mistakes it refuses."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from o2o.schemas.agreement import load_agreement_file


def test_generate_writes_a_network_and_its_truth(cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "net"
    r = cli("generate", "--out", out, "--operators", "4", "--cdrs", "4000", "--seed", "9", "--json")
    assert r.code == 0, r.err
    summary = r.json()
    truth = json.loads((out / "truth.json").read_text())
    assert summary["totals"] == truth["totals"] and summary["operators"] == truth["operators"]
    assert summary["totals"]["calls"] == 4000
    assert len(summary["agreements"]) == 6
    for ag in summary["agreements"]:
        assert load_agreement_file(out / "agreements" / f"{ag}.toml").id == ag
    for entry in truth["files"]:
        lines = (out / entry["file"]).read_text().splitlines()
        assert lines[0] == "record_id,service,a_number,b_number,start_time,duration_s,volume,route"
        assert len(lines) - 1 == entry["rows"]


def test_bilateral_voice_only_one_way_makes_one_file_per_side(cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "pair"
    r = cli(
        "generate", "--out", out, "--operators", "2", "--services", "voice", "--one-way",
        "--cdrs", "3000", "--missing-provider", "0", "--missing-customer", "0", "--duplicate", "0",
        "--redial", "0", "--outage-days", "0", "--json",
    )  # fmt: skip
    assert r.code == 0, r.err
    files = sorted(p.relative_to(out).as_posix() for p in (out / "usage").rglob("*.csv"))
    assert files == [
        "usage/ALFA-BRAVO/voice-ALFA-BRAVO.ALFA.csv",
        "usage/ALFA-BRAVO/voice-ALFA-BRAVO.BRAVO.csv",
    ]
    totals = r.json()["totals"]
    assert totals["ours"] == totals["theirs"] == totals["matched"] == 3000
    assert totals["only_ours"] == totals["duplicates_theirs"] == totals["redials"] == 0


def test_the_busiest_direction_has_an_outage_day_at_its_customer(cli: Any, tmp_path: Path) -> None:
    """The planted outage: a day of the busiest service direction that the customer's file lacks (the
    dispute the README acts on); truth.json names it, and its counts still hold."""
    out = tmp_path / "net"
    r = cli("generate", "--out", out, "--operators", "3", "--cdrs", "6000", "--seed", "4", "--json")
    assert r.code == 0, r.err
    truth = json.loads((out / "truth.json").read_text())
    (outage,) = truth["outages"]
    rec = next(x for x in truth["reconciliations"] if x["service"] == outage["service"])
    assert rec["calls"] == max(x["calls"] for x in truth["reconciliations"])
    assert outage["declarer"] == rec["customer"]
    start, end = (datetime.fromisoformat(outage[k]) for k in ("from", "to"))
    assert end - start == timedelta(days=1)

    def in_window(path: str) -> int:
        with (out / path).open(newline="") as fh:
            times = [datetime.fromisoformat(row["start_time"]) for row in csv.DictReader(fh)]
        return sum(start + timedelta(seconds=10) <= t < end - timedelta(seconds=10) for t in times)

    assert in_window(rec["provider_file"]) > 0
    assert in_window(rec["customer_file"]) == 0
    quiet = cli("generate", "--out", tmp_path / "quiet", "--operators", "3", "--cdrs", "6000", "--seed", "4",
                "--outage-days", "0", "--json")  # fmt: skip
    assert quiet.json()["outages"] == []
    assert quiet.json()["totals"]["only_ours"] < r.json()["totals"]["only_ours"]


def test_generate_refuses_to_overwrite_without_force(cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "net"
    assert cli("generate", "--out", out, "--operators", "2", "--cdrs", "200").code == 0
    keep = out / "notes.txt"
    keep.write_text("mine")
    r = cli("generate", "--out", out, "--operators", "2", "--cdrs", "200")
    assert r.code == 1 and "--force" in r.err
    r = cli("generate", "--out", out, "--operators", "3", "--cdrs", "300", "--force", "--json")
    assert r.code == 0 and len(r.json()["operators"]) == 3
    assert keep.read_text() == "mine"


def test_generate_mistakes_print_one_line(cli: Any, tmp_path: Path) -> None:
    for args, words in [
        (("--period", "2026-13"), "YYYY-MM"),
        (("--operators", "99"), "--operators"),
        (("--clock-skew", "9"), "--clock-skew"),
        (("--services", "voice,telex"), "--services"),
        (("--duplicate", "2"), "--duplicate"),
    ]:
        r = cli("generate", "--out", tmp_path / "x", *args)
        assert r.code == 1, args
        assert words in r.err and "Traceback" not in r.err
        assert len(r.err.strip().splitlines()) == 1
    assert not (tmp_path / "x" / "truth.json").exists()
