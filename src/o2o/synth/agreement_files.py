"""TOML text of a synthetic network: `operators.toml` and one `agreements/<ID>.toml` per agreement.

Invariants: the text is deterministic (fixed key order, no timestamps) and validates against
`o2o.schemas.operators` and `o2o.schemas.agreement.load_agreement_file`; prices are written as TOML
numbers with at most 4 decimals (the loader parses them as Decimal, never float).
"""

from __future__ import annotations

import json
from datetime import date

from o2o.synth.legal import legal_data
from o2o.synth.network import SynthAgreement, SynthOperator, SynthService


def _s(text: str) -> str:
    # JSON string escaping is valid TOML basic-string escaping for the text we write.
    return json.dumps(text, ensure_ascii=False)


def operators_toml(ops: list[SynthOperator]) -> str:
    lines = ["# Operators of a synthetic network written by `o2o generate`.", ""]
    for i, op in enumerate(ops):
        c = op.country
        legal = legal_data(op.id, op.name, c, i)
        lines += [
            "[[operators]]",
            f"id = {_s(op.id)}",
            f"name = {_s(op.name)}",
            f"currency = {_s(c.currency)}",
            f"country_code = {_s(c.country_code)}",
            f"trunk_prefix = {_s(c.trunk_prefix)}",
            f"international_prefix = {_s(c.international_prefix)}",
            "",
            "[operators.legal]",
            f"legal_name = {_s(legal.legal_name)}",
            f"address = {_s(legal.address)}",
            f"tax_id = {_s(legal.tax_id)}",
            f"iban = {_s(legal.iban)}",
            f"bic = {_s(legal.bic)}",
            f"bank_name = {_s(legal.bank_name)}",
            "",
        ]
    return "\n".join(lines)


def _version(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _usage_service(ag: SynthAgreement, svc: SynthService) -> list[str]:
    unit = {"voice": "minute", "sms": "event", "data": "MB"}[svc.kind]
    lines = [f"unit = {_s(unit)}"]
    if svc.kind == "voice":
        lines.append(f"increments = {{ first = {svc.increments[0]}, next = {svc.increments[1]} }}")
    if svc.kind == "data":
        lines.append("volume_increment = 1000")
    lines.append("destinations = [")
    lines += [f"    {{ prefix = {_s(d.prefix)}, name = {_s(d.name)} }}," for d in svc.destinations]
    lines.append("]")
    versions = [(ag.valid_from, svc.prices)]
    if svc.prices_new is not None:
        versions.append((ag.change_day, svc.prices_new))
    for valid_from, prices in versions:
        for dest, price in zip(svc.destinations, prices, strict=True):
            lines += [
                "",
                "[[services.rates]]",
                f"destination = {_s(dest.name)}",
                f"price = {price}",
                f"valid_from = {valid_from.isoformat()}",
                f"version = {_s(_version(valid_from))}",
            ]
    return lines


def _service_lines(ag: SynthAgreement, svc: SynthService) -> list[str]:
    what = {
        "voice": "call termination",
        "sms": "SMS termination",
        "data": "IP transit",
        "recurring": "leased channel",
    }[svc.kind]
    lines = [
        "[[services]]",
        f"id = {_s(svc.id)}",
        f"kind = {_s(svc.kind)}",
        f"provider = {_s(svc.provider.id)}",
        f"customer = {_s(svc.customer.id)}",
        f"description = {_s(f'{what} by {svc.provider.id} for {svc.customer.id}')}",
    ]
    if svc.kind == "recurring":
        lines += [
            'unit = "month"',
            "",
            "[[services.charges]]",
            f"name = {_s(f'STM-1 {svc.provider.id}-{svc.customer.id}')}",
            f"amount = {svc.lease_amount}",
            f"start = {ag.valid_from.isoformat()}",
        ]
    else:
        lines += _usage_service(ag, svc)
    return [*lines, ""]


def agreement_toml(ag: SynthAgreement) -> str:
    a, b = ag.parties
    lines = [
        "# A synthetic agreement written by `o2o generate`.",
        f"id = {_s(ag.id)}",
        f"name = {_s(f'{a.name} - {b.name} interconnect')}",
        f"currency = {_s(ag.currency)}",
        f"timezone = {_s(ag.timezone)}",
        f"valid_from = {ag.valid_from.isoformat()}",
        "payment_days = 30",
        "dispute_days = 30",
        "",
    ]
    for op in ag.parties:
        c = op.country
        lines += [
            "[[parties]]",
            f"operator = {_s(op.id)}",
            f"country_code = {_s(c.country_code)}",
            f"trunk_prefix = {_s(c.trunk_prefix)}",
            f"international_prefix = {_s(c.international_prefix)}",
            "",
        ]
    lines += [
        "[tolerance]",
        "relative = 0.01",
        f"absolute = {ag.tolerance_absolute}",
        'combine = "either"',
        'figure = "provider"',
        "time_s = 5",
        "duration_s = 1",
        "",
    ]
    for svc in ag.services:
        lines += _service_lines(ag, svc)
    return "\n".join(lines)
