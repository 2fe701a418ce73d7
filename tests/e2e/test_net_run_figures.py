"""`o2o net run` on a small network in two currencies, on SQLite and PostgreSQL: in every mode the round's
figures add up as a finance reader ticks them (gross − set off = remaining; remaining −
reduced_by_settlement = money_moved), each amount is per currency, and money_moved is what the payment
instructions of `payment list` actually move."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from network_toml import OPERATORS as TWO_OPERATORS

OPERATORS = TWO_OPERATORS + textwrap.dedent(
    """
    [[operators]]
    id = "GAMMA"
    name = "Gamma Télécom SA"
    currency = "EUR"
    country_code = "33"
    """
)

# (agreement, currency, parties, services as (id, kind, provider, customer, prefix, price, records)).
# In EUR: ALFA owes BETA 30.00, BETA owes ALFA 5.00, BETA owes GAMMA 10.00. Set-off clears 5.00 each way
# (10.00), leaving the chain ALFA → BETA 25.00 → GAMMA 10.00: 35.00 remains, while settling the net
# positions (ALFA −25, BETA +15, GAMMA +10) moves 25.00, a reduction of 10.00.
# In GBP: GAMMA owes ALFA 20.00, ALFA owes GAMMA 4.00: 8.00 set off, 16.00 remains and moves.
AGREEMENTS = [
    ("AG-AB", "EUR", ("ALFA", "BETA"), [("voice-BETA", "voice", "BETA", "ALFA", "49", "0.10", 30),
                                         ("sms-ALFA", "sms", "ALFA", "BETA", "44", "0.05", 100)]),
    ("AG-BG", "EUR", ("BETA", "GAMMA"), [("voice-GAMMA", "voice", "GAMMA", "BETA", "33", "0.10", 10)]),
    ("AG-AG", "GBP", ("ALFA", "GAMMA"), [("voice-ALFA", "voice", "ALFA", "GAMMA", "44", "0.10", 20),
                                          ("sms-GAMMA", "sms", "GAMMA", "ALFA", "33", "0.05", 80)]),
]  # fmt: skip
CODES = {"ALFA": "44", "BETA": "49", "GAMMA": "33"}
PERIOD = "2026-01"


def _agreement(ag_id: str, currency: str, parties: tuple[str, str], services: list[Any]) -> str:
    text = f'id = "{ag_id}"\ncurrency = "{currency}"\ntimezone = "UTC"\nvalid_from = 2026-01-01\n'
    for op in parties:
        text += f'\n[[parties]]\noperator = "{op}"\ncountry_code = "{CODES[op]}"\n'
    for sid, kind, provider, customer, prefix, price, _ in services:
        text += f'\n[[services]]\nid = "{sid}"\nkind = "{kind}"\nprovider = "{provider}"\ncustomer = "{customer}"\n'
        text += "increments = { first = 60, next = 60 }\n" if kind == "voice" else ""
        text += f'destinations = [{{ prefix = "{prefix}", name = "D{prefix}" }}]\n'
        text += f'rates = [{{ destination = "D{prefix}", price = "{price}", valid_from = 2026-01-01 }}]\n'
    return text


def _usage(sid: str, kind: str, prefix: str, records: int) -> str:
    """Both parties declare the same records (a call is 10 minutes, an SMS one unit)."""
    rows = ["record_id,service,a_number,b_number,start_time,duration_s,volume,route"]
    for i in range(records):
        seconds, volume = (600, 0) if kind == "voice" else (0, 1)
        rows.append(f"{i + 1},{sid},0099{i:07d},00{prefix}1{i:07d},2026-01-{1 + i % 28:02d}T10:{i % 60:02d}:00Z,"
                    f"{seconds},{volume},T1")  # fmt: skip
    return "\n".join(rows) + "\n"


def signed_network(cli: Any, folder: Path) -> str:
    """Load, declare, reconcile and sign every statement through the CLI; returns the period."""
    folder.mkdir()
    (folder / "operators.toml").write_text(OPERATORS, encoding="utf-8")
    assert cli("operator", "add", "--file", folder / "operators.toml").code == 0
    for op in CODES:
        assert cli("keys", "generate", op).code == 0
    for ag_id, currency, parties, services in AGREEMENTS:
        (folder / f"{ag_id}.toml").write_text(
            _agreement(ag_id, currency, parties, services), encoding="utf-8"
        )
        assert cli("agreement", "load", folder / f"{ag_id}.toml").code == 0
        for sid, kind, _, _, prefix, _, records in services:
            (folder / f"{sid}.csv").write_text(_usage(sid, kind, prefix, records), encoding="utf-8")
            for declarer in parties:
                r = cli("usage", "import", folder / f"{sid}.csv", "--agreement", ag_id, "--period", PERIOD,
                        "--declarer", declarer, "--service", sid)  # fmt: skip
                assert r.code == 0, r.err
    r = cli("reconcile", "--period", PERIOD, "--json")
    assert r.code == 0 and not any(x["disputes"] for x in r.json()), r.err
    for ag_id, _, parties, _ in AGREEMENTS:
        for party in parties:
            r = cli("statement", "sign", f"ST-{ag_id}-{PERIOD}", "--as", party)
            assert r.code == 0, r.err
    return PERIOD


@pytest.mark.parametrize("mode", ["conservative", "clearing-house", "direct"])
def test_net_run_figures_add_up_per_currency_in_every_mode(db_cli: Any, tmp_path: Path, mode: str) -> None:
    period = signed_network(db_cli, tmp_path / "net")
    r = db_cli("net", "run", "--period", period, "--mode", mode, "--json")
    assert r.code == 0, r.err
    data = r.json()
    assert set(data["currencies"]) == {"EUR", "GBP"}
    listed = db_cli("payment", "list", "--round", data["round"], "--json").json()
    assert {p["id"] for p in listed} == {p["id"] for p in data["payments"]}
    reductions = {}
    for cur, f in data["currencies"].items():
        gross, set_off, remaining = (
            Decimal(f[k]) for k in ("gross_total", "cleared_total", "remaining_total")
        )
        reduced, moved, hub_out = (
            Decimal(f[k]) for k in ("reduced_by_settlement", "money_moved", "hub_paid_out")
        )
        assert gross - set_off == remaining, cur
        assert remaining - reduced == moved, cur
        # money_moved is what the net debtors pay (into the hub in clearing-house mode), as instructed.
        pays = [p for p in listed if p["currency"] == cur]
        assert moved == sum((Decimal(p["amount"]) for p in pays if p["payer"] != "HUB"), Decimal(0)), cur
        assert hub_out == sum((Decimal(p["amount"]) for p in pays if p["payer"] == "HUB"), Decimal(0)), cur
        assert f["payments_count"] == len(pays)
        if mode == "conservative":  # what remains is paid as it stands
            assert reduced == 0 and hub_out == 0, cur
        else:  # net positions are settled: the least money, and the hub passes on what it receives
            assert moved == Decimal(f["net_internal_debt"]), cur
            assert hub_out == (moved if mode == "clearing-house" else 0), cur
        reductions[cur] = reduced
    expected = {"EUR": Decimal("10.00"), "GBP": Decimal("0.00")}
    assert reductions == (expected if mode != "conservative" else dict.fromkeys(expected, Decimal(0)))

    # The table shows the same named figures, in the order they add up.
    status = db_cli("cycle", "status", "--period", period, "--json").json()
    for c in status:
        assert all(isinstance(v, str) for v in c["obligations_amount"].values())
    totals: dict[str, Decimal] = {}
    for c in status:
        for cur, amount in c["obligations_amount"].items():
            totals[cur] = totals.get(cur, Decimal(0)) + Decimal(amount)
    assert {cur: Decimal(f["gross_total"]) for cur, f in data["currencies"].items()} == totals


def test_net_run_table_names_each_figure(db_cli: Any, tmp_path: Path) -> None:
    period = signed_network(db_cli, tmp_path / "net")
    r = db_cli("net", "run", "--period", period, "--mode", "clearing-house")
    assert r.code == 0, r.err
    for label in ("gross obligations", "− set off", "= remaining", "reduced by clearing through the hub",
                  "= money moved", "paid out by the hub"):  # fmt: skip
        assert label in r.out, label
    status = db_cli("cycle", "status", "--period", period)
    assert status.code == 0 and ("EUR" in status.out and "GBP" in status.out)
