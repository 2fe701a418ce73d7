"""Reading BWRP JSON exactly: the file, its numbers, and the usage rows aggregated per (service, home, visitor).

Numbers may be JSON numbers or strings; both become exact Decimals (a JSON number is parsed as Decimal, never
as a binary float). Every error is one line naming the JSON path of the bad field (`usage.inbound[17].usage:
'x' is not a number`); the callers prefix the file.

Usage is read on a fast path and, when that meets anything odd, re-read row by row to name the field: the
fast path never decides what is an error, it only declines. The sums run in an exact decimal context.
"""

from __future__ import annotations

import decimal
import json
import sys
from collections import Counter
from decimal import Decimal
from itertools import accumulate, chain, count, repeat
from operator import itemgetter
from pathlib import Path
from typing import Any

from o2o.domain.errors import ValidationError
from o2o.roaming import KNOWN_SERVICES, Direction, UsageKey, UsageTotals, canonical
from o2o.roaming.calculation import EXACT

ZERO = Decimal(0)
# Figures below 1e30 with at most 20 decimals: a billion of them add up within 59 digits, so every sum of
# the calculation's 80-digit exact context is exact.
LIMIT = Decimal("1e30")  # = 10 ** 30: `adjusted() >= 30` says the same without arithmetic
MAX_PLACES = 20
_NUMBER_TYPES = (str, int, Decimal)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def read_json(path: Path) -> Any:
    """Parse a JSON file with every non-integer number as an exact Decimal (NaN and Infinity refused)."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise ValidationError(f"{path}: not UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{path}: line {exc.lineno}: malformed JSON: {exc.msg}") from None
    except ValueError as exc:
        raise ValidationError(f"{path}: malformed JSON: {exc}") from None


def number(value: Any, where: str) -> Decimal:
    """An exact Decimal from a JSON number or a decimal string; anything else is refused naming `where`."""
    if type(value) is str:  # prices repeat ("0", "0.01"): a Decimal is immutable, so one per text
        cached = _NUMBERS.get(value)
        if cached is not None:
            return cached
    if isinstance(value, bool) or not isinstance(value, _NUMBER_TYPES):
        raise ValidationError(f"{where}: {value!r} is not a number")
    try:
        result = Decimal(value.strip() if isinstance(value, str) else value)
    except decimal.InvalidOperation:
        raise ValidationError(f"{where}: {value!r} is not a number") from None
    if not result.is_finite():
        raise ValidationError(f"{where}: {value!r} is not a finite number")
    if (result and result.adjusted() >= 30) or result.as_tuple().exponent < -MAX_PLACES:  # type: ignore[operator]
        raise ValidationError(
            f"{where}: {value!r} is out of range (below 1e30, at most {MAX_PLACES} decimals)"
        )
    if type(value) is str and len(_NUMBERS) < 100_000:
        _NUMBERS[value] = result
    return result


_NUMBERS: dict[str, Decimal] = {}


def object_at(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError(f"{where}: expected an object")
    return value


def list_at(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValidationError(f"{where}: expected a list")
    return value


def text_at(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{where}: expected a non-empty string")
    return value


def tadigs_at(value: Any, where: str) -> tuple[str, ...]:
    items = list_at(value, where)
    if not items:
        raise ValidationError(f"{where}: expected at least one TADIG")
    return tuple(sys.intern(text_at(item, f"{where}[{i}]")) for i, item in enumerate(items))


def service_name(value: Any, where: str) -> str:
    """The canonical name of a service named in a request; an unknown one is refused naming `where`."""
    name = text_at(value, where)
    found = canonical(name)
    if found is None:
        raise ValidationError(f"{where}: unknown service {name!r} (known: {', '.join(KNOWN_SERVICES)})")
    return found.name


# --- usage ------------------------------------------------------------------------------------------------

_KEY = itemgetter("service", "homeTadig", "visitorTadig")
_USAGE = itemgetter("usage")
_CHARGES = itemgetter("charges")
_TAXES = itemgetter("taxes")


class _Odd(Exception):
    """The fast path met something it does not check itself: the rows are read again, one by one."""


def _explain_row(row: Any, where: str) -> None:
    """Raise the error of one usage row, if it has one (the slow, precise reading)."""
    doc = object_at(row, where)
    for key in ("service", "homeTadig", "visitorTadig"):
        if "\x1f" in text_at(doc.get(key), f"{where}.{key}"):
            raise ValidationError(f"{where}.{key}: holds a control character")
    service_name(doc["service"], f"{where}.service")
    for key, required in (("usage", True), ("charges", False), ("taxes", False)):
        if required or key in doc:
            value = number(doc.get(key), f"{where}.{key}")
            if key == "usage" and value < 0:
                raise ValidationError(f"{where}.usage: {doc[key]!r} is negative")


_SEP = "\x1f"  # joins a row's service, home and visitor into one key (a TADIG holding it is refused)


def _column(rows: list[Any], getter: itemgetter[Any], name: str, required: bool) -> list[Decimal]:
    """One figure of every row as exact Decimals, in row order (memory order: the rows are read once)."""
    try:
        raw = list(map(getter, rows))
    except KeyError:
        if required:
            raise _Odd from None
        raw = [row.get(name, 0) for row in rows]
    if bool in set(map(type, raw)):
        raise _Odd  # Decimal(True) would be 1
    return list(map(Decimal, raw))


def _slice_sums(column: list[Decimal], order: list[int], bounds: list[int]) -> list[Decimal]:
    """The sum of each group's figures: gathered by `order`, cut at `bounds`, summed in C loops."""
    gathered = list(map(column.__getitem__, order))
    slices = map(slice, chain((0,), bounds), bounds)
    return list(map(sum, map(gathered.__getitem__, slices), repeat(ZERO)))


