"""The GSMA BWRP JSON formats: the calculation request and response, and the discrepancy usage reports.

Numbers may be JSON numbers or strings; both become exact Decimals (a JSON number is parsed as Decimal, never
as a binary float). Every error is one line naming the file and the JSON path of the bad field:
`req.json: usage.inbound[17].usage: 'x' is not a number`.

Usage is read on a fast path (one pass, no per-field validation calls) and, when that pass meets anything odd,
re-read row by row to name the field; the sums run in an exact decimal context that refuses rounding.
"""

from __future__ import annotations

import decimal
import json
import sys
from collections import Counter
from collections.abc import Mapping
from decimal import Decimal
from itertools import accumulate, chain, count, repeat
from operator import itemgetter
from pathlib import Path
from typing import Any

from o2o.domain.errors import ValidationError
from o2o.roaming import (
    KNOWN_SERVICES,
    CalculationResult,
    CommitmentKind,
    Condition,
    Direction,
    Discount,
    DiscountGroup,
    PlanKind,
    RatingPlan,
    RatioPlan,
    Rules,
    ServicePricing,
    Tier,
    UsageKey,
    UsageTotals,
    canonical,
)
from o2o.roaming.calculation import EXACT, check_discount
from o2o.roaming.discrepancy import DiscrepancyReport, UsageLine, UsageReport
from o2o.roaming.pricing import check_tiers

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


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError(f"{where}: expected an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValidationError(f"{where}: expected a list")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{where}: expected a non-empty string")
    return value


def _tadigs(value: Any, where: str) -> tuple[str, ...]:
    items = _list(value, where)
    if not items:
        raise ValidationError(f"{where}: expected at least one TADIG")
    return tuple(sys.intern(_text(item, f"{where}[{i}]")) for i, item in enumerate(items))


def service_name(value: Any, where: str) -> str:
    """The canonical name of a service named in a request; an unknown one is refused naming `where`."""
    name = _text(value, where)
    found = canonical(name)
    if found is None:
        raise ValidationError(f"{where}: unknown service {name!r} (known: {', '.join(KNOWN_SERVICES)})")
    return found.name


# --- discounts --------------------------------------------------------------------------------------------


def _tiers(rate: dict[str, Any], where: str, rules: Rules) -> tuple[Tier, ...]:
    thresholds = rate.get("thresholds")
    flat = {k: rate[k] for k in ("fixedPrice", "linearPrice") if k in rate}
    if thresholds is not None and flat:
        raise ValidationError(f"{where}: give thresholds or a rate's prices, not both")
    if thresholds is None:
        if not flat:
            raise ValidationError(f"{where}: no thresholds and no price")
        if rules is Rules.AEA87AA:
            return ()  # aea87aa9 built no tier from a rate without thresholds: its value was 0
        tiers: tuple[Tier, ...] = (
            Tier(
                ZERO,
                number(flat.get("fixedPrice", 0), f"{where}.fixedPrice"),
                number(flat.get("linearPrice", 0), f"{where}.linearPrice"),
            ),
        )
    else:
        tiers = tuple(
            _tier(_object(t, f"{where}.thresholds[{i}]"), f"{where}.thresholds[{i}]")
            for i, t in enumerate(_list(thresholds, f"{where}.thresholds"))
        )
        if not tiers:
            raise ValidationError(f"{where}.thresholds: expected at least one threshold")
    check_tiers(tiers, f"{where}.thresholds")
    return tiers


def _tier(t: dict[str, Any], where: str) -> Tier:
    return Tier(
        number(t.get("start", 0), f"{where}.start"),
        number(t.get("fixedPrice", 0), f"{where}.fixedPrice"),
        number(t.get("linearPrice", 0), f"{where}.linearPrice"),
    )


def _plan_kind(value: Any, where: str) -> PlanKind:
    if value is None:
        return PlanKind.TIERED
    text = "".join(_text(value, where).lower().split())
    return PlanKind.BACK_TO_FIRST if "backtofirst" in text.replace("-", "") else PlanKind.TIERED


