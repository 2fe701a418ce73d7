"""The msgspec reading of BWRP requests (o2o.schemas.roaming_decode) held to the precise row-by-row reading
(hypothesis): the same keys in the same order, the same figures to the last digit and exponent, with numbers
written as JSON numbers or strings; and everything the precise reading refuses is declined (None), so that
the refusal is named by the precise reading."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from o2o.schemas.roaming_decode import decode_request, decode_usage_file
from o2o.schemas.roaming_usage import usage_from_json

SPELLINGS = ["SMS MO", "SMSMO", "sms-mo", "MOC Local", "GPRS", "NB-IOT", "NB-IoT", "VoLTE"]
TADIGS = ["AAAAA", "BBBBB", "CCCCC", "DDDDD"]
figures = st.decimals(min_value=0, max_value=10**12, places=4, allow_nan=False, allow_infinity=False)
charges = st.decimals(min_value=-(10**9), max_value=10**9, places=3, allow_nan=False, allow_infinity=False)


def _literal(value: Any) -> str:
    """A figure as it may appear in a request: a JSON number literal (`1.10`, `5E+2`) or a string."""
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


def _dump(doc: Any) -> bytes:
    if isinstance(doc, dict):
        return ("{" + ",".join(f"{json.dumps(k)}:{_dump(v).decode()}" for k, v in doc.items()) + "}").encode()
    if isinstance(doc, list):
        return ("[" + ",".join(_dump(v).decode() for v in doc) + "]").encode()
    if isinstance(doc, Decimal | str) and not isinstance(doc, bool):
        return _literal(doc).encode()
    return json.dumps(doc).encode()


@st.composite
def figure(draw: st.DrawFn, values: st.SearchStrategy[Decimal]) -> Any:
    value = draw(values)
    kind = draw(st.sampled_from(["str", "number", "int"]))
    if kind == "str":
        return str(value)
    if kind == "int":
        return Decimal(int(value))
    return value


@st.composite
def rows(draw: st.DrawFn) -> dict[str, Any]:
    row: dict[str, Any] = {
        "service": draw(st.sampled_from(SPELLINGS)),
        "homeTadig": draw(st.sampled_from(TADIGS)),
        "visitorTadig": draw(st.sampled_from(TADIGS)),
        "usage": draw(figure(figures)),
        "units": "min",
    }
    for key in ("charges", "taxes"):
        if draw(st.booleans()):
            row[key] = draw(figure(charges))
    return row


def _same(fast: Any, slow: Any) -> None:
    assert list(fast) == list(slow)  # the same keys, in order of first appearance
    for key, totals in slow.items():
        assert tuple(map(str, fast[key])) == tuple(map(str, totals)), key  # digits and exponent


@settings(max_examples=200, deadline=None)
@given(st.lists(rows(), max_size=40), st.lists(rows(), max_size=40), st.booleans())
def test_request_decoded_as_the_precise_reading_does(
    inbound: list[dict[str, Any]], outbound: list[dict[str, Any]], flat: bool
) -> None:
    usage: Any = inbound + outbound if flat else {"inbound": inbound, "outbound": outbound}
    data = _dump({"discounts": {"P": {"serviceGroups": []}}, "usage": usage})
    fast = decode_request(data)
    assert fast is not None
    assert fast[0] == {"P": {"serviceGroups": []}}
    _same(fast[1], usage_from_json(json.loads(data, parse_float=Decimal)["usage"]))


@settings(max_examples=50, deadline=None)
@given(st.lists(rows(), min_size=1, max_size=20))
def test_usage_file_of_either_shape(inbound: list[dict[str, Any]]) -> None:
    want = usage_from_json({"inbound": inbound})
    for doc in ({"inbound": inbound}, {"usage": {"inbound": inbound}, "discounts": {}}):
        fast = decode_usage_file(_dump(doc))
        assert fast is not None
        _same(fast, want)


def test_figures_keep_their_exact_digits() -> None:
    row = '{"service": "GPRS", "homeTadig": "AAAAA", "visitorTadig": "BBBBB", '
    data = (
        '{"discounts": {}, "usage": {"inbound": ['
        + row
        + '"usage": 0.1, "charges": "0.10", "taxes": 12345678901234567890123456789.5},'
        + row
        + '"usage": 0.2, "charges": 100}]}}'
    ).encode()
    fast = decode_request(data)
    assert fast is not None
    totals = fast[1][("GPRS", "AAAAA", "BBBBB")]
    assert (str(totals.volume), str(totals.charges), str(totals.taxes)) == (
        "0.3",
        "100.10",
        "12345678901234567890123456789.5",
    )


@pytest.mark.parametrize(
    "row",
    [
        {"usage": "-1"},
        {"usage": "1e30"},
        {"charges": -(10**30)},
        {"charges": "1e30", "taxes": "-1e30"},
        {"taxes": "0.000000000000000000001"},
        {"usage": "NaN"},
        {"usage": "Infinity"},
        {"usage": "12,5"},
        {"charges": None},
        {"taxes": False},
        {"usage": True},
        {"homeTadig": ""},
        {"homeTadig": "   "},
        {"visitorTadig": ["x"]},
        {"service": "Teleportation"},
        {"service": 7},
        {"homeTadig": "AA\x1fBB"},
        {"homeTadig": "AA\nBB"},
        {"usage": "1e3"},  # accepted by the precise reading, which gives its figures
        {"charges": " 1.5"},
        {"taxes": [1, 2]},
    ],
)
def test_what_the_precise_reading_refuses_is_declined(row: dict[str, Any]) -> None:
    good = {"service": "GPRS", "homeTadig": "AAAAA", "visitorTadig": "BBBBB", "usage": "1.5", "charges": "2"}
    outbound = [dict(good) for _ in range(6)]
    outbound[3].update(row)
    doc = {"discounts": {}, "usage": {"inbound": [dict(good)], "outbound": outbound}}
    assert decode_request(json.dumps(doc).encode()) is None
    assert decode_usage_file(json.dumps(doc).encode()) is None


@pytest.mark.parametrize(
    "data",
    [
        b'{"discounts": {}, "usage": {"inbound": [}',
        b'{"usage": []}',
        b'{"discounts": {}, "usage": null}',
        b"[1]",
    ],
)
def test_malformed_requests_are_declined(data: bytes) -> None:
    assert decode_request(data) is None


def test_a_declined_request_is_read_the_precise_way(tmp_path: Any) -> None:
    """Exponent notation and blanks are the precise reading's to accept: the request still calculates."""
    from o2o.schemas.roaming import read_request

    row = {"service": "GPRS", "homeTadig": "AAAAA", "visitorTadig": "BBBBB"}
    rows = [{**row, "usage": "1.5E+3", "charges": " 2.50"}, {**row, "usage": 0.25, "taxes": "1e-2"}]
    discounts = {"P": {"serviceGroups": []}}
    path = tmp_path / "req.json"
    path.write_text(json.dumps({"discounts": discounts, "usage": {"inbound": rows}}))
    assert decode_request(path.read_bytes()) is None
    _, usage = read_request(path)
    totals = usage[("GPRS", "AAAAA", "BBBBB")]
    assert (str(totals.volume), str(totals.charges), str(totals.taxes)) == ("1500.25", "2.50", "0.01")