def _grouped_sums(rows: list[Any]) -> tuple[list[str], list[Decimal], list[Decimal], list[Decimal]]:
    """Distinct keys in order of first appearance, and the volume, charges and taxes of each.

    Column by column in C loops: the rows are walked in order (a million JSON objects do not fit in a cache,
    and visiting them group by group costs more than the arithmetic); each group's figures are gathered by
    a sort of the row positions and summed slice by slice."""
    keys = list(map(_SEP.join, map(_KEY, rows)))
    index: dict[str, int] = {}
    first = list(map(index.setdefault, keys, count()))
    volumes = _column(rows, _USAGE, "usage", True)
    if min(volumes) < ZERO:
        raise _Odd
    charges = _column(rows, _CHARGES, "charges", False)
    taxes = _column(rows, _TAXES, "taxes", False)
    order = sorted(range(len(first)), key=first.__getitem__)
    sizes = Counter(first)
    bounds = list(accumulate(map(sizes.__getitem__, index.values())))
    for column in (volumes, charges, taxes):
        if max(column) >= LIMIT or min(column) <= -LIMIT:
            raise _Odd
    sums = [_slice_sums(column, order, bounds) for column in (volumes, charges, taxes)]
    if not all(map(Decimal.is_finite, chain.from_iterable(sums))):
        raise _Odd
    # An exact sum keeps the smallest exponent of its terms: the sums tell whether a figure is too fine.
    if min(t.exponent for t in map(Decimal.as_tuple, chain.from_iterable(sums))) < -MAX_PLACES:  # type: ignore[operator]
        raise _Odd
    return list(index), sums[0], sums[1], sums[2]


def _add_rows(
    rows: Any, direction: Direction, where: str, acc: dict[UsageKey, UsageTotals], names: dict[str, str]
) -> None:
    rows = list_at(rows, where)
    if not rows:
        return
    try:
        keys, volumes, charges, taxes = _grouped_sums(rows)
        parts = list(map(str.split, keys, repeat(_SEP)))
        if set(map(len, parts)) != {3}:
            raise _Odd
        raw_names, homes, visitors = zip(*parts, strict=True)
        if "" in homes or "" in visitors:
            raise _Odd
        for name in set(raw_names) - names.keys():
            found = canonical(name)
            if found is None:
                raise _Odd
            names[name] = found.name
        # Interned TADIGs: the calculation's look-ups then compare keys by identity, not by text.
        interned = (list(map(sys.intern, homes)), list(map(sys.intern, visitors)))
        usage_keys = list(zip(map(names.__getitem__, raw_names), *interned, strict=True))
        totals = map(UsageTotals, volumes, charges, taxes, repeat(direction))
        if not acc and len(set(usage_keys)) == len(usage_keys):
            acc.update(zip(usage_keys, totals, strict=True))
            return
        for key, total in zip(usage_keys, totals, strict=True):
            old = acc.get(key)
            acc[key] = (  # two spellings of one service, or one pair in both lists, add up
                total
                if old is None
                else UsageTotals(
                    old.volume + total.volume, old.charges + total.charges, old.taxes + total.taxes, direction
                )
            )
    except decimal.Inexact:
        raise ValidationError(f"{where}: a sum needs more than 80 digits to stay exact") from None
    except (_Odd, KeyError, TypeError, ValueError, ArithmeticError):
        for i, row in enumerate(rows):
            _explain_row(row, f"{where}[{i}]")
        raise ValidationError(f"{where}: not a list of usage rows") from None


def usage_from_json(doc: Any, where: str = "usage") -> dict[UsageKey, UsageTotals]:
    """Aggregate the request's usage per (service, home, visitor): `{inbound, outbound}` or a flat list.

    A pair reported in both lists is summed, with the direction of the outbound list (as the service does)."""
    acc: dict[UsageKey, UsageTotals] = {}
    names: dict[str, str] = {}
    with decimal.localcontext(EXACT):
        if isinstance(doc, list):
            _add_rows(doc, Direction.NONE, where, acc, names)
        else:
            body = object_at(doc, where)
            for direction in (Direction.INBOUND, Direction.OUTBOUND):
                rows = body.get(direction.value)
                if rows is not None:
                    _add_rows(rows, direction, f"{where}.{direction.value}", acc, names)
    return acc


def read_usage_file(path: Path) -> dict[UsageKey, UsageTotals]:
    """A BWRP usage file's usage aggregated: `{inbound, outbound}`, a flat list, or a request whose `usage`
    it takes. msgspec's typed decoding first; what that declines is read again the precise way."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"{path}: cannot read: {exc.strerror or exc}") from None
    # Imported here: its Arrow and NumPy cost ~0.5 s, which `o2o --help` must not pay.
    from o2o.schemas.roaming_decode import decode_usage_file

    fast = decode_usage_file(data)
    if fast is not None:
        return fast
    doc: Any = read_json(path)
    if isinstance(doc, dict) and "usage" in doc:
        doc = doc["usage"]
    try:
        return usage_from_json(doc)
    except ValidationError as exc:
        raise ValidationError(f"{path}: {exc}") from None
