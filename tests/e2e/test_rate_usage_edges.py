"""Rating's edges through the CLI, on SQLite and PostgreSQL: `o2o rate file` without `--period` warns
when the records span more than one month; a data service priced without destinations is declared
without subscriber numbers (empty, or no number columns at all) and rated in the workspace as the
plain-file path rates the same records, while a tariff that prices by prefix still needs them."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from network_toml import OPERATORS

# data-ALFA is priced by volume alone (one catch-all destination); data-BETA by a number prefix.
AGREEMENT = textwrap.dedent(
    """
    id = "AG-DATA"
    currency = "EUR"
    timezone = "Europe/London"
    valid_from = 2026-01-01

    [[parties]]
    operator = "ALFA"
    country_code = "44"

    [[parties]]
    operator = "BETA"
    country_code = "49"

    [[services]]
    id = "data-ALFA"
    kind = "data"
    provider = "ALFA"
    customer = "BETA"
    unit = "MB"
    volume_increment = 1000
    destinations = [{ prefix = "", name = "IP transit" }]
    rates = [{ destination = "IP transit", price = "0.7500", valid_from = 2026-01-01 }]

    [[services]]
    id = "data-BETA"
    kind = "data"
    provider = "BETA"
    customer = "ALFA"
    unit = "MB"
    destinations = [{ prefix = "49", name = "DE gateway" }]
    rates = [{ destination = "DE gateway", price = "0.5000", valid_from = 2026-01-01 }]
    """
)

HEADER = "record_id,service,a_number,b_number,start_time,duration_s,volume,route\n"
# Three sessions without numbers, the last one late on 31 October (still October in London).
SESSIONS = [("d1", "2026-10-01T10:00:00Z", 1_500_000), ("d2", "2026-10-02T11:00:00Z", 2_500_500),
            ("d3", "2026-10-31T22:30:00Z", 999)]  # fmt: skip


@pytest.fixture
def data_agreement(db_cli: Any, tmp_path: Path) -> tuple[Any, Path]:
    (tmp_path / "operators.toml").write_text(OPERATORS, encoding="utf-8")
    (tmp_path / "agreement.toml").write_text(AGREEMENT, encoding="utf-8")
    assert db_cli("operator", "add", "--file", tmp_path / "operators.toml").code == 0
    assert db_cli("agreement", "load", tmp_path / "agreement.toml").code == 0
    return db_cli, tmp_path


def _blank_numbers(path: Path, service: str) -> Path:
    path.write_text(HEADER + "".join(f"{r},{service},,,{t},,{v},\n" for r, t, v in SESSIONS))
    return path


def test_rate_file_warns_once_when_the_records_span_months(data_agreement: tuple[Any, Path]) -> None:
    cli, folder = data_agreement
    agreement = folder / "agreement.toml"
    spans = folder / "spans.csv"
    spans.write_text(
        HEADER
        + "s1,data-ALFA,,,2026-09-14T10:00:00Z,,1000000,\n"
        + "s2,data-ALFA,,,2026-10-02T11:00:00Z,,1000000,\n"
        + "s3,data-ALFA,,,2026-11-30T23:30:00Z,,1000000,\n"  # London is on GMT then: still November
    )
    r = cli("rate", "file", spans, "--agreement-file", agreement, "--service", "data-ALFA", "--out",
            folder / "out", "--json")  # fmt: skip
    assert r.code == 0, r.err
    assert r.json()["rated"] == 3  # all of them rated, as before
    (line,) = r.err.splitlines()
    assert line.startswith("warning: ") and "3 months (2026-09 to 2026-11 in Europe/London)" in line
    assert "--period" in line

    # With a period, no warning (the other months' records are listed as outside it).
    r = cli("rate", "file", spans, "--agreement-file", agreement, "--service", "data-ALFA", "--out",
            folder / "out", "--period", "2026-10", "--json")  # fmt: skip
    assert r.code == 0 and r.err == ""
    assert r.json()["unrated_by_reason"] == {"outside_period": 2}

    # One month in the agreement's time zone is not a span: 30 September 23:30 UTC is October in London.
    october = folder / "october.csv"
    october.write_text(
        HEADER + "o1,data-ALFA,,,2026-09-30T23:30:00Z,,1000000,\no2,data-ALFA,,,2026-10-31T23:59:00Z,,1,\n"
    )
    r = cli("rate", "file", october, "--agreement-file", agreement, "--service", "data-ALFA", "--out",
            folder / "out2", "--json")  # fmt: skip
    assert r.code == 0 and r.err == "", r.err


def test_data_without_numbers_is_declared_and_rated_as_the_plain_file(
    data_agreement: tuple[Any, Path],
) -> None:
    cli, folder = data_agreement
    blank = _blank_numbers(folder / "blank.csv", "data-ALFA")
    # The other party's file has no number columns at all.
    no_columns = folder / "no-columns.csv"
    no_columns.write_text("record_id,start_time,volume\n" + "".join(f"{r},{t},{v}\n" for r, t, v in SESSIONS))
    for path, declarer in ((blank, "ALFA"), (no_columns, "BETA")):
        r = cli("usage", "import", path, "--agreement", "AG-DATA", "--period", "2026-10",
                "--declarer", declarer, "--service", "data-ALFA", "--json")  # fmt: skip
        assert r.code == 0, r.err
        assert (r.json()["rows"], r.json()["rejected"]) == (3, 0)

    r = cli("rate", "--agreement", "AG-DATA", "--period", "2026-10", "--json")
    assert r.code == 0, r.err
    workspace = {Path(x["files"]["summary"]).parent.parent.name: x for x in r.json()}
    r = cli("rate", "file", blank, "--agreement-file", folder / "agreement.toml", "--service", "data-ALFA",
            "--out", folder / "plain", "--period", "2026-10", "--json")  # fmt: skip
    assert r.code == 0, r.err
    plain = r.json()
    # 1.5 MB + 2.501 MB + 0.001 MB (1 kB steps) at 0.75 a MB
    assert plain["services"]["data-ALFA"]["amount"] == "3.00"
    assert plain["services"]["data-ALFA"]["amount_unrounded"] == "3.0015000000"
    for declarer in ("ALFA", "BETA"):
        ours = workspace[declarer]
        assert (ours["records"], ours["rated"]) == (3, 3)
        assert ours["services"] == plain["services"], declarer
    # The plain-file path takes the file without number columns too, with the same figures.
    r = cli("rate", "file", no_columns, "--agreement-file", folder / "agreement.toml", "--service", "data-ALFA",
            "--out", folder / "plain2", "--period", "2026-10", "--json")  # fmt: skip
    assert r.code == 0, r.err
    assert r.json()["services"] == plain["services"]

    # A number given must still be a number; and a tariff that prices by prefix still needs one.
    bad = folder / "bad.csv"
    bad.write_text(HEADER + "x1,data-ALFA,,not-a-number,2026-10-01T10:00:00Z,,1000,\n"
                   + "x2,data-ALFA,,,2026-10-01T10:05:00Z,,1000,\n")  # fmt: skip
    r = cli("usage", "import", bad, "--agreement", "AG-DATA", "--period", "2026-10", "--declarer", "ALFA",
            "--service", "data-ALFA", "--replace", "--json")  # fmt: skip
    assert r.code == 0, r.err
    assert (r.json()["rows"], r.json()["rejected"]) == (1, 1)
    r = cli("usage", "import", _blank_numbers(folder / "beta.csv", "data-BETA"), "--agreement", "AG-DATA",
            "--period", "2026-10", "--declarer", "BETA", "--service", "data-BETA")  # fmt: skip
    assert r.code == 1 and "no valid rows (3 rejected" in r.err
    r = cli("usage", "import", no_columns, "--agreement", "AG-DATA", "--period", "2026-10",
            "--declarer", "BETA", "--service", "data-BETA")  # fmt: skip
    assert r.code == 1 and "missing column(s) a_number, b_number" in r.err
    r = cli("rate", "file", no_columns, "--agreement-file", folder / "agreement.toml", "--service", "data-BETA",
            "--out", folder / "plain3", "--period", "2026-10")  # fmt: skip
    assert r.code == 1 and "missing column(s) a_number, b_number" in r.err