def _pricing(service: dict[str, Any], where: str, rules: Rules) -> ServicePricing:
    name = service.get("service")
    canon = service_name(name, f"{where}.service")
    usage_p, access_p = service.get("usagePricing"), service.get("accessPricing")
    if usage_p is not None and access_p is not None:
        raise ValidationError(f"{where}: give usagePricing or accessPricing, not both")
    if usage_p is None and access_p is None:
        raise ValidationError(f"{where}: no usagePricing or accessPricing")
    key = "usagePricing" if usage_p is not None else "accessPricing"
    pricing = _object(usage_p if usage_p is not None else access_p, f"{where}.{key}")
    at = f"{where}.{key}.ratingPlan"
    plan_doc = _object(pricing.get("ratingPlan"), at)
    ratio = {k: plan_doc[k] for k in ("balancedRate", "unbalancedRate") if k in plan_doc}
    plan: RatingPlan | RatioPlan
    if ratio and "rate" in plan_doc:
        raise ValidationError(f"{at}: give rate or balancedRate/unbalancedRate, not both")
    if ratio:
        tiers = {
            k: _tiers(_object(v, f"{at}.{k}"), f"{at}.{k}", Rules.CURRENT) if k in ratio else ()
            for k, v in ((k, ratio.get(k)) for k in ("balancedRate", "unbalancedRate"))
        }
        plan = RatioPlan(tiers["balancedRate"], tiers["unbalancedRate"])
    else:
        rate = _object(plan_doc.get("rate"), f"{at}.rate")
        plan = RatingPlan(_tiers(rate, f"{at}.rate", rules), _plan_kind(plan_doc.get("kind"), f"{at}.kind"))
    included = service.get("includedInCommitment", False)
    if not isinstance(included, bool):
        raise ValidationError(f"{where}.includedInCommitment: expected true or false")
    return ServicePricing(str(name), canon, plan, included, access=key == "accessPricing")


_KINDS = {k.value.lower(): k for k in CommitmentKind}


def _condition(value: Any, where: str) -> Condition:
    if value is None:
        return Condition()
    doc = _object(value, where)
    kind_text = _text(doc.get("kind", CommitmentKind.UNCONDITIONAL.value), f"{where}.kind")
    kind = _KINDS.get(" ".join(kind_text.lower().split()))
    if kind is None:
        known = ", ".join(k.value for k in CommitmentKind)
        raise ValidationError(f"{where}.kind: unknown condition {kind_text!r} (known: {known})")
    if kind is CommitmentKind.UNCONDITIONAL:
        return Condition()
    commitment = _object(doc.get("commitment"), f"{where}.commitment")
    taxes = commitment.get("includingTaxes", False)
    if not isinstance(taxes, bool):
        raise ValidationError(f"{where}.commitment.includingTaxes: expected true or false")
    currency = commitment.get("currency")
    if currency is not None and not isinstance(currency, str):
        raise ValidationError(f"{where}.commitment.currency: expected a currency code")
    value_ = number(commitment.get("value"), f"{where}.commitment.value")
    return Condition(kind, value_, taxes, currency or None)


def discounts_from_json(
    doc: Any, where: str = "discounts", rules: Rules = Rules.CURRENT
) -> tuple[Discount, ...]:
    """The request's `discounts` object: one Discount per party, in the document's order."""
    parties = _object(doc, where)
    if not parties:
        raise ValidationError(f"{where}: no discount")
    out = []
    for party, body in parties.items():
        at = f"{where}.{party}"
        part = _object(body, at)
        groups = []
        for g, group in enumerate(_list(part.get("serviceGroups"), f"{at}.serviceGroups")):
            gat = f"{at}.serviceGroups[{g}]"
            gdoc = _object(group, gat)
            services = tuple(
                _pricing(_object(s, f"{gat}.services[{i}]"), f"{gat}.services[{i}]", rules)
                for i, s in enumerate(_list(gdoc.get("services"), f"{gat}.services"))
            )
            home = _tadigs(gdoc.get("homeTadigs"), f"{gat}.homeTadigs")
            visitor = _tadigs(gdoc.get("visitorTadigs"), f"{gat}.visitorTadigs")
            groups.append(DiscountGroup(home, visitor, services))
        discount = Discount(party, _condition(part.get("condition"), f"{at}.condition"), tuple(groups))
        check_discount(discount, at)
        out.append(discount)
    return tuple(out)


# --- usage ------------------------------------------------------------------------------------------------

_KEY = itemgetter("service", "homeTadig", "visitorTadig")
_USAGE = itemgetter("usage")
_CHARGES = itemgetter("charges")
_TAXES = itemgetter("taxes")


class _Odd(Exception):
    """The fast path met something it does not check itself: the rows are read again, one by one."""


def _explain_row(row: Any, where: str) -> None:
    """Raise the error of one usage row, if it has one (the slow, precise reading)."""
    doc = _object(row, where)
    for key in ("service", "homeTadig", "visitorTadig"):
        if "\x1f" in _text(doc.get(key), f"{where}.{key}"):
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
    rows = _list(rows, where)
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
            body = _object(doc, where)
            for direction in (Direction.INBOUND, Direction.OUTBOUND):
                rows = body.get(direction.value)
                if rows is not None:
                    _add_rows(rows, direction, f"{where}.{direction.value}", acc, names)
    return acc


def request_from_json(
    doc: Any, rules: Rules = Rules.CURRENT
) -> tuple[tuple[Discount, ...], dict[UsageKey, UsageTotals]]:
    body = _object(doc, "request")
    if "discounts" not in body:
        raise ValidationError("discounts: missing")
    if "usage" not in body:
        raise ValidationError("usage: missing")
    return discounts_from_json(body["discounts"], rules=rules), usage_from_json(body["usage"])


