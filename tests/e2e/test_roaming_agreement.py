"""A roaming agreement in TOML (docs/examples/roaming/agreement.toml) calculated by `o2o roaming calc
--agreement`: the figures worked out by hand, the amounts due rounded once, and a bad agreement refused in
one line naming the file, line and field."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "roaming"


def _figures(doc: Any) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    return {
        (r["service"], r["type"]): (Decimal(str(r["dealValue"])), Decimal(str(r["shortOfCommitment"])))
        for r in doc["intermediateResults"]
    }


def test_example_agreement_by_hand(cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "response.json"
    r = cli(
        "roaming", "calc", EXAMPLES / "usage.json", "--agreement", EXAMPLES / "agreement.toml", "--out", out
    )
    assert r.code == 0, r.err
    figures = _figures(json.loads(out.read_text(), parse_float=Decimal))
    deal = {k: v[0] for k, v in figures.items()}
    assert deal[("SMS MO", "inbound")] == Decimal("1500") * Decimal("0.05") + Decimal("1500") * Decimal(
        "0.03"
    )
    assert deal[("MOC International", "inbound")] == 1500  # a flat fee
    # VoLTE: 2000 balanced by BETA's 2000 outbound at 0.15, the 1000 excess at 0.20 plus the 1000 fee.
    assert (
        deal[("VoLTE", "inbound")]
        == Decimal("2000") * Decimal("0.15") + Decimal("1000") * Decimal("0.20") + 1000
    )
    assert deal[("VoLTE", "outbound")] == Decimal("2000") * Decimal("0.15")
    # Back to first: 6200.5 minutes pass 5000, so every minute at 0.09.
    assert deal[("MOC Local", "inbound")] == Decimal("6200.5") * Decimal("0.09")
    assert deal[("GPRS", "inbound")] == Decimal("48740.74") * Decimal("0.0095")
    assert deal[("NB-IoT", "inbound")] == 1000 * Decimal("0.12") + 1000 * Decimal("0.05")
    # ALFA commits to 12500 of deal value on SMS MO, MOC Local and GPRS.
    included = deal[("SMS MO", "inbound")] + deal[("MOC Local", "inbound")] + deal[("GPRS", "inbound")]
    alfa_short = sum((v[1] for k, v in figures.items() if k[1] == "inbound"), Decimal(0))
    assert alfa_short == 12500 - included
    # BETA commits to 2000 of charges with taxes: 102.20 + 1212.00 + 80.85 + 111.10 = 1506.15.
    beta_short = sum((v[1] for k, v in figures.items() if k[1] == "outbound"), Decimal(0))
    assert beta_short == Decimal("2000") - Decimal("1506.15")
    # The amounts due: deal value + shortfall, rounded to the cent once.
    alfa_due = sum((v[0] for k, v in figures.items() if k[1] == "inbound"), Decimal(0)) + alfa_short
    beta_due = sum((v[0] for k, v in figures.items() if k[1] == "outbound"), Decimal(0)) + beta_short
    assert alfa_due == Decimal("15670.000000")
    assert f"{beta_due.quantize(Decimal('0.01'))}" in r.out and "15670.00" in r.out


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'service = "GPRS"\nincluded',
            'service = "GPRZ"\nincluded',
            "discounts[0].services[4].service: unknown",
        ),
        (
            'flat = "1500"',
            'flat = "1500"\nlinear = "2"\ntiers = [{ start = 0, linear = "1" }]',
            "exactly one",
        ),
        ('{ start = 5000, linear = "0.09" }', '{ start = 0, linear = "0.09" }', "rise strictly"),
        ('home = "BETA"', 'home = "GAMMA"', "not a party"),
        ('value = "12500"', 'value = "lots"', "discounts[0].commitment.value"),
    ],
)
def test_bad_agreement_one_line(cli: Any, tmp_path: Path, old: str, new: str, message: str) -> None:
    text = (EXAMPLES / "agreement.toml").read_text()
    assert text.count(old) == 1
    bad = tmp_path / "agreement.toml"
    bad.write_text(text.replace(old, new))
    r = cli("roaming", "calc", EXAMPLES / "usage.json", "--agreement", bad)
    assert r.code == 1
    assert len(r.err.strip().splitlines()) == 1, r.err
    assert str(bad) in r.err and message in r.err, r.err


def test_amounts_due_net_with_o2o_net_solve(cli: Any, tmp_path: Path) -> None:
    """The two directions' amounts due become obligations that the netting engine sets off: the smaller one
    (1387.58) is cleared on both sides and ALFA pays BETA the difference, once."""
    obligations = tmp_path / "obligations.csv"
    r = cli("roaming", "calc", EXAMPLES / "usage.json", "--agreement", EXAMPLES / "agreement.toml",
            "--out", tmp_path / "r.json", "--obligations", obligations)  # fmt: skip
    assert r.code == 0, r.err
    rows = obligations.read_text().splitlines()
    assert rows[1:] == [
        "RA-ALFA-BETA-2026/ALFA-BETA,ALFA,BETA,15670.00,EUR,2027-01-30",
        "RA-ALFA-BETA-2026/BETA-ALFA,BETA,ALFA,1387.58,EUR,2027-01-30",
    ]
    r = cli("net", "solve", obligations, "--json")
    assert r.code == 0, r.err
    eur = r.json()["currencies"]["EUR"]
    assert eur["cleared_total"] == "2775.16"
    assert eur["payments"] == [{"from": "ALFA", "to": "BETA", "amount": "14282.42"}]


def test_obligations_need_an_agreement(cli: Any, tmp_path: Path) -> None:
    r = cli("roaming", "calc", EXAMPLES / "usage.json", "--obligations", tmp_path / "o.csv")
    assert r.code == 1
    assert "--obligations" in r.err and len(r.err.strip().splitlines()) == 1
