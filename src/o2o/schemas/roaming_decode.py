"""The fast reading of BWRP JSON: msgspec decodes the request into typed structs, and Arrow sums the usage
per (service, home, visitor) as exact scaled integers. Exact throughout; never a binary float.

msgspec keeps each figure of a usage row as its JSON text (`msgspec.Raw`: `1.10` or `"1.10"`, no object
parsed); the texts of a column are joined and handed to Arrow at once, which casts them to decimal256 at 20
decimals — refusing, rather than rounding, a figure with more decimals — and sums them per group in C++. Each
figure's own number of decimals is counted from its text, so that a group's sum is given the exponent the
row-by-row reading's exact Decimal sum has (`1.10 + 2.5` is `3.60`). The discounts (small) are decoded
untyped with JSON floats as Decimals — the same document `read_json` gives — and read by the same code.

This path never decides what is an error, it only declines (returns None): malformed JSON, a field of the
wrong type, an unknown service, a figure out of range, in exponent notation or with blanks, or negative usage
each send the caller to the precise, row-by-row reading (`o2o.schemas.roaming_usage`), which names the file,
line and field or, for what it accepts (`1e3`, `" 1.5"`), gives the figures. So both paths give the same
figures, and every refusal has the same message.
"""

from __future__ import annotations

import decimal
import sys
from decimal import Decimal
from itertools import repeat
from operator import attrgetter
from typing import Any, cast

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from o2o.roaming import Direction, UsageKey, UsageTotals, canonical
from o2o.roaming.calculation import EXACT

ZERO = Decimal(0)
LIMIT = Decimal("1e30")  # as o2o.schemas.roaming_usage: below 1e30, at most 20 decimals
MAX_PLACES = 20


class _Row(msgspec.Struct, gc=False, rename="camel"):
    """One usage row, figures as their JSON text; other fields (units, yearMonth …) are skipped."""

    service: str
    home_tadig: str
    visitor_tadig: str
    usage: msgspec.Raw
    charges: msgspec.Raw = msgspec.Raw(b"0")
    taxes: msgspec.Raw = msgspec.Raw(b"0")


class _Usage(msgspec.Struct, gc=False):
    inbound: list[_Row] | None = None
    outbound: list[_Row] | None = None


class _Request(msgspec.Struct, gc=False):
    discounts: msgspec.Raw
    usage: _Usage | list[_Row]


class _UsageFile(msgspec.Struct, gc=False):
    """A usage file: `{inbound, outbound}`, or a request whose `usage` is taken."""

    inbound: list[_Row] | None = None
    outbound: list[_Row] | None = None
    usage: _Usage | list[_Row] | msgspec.UnsetType = msgspec.UNSET


_REQUEST = msgspec.json.Decoder(_Request)
_USAGE_FILE = msgspec.json.Decoder(_UsageFile | list[_Row])
_UNTYPED = msgspec.json.Decoder(float_hook=Decimal)  # JSON floats as exact Decimals, as read_json does
_KEY_COLUMNS = (attrgetter("service"), attrgetter("home_tadig"), attrgetter("visitor_tadig"))
_COLUMNS = (attrgetter("usage"), attrgetter("charges"), attrgetter("taxes"))


class _Decline(Exception):
    """Something the fast path does not check itself: the caller reads the file the precise way."""


def decode_request(data: bytes) -> tuple[Any, dict[UsageKey, UsageTotals]] | None:
    """The request's discounts (an untyped document) and its aggregated usage, or None to decline."""
    try:
        request = _REQUEST.decode(data)
        discounts = _UNTYPED.decode(request.discounts)
        return discounts, _aggregate(request.usage)
    except (msgspec.MsgspecError, _Decline, ArithmeticError):
        return None


def decode_usage_file(data: bytes) -> dict[UsageKey, UsageTotals] | None:
    """A usage file's aggregated usage, or None to decline."""
    try:
        doc = _USAGE_FILE.decode(data)
        if isinstance(doc, _UsageFile):
            body: _Usage | list[_Row] = (
                _Usage(doc.inbound, doc.outbound) if isinstance(doc.usage, msgspec.UnsetType) else doc.usage
            )
        else:
            body = doc
        return _aggregate(body)
    except (msgspec.MsgspecError, _Decline, ArithmeticError):
        return None


def _aggregate(body: _Usage | list[_Row]) -> dict[UsageKey, UsageTotals]:
    """Per (service, home, visitor): a pair in both lists is summed, with the outbound list's direction."""
    acc: dict[UsageKey, UsageTotals] = {}
    names: dict[str, str] = {}
    lists = (
        ((body, Direction.NONE),)
        if isinstance(body, list)
        else ((body.inbound, Direction.INBOUND), (body.outbound, Direction.OUTBOUND))
    )
    with decimal.localcontext(EXACT):  # a sum that would need rounding raises Inexact: declined
        for rows, direction in lists:
            if rows:
                _add(rows, direction, acc, names)
    return acc


def _add(
    rows: list[_Row], direction: Direction, acc: dict[UsageKey, UsageTotals], names: dict[str, str]
) -> None:
    keys, sums = _grouped_sums(rows)
    usage_keys = [_usage_key(key, names) for key in keys]
    totals = map(UsageTotals, *sums, repeat(direction))
    for key, total in zip(usage_keys, totals, strict=True):
        old = acc.get(key)
        acc[key] = (  # two spellings of one service, or one pair in both lists, add up
            total
            if old is None
            else UsageTotals(
                old.volume + total.volume, old.charges + total.charges, old.taxes + total.taxes, direction
            )
        )


