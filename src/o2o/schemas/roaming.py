"""The GSMA BWRP JSON formats: the calculation request (discounts) and response, and the discrepancy reports.

Numbers and usage rows are read by `o2o.schemas.roaming_usage`; errors are one line naming the file and the
JSON path of the bad field: `req.json: discounts.DTAG.serviceGroups[0].services[3].service: unknown service`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from o2o.domain.errors import ValidationError
from o2o.roaming import (
    CalculationResult,
    CommitmentKind,
    Condition,
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
)
from o2o.roaming.calculation import check_discount
from o2o.roaming.discrepancy import DiscrepancyReport, UsageLine, UsageReport
from o2o.roaming.pricing import check_tiers
from o2o.schemas.roaming_usage import (
    ZERO,
    list_at,
    number,
    object_at,
    read_json,
    service_name,
    tadigs_at,
    text_at,
    usage_from_json,
)

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
            _tier(object_at(t, f"{where}.thresholds[{i}]"), f"{where}.thresholds[{i}]")
            for i, t in enumerate(list_at(thresholds, f"{where}.thresholds"))
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
    text = "".join(text_at(value, where).lower().split())
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
    pricing = object_at(usage_p if usage_p is not None else access_p, f"{where}.{key}")
    at = f"{where}.{key}.ratingPlan"
    plan_doc = object_at(pricing.get("ratingPlan"), at)
    ratio = {k: plan_doc[k] for k in ("balancedRate", "unbalancedRate") if k in plan_doc}
    plan: RatingPlan | RatioPlan
    if ratio and "rate" in plan_doc:
        raise ValidationError(f"{at}: give rate or balancedRate/unbalancedRate, not both")
    if ratio:
        tiers = {
            k: _tiers(object_at(v, f"{at}.{k}"), f"{at}.{k}", Rules.CURRENT) if k in ratio else ()
            for k, v in ((k, ratio.get(k)) for k in ("balancedRate", "unbalancedRate"))
        }
        plan = RatioPlan(tiers["balancedRate"], tiers["unbalancedRate"])
    else:
        rate = object_at(plan_doc.get("rate"), f"{at}.rate")
        plan = RatingPlan(_tiers(rate, f"{at}.rate", rules), _plan_kind(plan_doc.get("kind"), f"{at}.kind"))
    included = service.get("includedInCommitment", False)
    if not isinstance(included, bool):
        raise ValidationError(f"{where}.includedInCommitment: expected true or false")
    return ServicePricing(str(name), canon, plan, included, access=key == "accessPricing")


_KINDS = {k.value.lower(): k for k in CommitmentKind}


def _condition(value: Any, where: str) -> Condition:
    if value is None:
        return Condition()
    doc = object_at(value, where)
    kind_text = text_at(doc.get("kind", CommitmentKind.UNCONDITIONAL.value), f"{where}.kind")
    kind = _KINDS.get(" ".join(kind_text.lower().split()))
    if kind is None:
        known = ", ".join(k.value for k in CommitmentKind)
        raise ValidationError(f"{where}.kind: unknown condition {kind_text!r} (known: {known})")
    if kind is CommitmentKind.UNCONDITIONAL:
        return Condition()
    commitment = object_at(doc.get("commitment"), f"{where}.commitment")
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
    parties = object_at(doc, where)
    if not parties:
        raise ValidationError(f"{where}: no discount")
    out = []
    for party, body in parties.items():
        at = f"{where}.{party}"
        part = object_at(body, at)
        groups = []
        for g, group in enumerate(list_at(part.get("serviceGroups"), f"{at}.serviceGroups")):
            gat = f"{at}.serviceGroups[{g}]"
            gdoc = object_at(group, gat)
            services = tuple(
                _pricing(object_at(s, f"{gat}.services[{i}]"), f"{gat}.services[{i}]", rules)
                for i, s in enumerate(list_at(gdoc.get("services"), f"{gat}.services"))
            )
            home = tadigs_at(gdoc.get("homeTadigs"), f"{gat}.homeTadigs")
            visitor = tadigs_at(gdoc.get("visitorTadigs"), f"{gat}.visitorTadigs")
            groups.append(DiscountGroup(home, visitor, services))
        discount = Discount(party, _condition(part.get("condition"), f"{at}.condition"), tuple(groups))
        check_discount(discount, at)
        out.append(discount)
    return tuple(out)


def request_from_json(
    doc: Any, rules: Rules = Rules.CURRENT
) -> tuple[tuple[Discount, ...], dict[UsageKey, UsageTotals]]:
    body = object_at(doc, "request")
    if "discounts" not in body:
        raise ValidationError("discounts: missing")
    if "usage" not in body:
        raise ValidationError("usage: missing")
    return discounts_from_json(body["discounts"], rules=rules), usage_from_json(body["usage"])


def read_request(
    path: Path, rules: Rules = Rules.CURRENT
) -> tuple[tuple[Discount, ...], dict[UsageKey, UsageTotals]]:
    """Read a BWRP calculation request file; errors name the file and the field.

    Decoded by msgspec into typed structs (`o2o.schemas.roaming_decode`); a request that path declines is
    read again the precise way, which gives the same figures or names the bad field."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"{path}: cannot read: {exc.strerror or exc}") from None
    # Imported here: its Arrow and NumPy cost ~0.5 s, which `o2o --help` must not pay.
    from o2o.schemas.roaming_decode import decode_request

    fast = decode_request(data)
    doc = read_json(path) if fast is None else None
    try:
        if fast is not None:
            return discounts_from_json(fast[0], rules=rules), fast[1]
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
    doc = object_at(row, where)
    unit = doc.get("units", doc.get("unit"))
    return UsageLine(
        text_at(doc.get("yearMonth"), f"{where}.yearMonth"),
        text_at(doc.get("homeTadig"), f"{where}.homeTadig"),
        text_at(doc.get("visitorTadig"), f"{where}.visitorTadig"),
        text_at(doc.get("service"), f"{where}.service"),
        number(doc.get("usage"), f"{where}.usage"),
        text_at(unit, f"{where}.units"),
    )


def usage_report_from_json(doc: Any) -> UsageReport:
    """A discrepancy usage report: `{header, body: {inbound, outbound}}` or the bare body."""
    report = object_at(doc, "report")
    body = object_at(report["body"], "body") if "body" in report else report
    at = "body." if "body" in report else ""
    lists = {
        d: tuple(_usage_line(r, f"{at}{d}[{i}]") for i, r in enumerate(list_at(body.get(d, []), f"{at}{d}")))
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
    """JSON (indented by 2) with Decimals written as exact number literals, never through a binary float."""
    return _encode(doc, 0)


def _encode(value: Any, depth: int) -> str:
    pad, inner = "  " * depth, "  " * (depth + 1)
    if isinstance(value, Decimal):
        return json_number(value)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        items = (f"{inner}{json.dumps(str(k))}: {_encode(v, depth + 1)}" for k, v in value.items())
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(f"{inner}{_encode(v, depth + 1)}" for v in value) + f"\n{pad}]"
    return json.dumps(value)  # str, int, bool, None
