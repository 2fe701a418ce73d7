"""The BWRP usage reader's column-wise fast path held to a row-by-row reference (hypothesis): spellings of
one service merged, a pair in both lists summed with the outbound direction, missing charges and taxes as 0,
numbers as strings, integers or Decimals; and a bad row named by its index whichever path finds it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from o2o.domain.errors import ValidationError
from o2o.roaming import Direction, canonical
from o2o.schemas.roaming_usage import usage_from_json

SPELLINGS = ["SMS MO", "SMSMO", "sms-mo", "MOC Local", "GPRS", "NB-IOT", "NB-IoT"]
TADIGS = ["AAAAA", "BBBBB", "CCCCC", "DDDDD"]
amounts = st.decimals(min_value=0, max_value=10**9, places=3, allow_nan=False, allow_infinity=False)


@st.composite
def figure(draw: st.DrawFn) -> Any:
    value = draw(amounts)
    kind = draw(st.sampled_from(["str", "decimal", "int"]))
    if kind == "str":
        return str(value)
    if kind == "int":
        return int(value)
    return value


@st.composite
def rows(draw: st.DrawFn) -> dict[str, Any]:
    row: dict[str, Any] = {
        "service": draw(st.sampled_from(SPELLINGS)),
        "homeTadig": draw(st.sampled_from(TADIGS)),
        "visitorTadig": draw(st.sampled_from(TADIGS)),
        "usage": draw(figure()),
    }
    for key in ("charges", "taxes"):
        if draw(st.booleans()):
            row[key] = draw(figure())
    return row


def reference(doc: dict[str, list[dict[str, Any]]]) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    out: dict[tuple[str, str, str], list[Any]] = {}
    for direction in ("inbound", "outbound"):
        for row in doc[direction]:
            found = canonical(row["service"])
            assert found is not None
            key = (found.name, row["homeTadig"], row["visitorTadig"])
            entry = out.setdefault(key, [Decimal(0), Decimal(0), Decimal(0), None])
            entry[0] += Decimal(row["usage"])
            entry[1] += Decimal(row.get("charges", 0))
            entry[2] += Decimal(row.get("taxes", 0))
            entry[3] = Direction(direction)
    return {k: tuple(v) for k, v in out.items()}


@settings(max_examples=150, deadline=None)
@given(st.lists(rows(), max_size=40), st.lists(rows(), max_size=40))
def test_fast_path_equals_row_by_row(inbound: list[dict[str, Any]], outbound: list[dict[str, Any]]) -> None:
    doc = {"inbound": inbound, "outbound": outbound}
    got = {k: tuple(v) for k, v in usage_from_json(doc).items()}
    assert got == reference(doc)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"usage": "-1"}, "usage.outbound[3].usage: '-1' is negative"),
        ({"usage": "1e999999999"}, "usage.outbound[3].usage: '1e999999999' is out of range"),
        ({"charges": "-1e30"}, "usage.outbound[3].charges: '-1e30' is out of range"),
        ({"taxes": "0.000000000000000000001"}, "usage.outbound[3].taxes: '0.000000000000000000001' is out"),
        ({"usage": "Infinity"}, "usage.outbound[3].usage: 'Infinity' is not a finite number"),
        ({"charges": None}, "usage.outbound[3].charges: None is not a number"),
        ({"taxes": False}, "usage.outbound[3].taxes: False is not a number"),
        ({"homeTadig": ""}, "usage.outbound[3].homeTadig: expected a non-empty string"),
        ({"visitorTadig": ["x"]}, "usage.outbound[3].visitorTadig: expected a non-empty string"),
        ({"service": "Teleportation"}, "usage.outbound[3].service: unknown service 'Teleportation'"),
        ({"homeTadig": "AA\x1fBB"}, "usage.outbound[3].homeTadig: holds a control character"),
    ],
)
def test_a_bad_row_is_named(row: dict[str, Any], message: str) -> None:
    good = {"service": "GPRS", "homeTadig": "AAAAA", "visitorTadig": "BBBBB", "usage": "1.5", "charges": "2"}
    outbound = [dict(good) for _ in range(6)]
    outbound[3].update(row)
    with pytest.raises(ValidationError) as info:
        usage_from_json({"inbound": [dict(good)], "outbound": outbound})
    assert message in str(info.value)