def _grouped_sums(rows: list[_Row]) -> tuple[list[tuple[str, str, str]], list[list[Decimal]]]:
    """The distinct (service, home, visitor) keys in order of first appearance, and the volume, charges and
    taxes of each: one Arrow hash aggregation of the figures as scaled integers.

    Each key column is dictionary-encoded (a hash table in C++); the three codes make one integer key, so the
    aggregation hashes integers (measured: a fifth of grouping by the three texts)."""
    codes, dictionaries = [], []
    for name in _KEYS:
        encoded = pc.dictionary_encode(_texts("\n".join(map(attrgetter(name), rows)), len(rows)))
        codes.append(encoded.indices.to_numpy().astype(np.int64))
        dictionaries.append([text[:-1] for text in encoded.dictionary.to_pylist()])  # less its newline
    key = codes[0]
    for code, dictionary in zip(codes[1:], dictionaries[1:], strict=True):
        key = key * len(dictionary) + code
    columns: dict[str, Any] = {"key": key, "row": np.arange(len(rows))}
    aggregations: list[tuple[str, str]] = [("row", "min")]
    same_places: dict[str, int] = {}  # a column whose figures all have one number of decimals
    for name in _FIGURES:
        columns[name], places = _figures(rows, name, volume=name == "usage")
        aggregations.append((name, "sum"))
        low, high = (x.as_py() for x in pc.min_max(places).values())
        if low == high:
            same_places[name] = low
        else:
            columns[f"{name}_places"] = places
            aggregations.append((f"{name}_places", "max"))
    table = pa.table(columns).group_by("key").aggregate(aggregations).sort_by("row_min")
    first = table["row_min"].to_numpy()
    keys = list(
        zip(
            *(map(d.__getitem__, code[first].tolist()) for d, code in zip(dictionaries, codes, strict=True)),
            strict=True,
        )
    )
    sums = [
        _exactly(
            table[f"{name}_sum"], same_places[name] if name in same_places else table[f"{name}_places_max"]
        )
        for name in _FIGURES
    ]
    return keys, sums


def _figures(rows: list[_Row], name: str, *, volume: bool) -> tuple[Any, Any]:
    """One figure of every row as decimal256 at 20 decimals (exact: Arrow refuses to drop a digit), and
    each figure's own number of decimals counted from its text. Declines unless every figure is a plain
    decimal (no exponent, no blank, no escape), below 1e30 and with at most 20 decimals, and usage >= 0."""
    joined = b"\n".join(list(map(attrgetter(name), rows)))
    if b"e" in joined or b"E" in joined:
        raise _Decline  # in exponent notation (or a word): read the precise way
    texts = pc.utf8_trim(_texts(joined, len(rows)), '"\n')
    try:
        numbers = pc.cast(texts, _DECIMAL)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise _Decline from None  # not a number, or more than 20 decimals: the precise reading names it
    low, high = (x.as_py() for x in pc.min_max(numbers).values())
    if high >= LIMIT or low <= -LIMIT or (volume and low < ZERO):
        raise _Decline
    dot = pc.find_substring(texts, ".")
    places = pc.if_else(pc.equal(dot, -1), 0, pc.subtract(pc.subtract(pc.utf8_length(texts), dot), 1))
    return numbers, places


def _texts(joined: str | bytes, count: int) -> Any:
    """One column's texts, each ending in a newline: an Arrow string array over the joined buffer, its
    offsets where numpy finds the newlines (no Python object per row, no copy of the text). A text holding a
    newline (a key, or a figure's JSON that is more than one token) makes the count wrong: declined."""
    data = (joined.encode() if isinstance(joined, str) else joined) + b"\n"
    breaks = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == _NEWLINE)
    if len(breaks) != count:
        raise _Decline
    offsets = np.empty(count + 1, dtype=np.int64)
    offsets[0] = 0
    np.add(breaks, 1, out=offsets[1:])
    return pa.LargeStringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(data))


_NEWLINE = ord("\n")


_KEYS = ("service", "home_tadig", "visitor_tadig")
_FIGURES = ("usage", "charges", "taxes")
_DECIMAL = pa.decimal256(76, MAX_PLACES)  # < 1e30 at 20 decimals is 50 digits: a sum of 1e26 rows fits


def _exactly(sums: Any, places: Any) -> list[Decimal]:
    """Each group's sum at the exponent of the exact Decimal sum of its figures: the finest of theirs (and
    at most 0, as a sum from 0 has). Cast by Arrow to that many decimals — exact, since the digits beyond are
    zeros (a safe cast refuses to drop one) — one cast per distinct number of decimals (usually one)."""
    if isinstance(places, int):
        return cast("list[Decimal]", pc.cast(sums, pa.decimal256(76, places)).to_pylist())
    places_np = places.to_numpy()
    out: list[Decimal] = [ZERO] * len(places_np)
    for p in np.unique(places_np).tolist():
        where = np.flatnonzero(places_np == p)
        values = pc.cast(pc.take(sums, pa.array(where)), pa.decimal256(76, p)).to_pylist()
        for i, value in zip(where.tolist(), values, strict=True):
            out[i] = value
    return out


def _usage_key(key: tuple[str, str, str], names: dict[str, str]) -> UsageKey:
    service, home, visitor = key
    canon = names.get(service)
    if canon is None:
        found = canonical(service)
        if found is None:
            raise _Decline
        canon = names[service] = found.name
    for tadig in (home, visitor):
        if not tadig.strip() or "\x1f" in tadig:
            raise _Decline
    # Interned TADIGs: the calculation's look-ups then compare keys by identity, not by text.
    return canon, sys.intern(home), sys.intern(visitor)
