"""`o2o recon match` through the CLI, on a generated pair of operators and on bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from o2o.synth import SynthOptions, generate_network

KEYS = [
    "ours", "theirs", "matched", "exact", "partial", "duration_mismatch", "only_ours", "only_theirs",
    "duplicates_ours", "duplicates_theirs", "clock_offset_s",
]  # fmt: skip


def test_recon_match_prints_the_truth_and_writes_the_detail_files(cli: Any, tmp_path: Path) -> None:
    opts = SynthOptions(operators=2, cdrs=4_000, seed=5, services=("voice",), one_way=True, redial=0.05)
    truth = generate_network(opts, tmp_path / "net").truth
    (rec,) = truth["reconciliations"]
    ours, theirs = tmp_path / "net" / rec["provider_file"], tmp_path / "net" / rec["customer_file"]
    out = tmp_path / "out"
    r = cli(
        "recon",
        "match",
        ours,
        theirs,
        "--ours-country",
        "44",
        "--theirs-country",
        "49",
        "--out",
        out,
        "--json",
    )
    assert r.code == 0, r.err
    data = r.json()
    assert list(data) == KEYS
    assert {k: data[k] for k in KEYS} == {k: rec[k] for k in KEYS}
    assert pq.read_table(out / "matches.parquet").num_rows == rec["matched"]
    assert pq.read_table(out / "only_ours.parquet").num_rows == rec["only_ours"]
    assert pq.read_table(out / "only_theirs.parquet").num_rows == rec["only_theirs"]
    daily = pq.read_table(out / "daily.parquet").to_pylist()
    assert sum(d["exact"] for d in daily) == rec["exact"]
    assert sum(d["duplicates_theirs"] for d in daily) == rec["duplicates_theirs"]

    fixed = cli("recon", "match", ours, theirs, "--ours-country", "44", "--theirs-country", "49",
                "--out", tmp_path / "fixed", "--correct-clock", "--json")  # fmt: skip
    assert fixed.code == 0, fixed.err
    assert fixed.json()["matched"] == rec["matched"]


def test_recon_match_prints_a_table_without_json(cli: Any, tmp_path: Path) -> None:
    ours, theirs = tmp_path / "o.csv", tmp_path / "t.csv"
    ours.write_text(
        "record_id,a_number,b_number,start_time,duration_s\n1,+4420,+4477,2026-10-01T00:00:00Z,5\n"
    )
    theirs.write_text(
        "record_id,a_number,b_number,start_time,duration_s\n9,004420,004477,2026-10-01T00:00:03Z,7\n"
    )
    r = cli("recon", "match", ours, theirs, "--out", tmp_path / "out")
    assert r.code == 0 and "duration_mismatch" in r.out and "only_theirs" in r.out


def test_recon_match_refuses_bad_input_in_one_line(cli: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("record_id,a_number\n1,123\n")
    r = cli("recon", "match", bad, bad, "--out", tmp_path / "out", "--json")
    assert r.code == 1
    assert "missing column(s) b_number, start_time" in r.err and len(r.err.strip().splitlines()) == 1
    r = cli("recon", "match", tmp_path / "nope.csv", bad, "--out", tmp_path / "out")
    assert r.code == 1 and "no such file" in r.err
    r = cli("recon", "match", bad, bad, "--out", tmp_path / "out", "--time-tolerance", "-1")
    assert r.code == 1 and "must not be negative" in r.err