def read_request(
    path: Path, rules: Rules = Rules.CURRENT
) -> tuple[tuple[Discount, ...], dict[UsageKey, UsageTotals]]:
    """Read a BWRP calculation request file; errors name the file and the field."""
    doc = read_json(path)
    try:
        return request_from_json(doc, rules)
    except ValidationError as exc:
        raise ValidationError(f"{path}: {exc}") from None


# --- response ---------------------------------------------------------------------------------------------


def json_number(value: Decimal) -> str:
    """A Decimal as a JSON number literal, exactly (no exponent, no binary float on the way)."""
    text = format(value, "f")
    return "0" if text in ("-0", "0") else text


def _strings(items: tuple[str, ...]) -> str:
    return "[" + ", ".join(json.dumps(s) for s in items) + "]"


def response_json(result: CalculationResult) -> str:
    """The calculation service's response: `intermediateResults`, figures as exact JSON numbers."""
    lines = []
    for r in result.results:
        lines.append(
            "    {"
            f'"service": {json.dumps(r.service)}, '
            f'"homeTadigs": {_strings(r.home)}, '
            f'"visitorTadigs": {_strings(r.visitor)}, '
            f'"dealValue": {json_number(r.deal_value)}, '
            f'"shortOfCommitment": {json_number(r.short_of_commitment)}, '
            f'"usage": {json_number(r.usage)}, '
            f'"type": {json.dumps(r.direction.value)}'
            "}"
        )
    body = ",\n".join(lines)
    return '{\n  "intermediateResults": [\n' + body + ("\n" if lines else "") + "  ]\n}\n"


# --- discrepancy ------------------------------------------------------------------------------------------


def _usage_line(row: Any, where: str) -> UsageLine:
    doc = _object(row, where)
    unit = doc.get("units", doc.get("unit"))
    return UsageLine(
        _text(doc.get("yearMonth"), f"{where}.yearMonth"),
        _text(doc.get("homeTadig"), f"{where}.homeTadig"),
        _text(doc.get("visitorTadig"), f"{where}.visitorTadig"),
        _text(doc.get("service"), f"{where}.service"),
        number(doc.get("usage"), f"{where}.usage"),
        _text(unit, f"{where}.units"),
    )


def usage_report_from_json(doc: Any) -> UsageReport:
    """A discrepancy usage report: `{header, body: {inbound, outbound}}` or the bare body."""
    report = _object(doc, "report")
    body = _object(report["body"], "body") if "body" in report else report
    at = "body." if "body" in report else ""
    lists = {
        d: tuple(_usage_line(r, f"{at}{d}[{i}]") for i, r in enumerate(_list(body.get(d, []), f"{at}{d}")))
        for d in ("inbound", "outbound")
    }
    return UsageReport(lists["inbound"], lists["outbound"])


def read_usage_report(path: Path) -> UsageReport:
    doc = read_json(path)
    try:
        return usage_report_from_json(doc)
    except ValidationError as exc:
        raise ValidationError(f"{path}: {exc}") from None


def discrepancy_document(report: DiscrepancyReport) -> dict[str, Any]:
    """The discrepancy service's report (`general_information`, `inbound`, `outbound`), Decimals as values."""

    def line(x: Any) -> dict[str, Any]:
        return {
            "HTMN": x.home,
            "VPMN": x.visitor,
            "delta_usage_abs": x.delta,
            "delta_usage_percent": x.delta_percent,
            "own_usage": x.own,
            "partner_usage": x.partner,
            "service": x.service,
            "yearMonth": x.year_month,
        }

    return {
        "general_information": [
            {
                "inbound_discrepancy": g.inbound_discrepancy,
                "inbound_own_usage": g.inbound_own,
                "inbound_partner_usage": g.inbound_partner,
                "outbound_discrepancy": g.outbound_discrepancy,
                "outbound_own_usage": g.outbound_own,
                "outbound_partner_usage": g.outbound_partner,
                "service": g.service,
                "unit": g.unit,
            }
            for g in report.general
        ],
        "inbound": [line(x) for x in report.inbound],
        "outbound": [line(x) for x in report.outbound],
    }


def dump_json_numbers(doc: Mapping[str, Any]) -> str:
    """JSON with Decimals written as exact number literals."""
    marker = "\x00dec:"

    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            return marker + json_number(value)
        raise TypeError(f"cannot render {type(value).__name__}")

    text = json.dumps(doc, default=default, indent=2)
    # A Decimal came back as the string "\u0000dec:123.4": unquote it into the number literal.
    return _unquote(text)


def _unquote(text: str) -> str:
    out = []
    start = 0
    token = '"\\u0000dec:'
    while True:
        i = text.find(token, start)
        if i < 0:
            out.append(text[start:])
            return "".join(out)
        j = text.index('"', i + len(token))
        out.append(text[start:i])
        out.append(text[i + len(token) : j])
        start = j + 1
