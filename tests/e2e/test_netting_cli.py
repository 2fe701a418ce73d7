"""`o2o net solve` through the CLI, as a settlement analyst runs it on a file of obligations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

OBLIGATIONS = """id,debtor,creditor,amount,currency,due_date
S-1,ALFA,BETA,100.00,EUR,2026-11-15
S-2,BETA,GAMMA,80.00,EUR,2026-11-15
S-3,GAMMA,ALFA,50.00,EUR,2026-11-01
S-4,GAMMA,DELTA,10.00,EUR,
S-5,BETA,ALFA,7.00,USD,
S-6,ALFA,BETA,3.00,USD,
"""

RATES = """date,from,to,rate
2026-10-31,USD,EUR,0.92
2026-09-30,USD,EUR,0.90
"""


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "obligations.csv").write_text(OBLIGATIONS, encoding="utf-8")
    (tmp_path / "rates.csv").write_text(RATES, encoding="utf-8")
    return tmp_path


def test_conservative_json_per_currency(cli: Any, files: Path) -> None:
    r = cli("net", "solve", files / "obligations.csv", "--json")
    assert r.code == 0, r.err
    data = r.json()
    assert data["mode"] == "conservative"
    assert sorted(data["currencies"]) == ["EUR", "USD"]
    eur = data["currencies"]["EUR"]
    assert {k: eur[k] for k in ("gross_total", "cleared_total", "remaining_total", "net_internal_debt")} == {
        "gross_total": "240.00",
        "cleared_total": "150.00",
        "remaining_total": "90.00",
        "net_internal_debt": "50.00",
    }
    assert eur["payments_count"] == 3
    assert eur["positions"]["DELTA"] == {"payable": "0.00", "receivable": "10.00", "net": "10.00"}
    assert eur["setoffs"] == [
        {"obligation": "S-1", "amount": "50.00"},
        {"obligation": "S-2", "amount": "50.00"},
        {"obligation": "S-3", "amount": "50.00"},
    ]
    usd = data["currencies"]["USD"]
    assert usd["cleared_total"] == "6.00"
    assert usd["payments"] == [{"from": "BETA", "to": "ALFA", "amount": "4.00"}]
    assert "fx" not in data


def test_clearing_house_and_direct_modes(cli: Any, files: Path) -> None:
    hub = cli("net", "solve", files / "obligations.csv", "--mode", "clearing-house", "--json").json()
    eur = hub["currencies"]["EUR"]
    assert eur["payments"][0] == {"from": "ALFA", "to": "HUB", "amount": "50.00"}
    assert eur["payments_count"] == 4
    direct = cli("net", "solve", files / "obligations.csv", "--mode", "direct", "--json").json()
    eur = direct["currencies"]["EUR"]
    assert eur["payments_count"] == 3
    assert eur["direct"]["method"] == "exact"
    assert eur["direct"]["optimal"] is True


def test_converted_round_shows_rates_and_date(cli: Any, files: Path) -> None:
    r = cli(
        "net", "solve", files / "obligations.csv", "--fx", files / "rates.csv", "--settle-in", "EUR", "--json"
    )
    assert r.code == 0, r.err
    data = r.json()
    assert data["fx"] == {
        "date": "2026-10-31",
        "settle_in": "EUR",
        "rates": [{"from": "USD", "to": "EUR", "rate": "0.92"}],
    }
    assert list(data["currencies"]) == ["EUR"]
    # 7.00 USD -> 6.44 EUR, 3.00 USD -> 2.76 EUR.
    assert data["currencies"]["EUR"]["gross_total"] == "249.20"
    older = cli(
        "net",
        "solve",
        files / "obligations.csv",
        "--fx",
        files / "rates.csv",
        "--settle-in",
        "EUR",
        "--fx-date",
        "2026-09-30",
        "--json",
    ).json()
    assert older["fx"]["date"] == "2026-09-30"
    assert older["currencies"]["EUR"]["gross_total"] == "249.00"


def test_withhold_opt_out_and_cap(cli: Any, files: Path) -> None:
    args = ("net", "solve", files / "obligations.csv", "--json")
    withheld = cli(*args, "--withhold", "S-3").json()["currencies"]["EUR"]
    assert withheld["cleared_total"] == "0.00"
    assert withheld["excluded"] == [{"obligation": "S-3", "reason": "withheld", "amount": "50.00"}]
    opted = cli(*args, "--opt-out", "DELTA").json()["currencies"]["EUR"]
    assert "DELTA" not in opted["positions"]
    capped = cli(*args, "--cap", "BETA=20:EUR").json()["currencies"]["EUR"]
    assert capped["cleared_total"] == "60.00"


def test_table_output_without_json(cli: Any, files: Path) -> None:
    r = cli("net", "solve", files / "obligations.csv", "--mode", "direct")
    assert r.code == 0, r.err
    assert "net internal debt" in r.out
    assert "exact, lower bound 3" in r.out


def test_bad_rows_are_one_clear_error_naming_the_lines(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "id,debtor,creditor,amount,currency\n1,ALFA,BETA,-5.00,EUR\n2,ALFA,ALFA,5,EUR\n3,ALFA,BETA,5,ABC\n",
        encoding="utf-8",
    )
    r = cli("net", "solve", path, "--json")
    assert r.code == 1
    assert r.out == ""
    line = " ".join(r.err.split())
    assert "bad.csv: 3 bad row(s): line 2: negative amount -5.00; line 3: self-debt" in line
    assert "line 4: unknown currency 'ABC'" in line
    assert "Traceback" not in r.err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--mode", "cheapest"), "unknown netting mode 'cheapest'"),
        (("--settle-in", "EUR"), "--fx and --settle-in go together"),
        (("--withhold", "S-99"), "withheld obligation 'S-99' is not in the round"),
        (("--cap", "BETA:20"), "is not OPERATOR=AMOUNT"),
        (("--cap", "BETA=20"), "needs a currency"),
    ],
)
def test_bad_options_are_clear_errors(cli: Any, files: Path, extra: tuple[str, ...], message: str) -> None:
    r = cli("net", "solve", files / "obligations.csv", *extra, "--json")
    assert r.code == 1
    assert message in " ".join(r.err.split())
