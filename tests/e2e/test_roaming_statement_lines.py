"""`o2o roaming calc --agreement`: the statement lines of the example agreement (docs/examples/roaming), one
per direction and service group, worked out from the response's deal values and shortfall shares: each
line's exact amount, then whole cents by the largest remainder so that a direction's lines add up to its
amount due (15670.00 and 1387.58, rounded half-up once)."""

from __future__ import annotations

import json
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "roaming"
CENT = Decimal("0.01")
GROUP = {  # the catalogue's settlement groups of the example's services, written out here as a reference
    "MOC Local": "MOC", "MOC Back Home": "MOC", "MOC International": "MOC", "MTC": "MTC",
    "SMS MO": "SMS", "SMSMO": "SMS", "SMS MT": "SMS", "GPRS": "data", "VoLTE": "data", "NB-IoT": "data",
}  # fmt: skip


def _table(out: str, title: str) -> list[list[str]]:
    text = out[out.index(title) :]
    rows = []
    for line in text.splitlines()[1:]:
        if line.startswith("│"):
            rows.append([c.strip() for c in line.strip("│").split("│")])
        elif line.startswith("└"):
            break
    return rows


def _reference(response: dict[str, Any], payers: list[str]) -> dict[str, Decimal]:
    """Exact amount per line from the response, then cents by the largest remainder (a plain version)."""
    exact: dict[str, Decimal] = {}
    party_of_home = {"AAZOR": "ALFA", "GRCPF": "ALFA", "AAZVF": "BETA", "AAZTD": "BETA"}
    for r in response["intermediateResults"]:
        payer = party_of_home[r["homeTadigs"][0]]
        line = f"{payer}-{GROUP[r['service']]}"
        exact[line] = (
            exact.get(line, Decimal(0)) + Decimal(str(r["dealValue"])) + Decimal(str(r["shortOfCommitment"]))
        )
    out: dict[str, Decimal] = {}
    for payer in payers:
        mine = {k: v for k, v in exact.items() if k.startswith(payer + "-")}
        due = sum(mine.values(), Decimal(0)).quantize(CENT, ROUND_HALF_UP)
        floors = {k: v.quantize(CENT, ROUND_DOWN) for k, v in mine.items()}
        left = int((due - sum(floors.values(), Decimal(0))) / CENT)
        for k in sorted(mine, key=lambda k: mine[k] - floors[k], reverse=True)[:left]:
            floors[k] += CENT
        out.update(floors)
    return out


def test_statement_lines_add_up_to_the_amounts_due(cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    r = cli("roaming", "calc", EXAMPLES / "usage.json", "--agreement", EXAMPLES / "agreement.toml",
            "--out", out)  # fmt: skip
    assert r.code == 0, r.err
    rows = _table(r.out, "Statement lines")
    got = {row[0]: (row[1], row[2], Decimal(row[5])) for row in rows}
    assert list(got) == ["ALFA-MOC", "ALFA-SMS", "ALFA-data", "BETA-MOC", "BETA-SMS", "BETA-data"]
    for line, (customer, provider, _) in got.items():
        assert customer == line.split("-")[0] and {customer, provider} == {"ALFA", "BETA"}
    response = json.loads(out.read_text(), parse_float=Decimal)
    assert {k: v[2] for k, v in got.items()} == _reference(response, ["ALFA", "BETA"])
    assert sum(v[2] for k, v in got.items() if k.startswith("ALFA")) == Decimal("15670.00")
    assert sum(v[2] for k, v in got.items() if k.startswith("BETA")) == Decimal("1387.58")
    # ALFA's data line takes the cent left over: 6742.34603 has the largest remainder of ALFA's lines.
    assert got["ALFA-data"][2] == Decimal("6742.35")
