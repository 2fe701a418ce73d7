"""`o2o roaming calc --out` with more parties than a Rich table is drawn for: the commitments are printed as
plain aligned text, every party on its line with the figures of the response; the request is read on the
msgspec path (figures as JSON numbers and strings mixed) and gives what the row-by-row reading gives."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from o2o.roaming import calculate
from o2o.schemas.roaming import request_from_json
from o2o.schemas.roaming_decode import decode_request
from o2o.schemas.roaming_usage import read_json

PARTIES = 60


def _request(path: Path) -> None:
    discounts: dict[str, Any] = {}
    inbound = []
    for p in range(PARTIES):
        home, visitor = f"H{p:03d}A", f"V{p:03d}B"
        discounts[f"P{p:03d}"] = {
            "condition": {"kind": "Deal Revenue Commitment", "commitment": {"value": str(100 + p)}},
            "serviceGroups": [
                {
                    "homeTadigs": [home],
                    "visitorTadigs": [visitor],
                    "services": [
                        {
                            "service": "SMS MO",
                            "includedInCommitment": True,
                            "usagePricing": {"ratingPlan": {"rate": {"linearPrice": "0.05"}}},
                        }
                    ],
                }
            ],
        }
        for r in range(3):
            usage: Any = f"{p * 10 + r}.25" if r % 2 else p * 10 + r
            inbound.append(
                {
                    "service": "SMSMO",
                    "homeTadig": home,
                    "visitorTadig": visitor,
                    "usage": usage,
                    "charges": "1.10",
                }
            )
    text = json.dumps({"discounts": discounts, "usage": {"inbound": inbound, "outbound": []}})
    path.write_text(text.replace('"usage": "', '"usage": ').replace('.25"', ".25"))  # numbers, not strings


def test_many_parties_as_plain_text(cli: Any, tmp_path: Path) -> None:
    request = tmp_path / "req.json"
    _request(request)
    assert decode_request(request.read_bytes()) is not None  # the fast path took it
    out = tmp_path / "resp.json"
    r = cli("roaming", "calc", request, "--out", out)
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0] == "Commitments"
    assert lines[1].split() == [
        "party",
        "condition",
        "commitment",
        "measured",
        "met",
        "shortfall",
        "deal",
        "value",
    ]
    want = calculate(*request_from_json(read_json(request)))  # the row-by-row reading
    assert len(lines) == 2 + PARTIES
    for line, party in zip(lines[2:], want.parties, strict=True):
        assert line.split() == [
            party.party, "Deal", "Revenue", "Commitment", str(party.commitment), str(party.measured),
            "yes" if party.met else "no", str(party.shortfall), str(party.deal_value),
        ]  # fmt: skip
    response = json.loads(out.read_text(), parse_float=Decimal)["intermediateResults"]
    assert [Decimal(str(x["dealValue"])) for x in response] == [x.deal_value for x in want.results]
    assert [Decimal(str(x["usage"])) for x in response] == [x.usage for x in want.results]
