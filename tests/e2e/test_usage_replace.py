"""A re-declaration through the CLI, on SQLite and PostgreSQL: one with rejected rows or far fewer rows is
refused unless `--replace` is given, naming what it would replace with the figures before and after;
nothing is written but the rejects file that says why; a declaration's rejects are always reported."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

import cycle_steps

PERIOD = "2026-10"
HEADER = "record_id,a_number,b_number,start_time,duration_s\n"


def write(tmp_path: Path, name: str, lines: list[str], header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def rejects(path: str) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def reconciled(db_cli: Any, db_workspace: Path, tmp_path: Path) -> tuple[Any, dict[str, Any]]:
    """A generated two-operator network, fully declared and reconciled."""
    net, truth, ag = cycle_steps.declared(
        db_cli, tmp_path, cdrs=3000, seed=5, zero_tolerance=False, keys=False, period=PERIOD
    )
    assert db_cli("reconcile", "--agreement", ag["id"], "--period", PERIOD).code == 0
    return db_cli, {"truth": truth, "net": net, "home": db_workspace}


def lake_files(home: Path) -> set[Path]:
    return {p for p in (home / "lake").rglob("*") if p.is_file()}


def redeclare(cli: Any, f: dict[str, Any], path: Path, *extra: str) -> Any:
    return cli("usage", "import", path, "--agreement", f["agreement"], "--period", PERIOD,
               "--declarer", f["declarer"], "--service", f["service"], *extra)  # fmt: skip


def test_a_worse_redeclaration_is_refused_with_its_figures_and_writes_nothing(
    reconciled: tuple[Any, dict[str, Any]], tmp_path: Path
) -> None:
    cli, ctx = reconciled
    f = next(x for x in ctx["truth"]["files"] if x["service"].startswith("voice") and x["role"] == "provider")
    listed = cli("usage", "list", "--history", "--json").json()
    old = next(d for d in listed if d["service"] == f["service"] and d["declarer"] == f["declarer"])
    cycles, statement = (
        cli("cycle", "status", "--json").json(),
        cli("statement", "show", f"ST-{f['agreement']}-{PERIOD}", "--json").json(),
    )
    files = lake_files(ctx["home"])
    # The case: 2 of 4 rows rejected, against a declaration of about a thousand rows.
    header, *rows = (ctx["net"] / f["file"]).read_text(encoding="utf-8").splitlines()
    kept = rows[:2]
    wrong = [
        f"x1,{f['service']},abc,+447700900123,2026-10-01T00:00:00Z,1,,T",
        f"x2,{f['service']},+44,+49,never,1,,T",
    ]
    bad = write(tmp_path, "bad.csv", [*kept, *wrong], header=header + "\n")

    r = redeclare(cli, f, bad)
    assert r.code == 1
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
    duration = sum(int(row["duration_s"]) for row in csv.DictReader([header, *kept]))
    for part in (
        f"would replace {old['id']}",
        "with 2 rows rejected and fewer than 90% of the replaced rows",
        f"rows {old['rows']:,} → 2, rejected 0 → 2, duration_s {old['duration_s']:,} → {duration:,}, volume 0 → 0",
        "pass --replace",
    ):
        assert part in r.err
    reasons = Path(r.err.split("(reasons in ")[1].split(")")[0])
    assert sorted(x["line"] for x in rejects(str(reasons))) == ["4", "5"]
    # Nothing written: the same declarations, cycle and statement; in the lake only the reasons file more.
    assert cli("usage", "list", "--history", "--json").json() == listed
    assert cli("cycle", "status", "--json").json() == cycles
    assert cli("statement", "show", f"ST-{f['agreement']}-{PERIOD}", "--json").json() == statement
    assert lake_files(ctx["home"]) == files | {reasons}

    r = redeclare(cli, f, bad, "--replace", "--json")
    assert r.code == 0, r.err
    new = r.json()
    assert (new["rows"], new["rejected"], new["replaced"]) == (2, 2, old["id"])
    assert Path(new["rejects_path"]).is_file()
    assert new["replacement"] == {
        "replaced": old["id"],
        "before": {"rows": old["rows"], "rejected": 0, "duration_s": old["duration_s"], "volume": 0},
        "after": {"rows": 2, "rejected": 2, "duration_s": duration, "volume": 0},
    }
    history = cli("usage", "list", "--history", "--json").json()
    assert {d["id"]: d["status"] for d in history if d["service"] == f["service"] and d["declarer"] == f["declarer"]} == {
        old["id"]: "superseded", new["id"]: "active"
    }  # fmt: skip


def test_far_fewer_rows_need_replace_and_the_text_says_what_is_replaced(loaded: Any, tmp_path: Path) -> None:
    lines = [
        f"r{i},+447700900{i:03d},0049301234567,2026-10-{1 + i % 28:02d}T12:00:05Z,{60 + i}" for i in range(20)
    ]
    args = ("usage", "import", "--agreement", "AG-ALFA-BETA", "--period", PERIOD, "--declarer", "ALFA",
            "--service", "voice-ALFA")  # fmt: skip
    first = loaded(*args[:2], write(tmp_path, "all.csv", lines), *args[2:], "--json").json()
    # 17 of 20 rows is 85%: refused; 18 is 90%, a correction that goes through on its own.
    r = loaded(*args[:2], write(tmp_path, "17.csv", lines[:17]), *args[2:])
    assert r.code == 1
    assert f"would replace {first['id']} (all.csv) with fewer than 90% of the replaced rows;" in r.err
    assert "rows 20 → 17, rejected 0 → 0, duration_s 1,390 → 1,156, volume 0 → 0" in r.err
    assert "reasons in" not in r.err
    assert [d["id"] for d in loaded("usage", "list", "--history", "--json").json()] == [first["id"]]
    folder = Path(first["lake_path"]).parent
    assert [p.name for p in folder.iterdir()] == [Path(first["lake_path"]).name]

    r = loaded(*args[:2], write(tmp_path, "17.csv", lines[:17]), *args[2:], "--replace")
    assert r.code == 0, r.err
    assert "17 rows accepted, 0 rejected" in r.out
    assert (
        f"replaces {first['id']}: rows 20 → 17, rejected 0 → 0, duration_s 1,390 → 1,156, volume 0 → 0"
        in r.out
    )
    r = loaded(*args[:2], write(tmp_path, "18.csv", lines[:18]), *args[2:], "--json")
    assert r.code == 0, r.err
    assert r.json()["replacement"]["before"]["rows"] == 17


def test_rejects_are_always_reported_and_the_same_file_is_still_already_imported(
    loaded: Any, tmp_path: Path
) -> None:
    path = write(tmp_path, "u.csv", [
        "r1,+447700900123,0049301234567,2026-10-01T12:00:05Z,60",
        "r2,+447700900124,0049301234568,2026-10-02T12:00:05Z,61",
        "r3,+44770090O125,0049301234569,2026-10-03T12:00:05Z,62",
    ])  # fmt: skip
    args = (
        "--agreement",
        "AG-ALFA-BETA",
        "--period",
        PERIOD,
        "--declarer",
        "ALFA",
        "--service",
        "voice-ALFA",
    )
    first = loaded("usage", "import", path, *args)
    assert first.code == 0, first.err
    (d,) = loaded("usage", "list", "--json").json()
    assert f"2 rows accepted, 1 rejected (reasons in {d['rejects_path']})" in first.out
    assert "replaces" not in first.out
    again = loaded("usage", "import", path, *args)
    assert again.code == 0, again.err
    assert (
        f"already imported as {d['id']} (same sha256; 1 rejected (reasons in {d['rejects_path']}))"
        in again.out
    )
    shown = loaded("usage", "show", d["id"], "--json").json()
    assert (shown["rejected"], shown["rejects_path"]) == (1, d["rejects_path"])
    assert [x["rejected"] for x in loaded("usage", "list", "--json").json()] == [1]
