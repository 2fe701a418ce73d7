"""Usage import through the CLI: validation, rejects with lines, refusals, idempotency, history, kill."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

HEADER = "record_id,a_number,b_number,start_time,duration_s\n"
GOOD = [
    "r1,+447700900123,0049301234567,2026-10-01T12:00:05Z,60",
    "r2,07700900124,+49 30 1234568,2026-10-02T12:00:05+02:00,61",
    "r3,00447700900125,004930-1234569,2026-10-03T08:00:00Z,0",
]


def write(tmp_path: Path, name: str, lines: list[str], header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def do_import(cli: Any, path: Path, *extra: str) -> Any:
    return cli(
        "usage", "import", path, "--agreement", "AG-ALFA-BETA", "--period", "2026-10",
        "--declarer", "ALFA", "--service", "voice-ALFA", "--json", *extra,
    )  # fmt: skip


def rejects(path: str) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_import_normalises_and_records_the_declaration(loaded: Any, tmp_path: Path) -> None:
    r = do_import(loaded, write(tmp_path, "u.csv", GOOD))
    assert r.code == 0, r.err
    d = r.json()
    assert (d["rows"], d["rejected"], d["duration_s"], d["role"]) == (3, 0, 121, "provider")
    rows = duckdb.execute(
        "SELECT line, a_number, b_number, start_epoch, duration_s FROM read_parquet(?) ORDER BY line",
        [d["lake_path"]],
    ).fetchall()
    assert rows == [
        (2, "447700900123", "49301234567", 1790856005, 60),
        (3, "447700900124", "49301234568", 1790935205, 61),
        (4, "447700900125", "49301234569", 1791014400, 0),
    ]
    listed = loaded("usage", "list", "--json").json()
    assert [x["id"] for x in listed] == [d["id"]]


def test_bad_rows_go_to_the_rejects_file_with_line_and_reason(loaded: Any, tmp_path: Path) -> None:
    lines = [
        GOOD[0],
        "r2,+447700900123,0049301234567,yesterday,60",  # bad timestamp
        "r3,+447700900123,0049301234567,2026-10-01T12:00:05Z,-4",  # negative duration
        "r4,+44770090O123,0049301234567,2026-10-01T12:00:05Z,60",  # letter O in a number
        "r5,+447700900123,0049301234567,2026-10-01T12:00:05Z",  # a field missing
        "r6,+447700900123,0049301234567,2026-11-01T12:00:05Z,60",  # outside the period
        "r7,+447700900123,0049301234567,2026-10-01 12:00:05,60",  # no UTC offset
        GOOD[1],
    ]
    r = do_import(loaded, write(tmp_path, "bad.csv", lines))
    assert r.code == 0, r.err
    d = r.json()
    assert (d["rows"], d["rejected"]) == (2, 6)
    got = {int(x["line"]): x["reason"] for x in rejects(d["rejects_path"])}
    assert sorted(got) == [3, 4, 5, 6, 7, 8]
    assert got[3].startswith("start_time: not an ISO-8601 time")
    assert got[4] == "duration_s: negative: -4"
    assert got[5].startswith("a_number: not a phone number: +44770090O123")
    assert "Expected Number of Columns" in got[6]
    assert got[7].startswith("start_time: outside period 2026-10")
    assert got[8].startswith("start_time: not an ISO-8601 time with a UTC offset")
    accepted = duckdb.execute("SELECT line FROM read_parquet(?) ORDER BY line", [d["lake_path"]]).fetchall()
    assert accepted == [(2,), (9,)]


def test_empty_lines_are_not_rows_and_the_lines_after_them_stay_true(loaded: Any, tmp_path: Path) -> None:
    lines = [
        GOOD[0],  # line 2
        "",  # 3
        "r4,+44770090O123,0049301234567,2026-10-01T12:00:05Z,60",  # 4: rejected by the validation
        "",  # 5
        "r5,+447700900123,0049301234567,2026-10-01T12:00:05Z",  # 6: rejected by the CSV reader
        GOOD[1],  # 7
        "",  # 8
        GOOD[2],  # 9, then an empty last line
    ]
    r = do_import(loaded, write(tmp_path, "gaps.csv", [*lines, ""]))
    assert r.code == 0, r.err
    d = r.json()
    assert (d["rows"], d["rejected"]) == (3, 2)
    assert sorted(int(x["line"]) for x in rejects(d["rejects_path"])) == [4, 6]
    accepted = duckdb.execute("SELECT line FROM read_parquet(?) ORDER BY line", [d["lake_path"]]).fetchall()
    assert accepted == [(2,), (7,), (9,)]


def test_non_utf8_rows_are_rejected_by_line(loaded: Any, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + GOOD[0] + "\n").encode() + "r2,+4477009001\xe9,1,x,1\n".encode("latin-1"))
    d = do_import(loaded, path).json()
    assert (d["rows"], d["rejected"]) == (1, 1)
    (row,) = rejects(d["rejects_path"])
    assert row["line"] == "3"
    assert "utf-8" in row["reason"]


def test_refusals_name_the_problem_and_write_nothing(loaded: Any, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    r = do_import(loaded, empty)
    assert r.code == 1
    assert "empty.csv: the file is empty" in r.err
    r = do_import(loaded, write(tmp_path, "nocol.csv", ["r1,+447700900123,2026-10-01T12:00:05Z,60"],
                               header="record_id,a_number,start_time,duration_s\n"))  # fmt: skip
    assert r.code == 1
    assert "missing column(s) b_number" in r.err
    r = do_import(loaded, write(tmp_path, "allbad.csv", ["r1,abc,def,x,1"]))
    assert r.code == 1
    assert "no valid rows (1 rejected" in r.err
    assert "Traceback" not in r.err
    assert loaded("usage", "list", "--json").json() == []


def test_unknown_operator_agreement_or_service(loaded: Any, tmp_path: Path) -> None:
    path = write(tmp_path, "u.csv", GOOD)
    r = loaded("usage", "import", path, "--agreement", "AG-NOPE", "--period", "2026-10", "--declarer", "ALFA")
    assert r.code == 1
    assert "unknown agreement 'AG-NOPE'" in r.err
    r = loaded(
        "usage", "import", path, "--agreement", "AG-ALFA-BETA", "--period", "2026-10", "--declarer", "GAMA"
    )
    assert r.code == 1
    assert "unknown operator 'GAMA'" in r.err
    r = loaded("usage", "import", path, "--agreement", "AG-ALFA-BETA", "--period", "2026-10",
               "--declarer", "ALFA", "--service", "data-X")  # fmt: skip
    assert r.code == 1
    assert "has no service 'data-X'" in r.err
    r = loaded(
        "usage", "import", path, "--agreement", "AG-ALFA-BETA", "--period", "2026-13", "--declarer", "ALFA"
    )
    assert r.code == 1
    assert "is not YYYY-MM" in r.err


def test_same_file_twice_is_a_no_op_and_a_new_file_replaces_with_history(loaded: Any, tmp_path: Path) -> None:
    path = write(tmp_path, "u.csv", GOOD)
    first = do_import(loaded, path).json()
    again = do_import(loaded, path).json()
    assert again["already_imported"] is True
    assert again["id"] == first["id"]
    # A correction (one duration changed) replaces the declaration without --replace.
    second = do_import(loaded, write(tmp_path, "u2.csv", [*GOOD[:2], GOOD[2][: -len(",0")] + ",7"])).json()
    assert second["replaced"] == first["id"]
    assert (second["rows"], second["duration_s"]) == (3, 128)
    active = loaded("usage", "list", "--json").json()
    assert [x["id"] for x in active] == [second["id"]]
    history = loaded("usage", "list", "--history", "--json").json()
    assert {x["id"]: x["status"] for x in history} == {first["id"]: "superseded", second["id"]: "active"}
    shown = loaded("usage", "show", second["id"], "--json").json()
    assert shown["history"] == [first["id"], second["id"]]
    assert Path(first["lake_path"]).exists()  # the old declaration's data is kept


def test_parquet_input(loaded: Any, tmp_path: Path) -> None:
    csv_path = write(tmp_path, "u.csv", GOOD)
    pq = tmp_path / "u.parquet"
    duckdb.execute(
        f"COPY (SELECT * FROM read_csv('{csv_path}', all_varchar=true)) TO '{pq}' (FORMAT parquet)"
    )
    d = do_import(loaded, pq).json()
    assert (d["rows"], d["rejected"]) == (3, 0)


def test_killed_import_leaves_no_declaration_and_no_stray_file(
    loaded: Any, tmp_path: Path, db_workspace: Path
) -> None:
    big = tmp_path / "big.csv"
    duckdb.execute(
        f"""COPY (SELECT 'r' || i AS record_id, '+4477' || (10000000 + i % 9000000) AS a_number,
                 '0049' || (300000000 + i) AS b_number,
                 strftime(TIMESTAMP '2026-10-02 00:00:00' + to_seconds(i % 2000000),
                          '%Y-%m-%dT%H:%M:%SZ') AS start_time,
                 i % 600 AS duration_s FROM range(3000000) t(i)) TO '{big}' (HEADER)"""
    )
    cmd = [sys.executable, "-c", "from o2o.cli.app import main; main()", "usage", "import", str(big),
           "--agreement", "AG-ALFA-BETA", "--period", "2026-10", "--declarer", "ALFA",
           "--service", "voice-ALFA"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    staging = db_workspace / "lake" / ".staging"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (staging.exists() and any(staging.iterdir())):
        time.sleep(0.02)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert loaded("usage", "list", "--history", "--json").json() == []
    # The next write sweeps what the dead process left; only the new declaration's file remains.
    d = do_import(loaded, write(tmp_path, "u.csv", GOOD)).json()
    files = sorted(p for p in (db_workspace / "lake").rglob("*") if p.is_file())
    assert files == [Path(d["lake_path"])]


def test_open_period_shows_who_has_yet_to_declare(loaded: Any, tmp_path: Path) -> None:
    assert loaded("period", "open", "2026-10", "--json").json()["opened"] == ["AG-ALFA-BETA/2026-10"]
    (cycle,) = loaded("cycle", "status", "--period", "2026-10", "--json").json()
    assert cycle["state"] == "open"
    assert sorted(cycle["waiting_for"]) == [
        "ALFA (customer) for sms-BETA",
        "ALFA (provider) for voice-ALFA",
        "BETA (customer) for voice-ALFA",
        "BETA (provider) for sms-BETA",
    ]
    assert do_import(loaded, write(tmp_path, "u.csv", GOOD)).code == 0
    (cycle,) = loaded("cycle", "status", "--period", "2026-10", "--json").json()
    assert "ALFA (provider) for voice-ALFA" not in cycle["waiting_for"]
    r = loaded("reconcile", "--agreement", "AG-ALFA-BETA", "--period", "2026-10")
    assert r.code == 1
    assert "waiting for" in r.err
