"""The document of a netting round: plain dicts and lists, amounts as decimal strings, ready for JSON.

Shape (per currency, keyed by currency code): `gross_total, cleared_total, remaining_total,
net_internal_debt, payments_count, positions {operator: {payable, receivable, net}},
setoffs [{obligation, amount}], payments [{from, to, amount}]`, then the comparison and diagnostics
`bilateral, excluded, components, partly_cleared_pairs` and, in the direct mode, `direct`. When the round
was converted, `fx` holds the date, the settlement currency and the rates used. Invariant: no float and
no Decimal object in the document, only strings, ints, bools, lists and dicts.
"""

from __future__ import annotations

from typing import Any

from o2o.netting.results import CurrencyNetting, FxConversion, NettingResult, Payment


def _payments(payments: tuple[Payment, ...]) -> list[dict[str, str]]:
    return [{"from": p.payer, "to": p.payee, "amount": str(p.amount)} for p in payments]


def currency_document(item: CurrencyNetting) -> dict[str, Any]:
    document: dict[str, Any] = {
        "gross_total": str(item.gross_total),
        "cleared_total": str(item.cleared_total),
        "remaining_total": str(item.remaining_total),
        "net_internal_debt": str(item.net_internal_debt),
        "payments_count": item.payments_count,
        "positions": {
            p.operator: {"payable": str(p.payable), "receivable": str(p.receivable), "net": str(p.net)}
            for p in item.positions
        },
        "setoffs": [{"obligation": s.obligation, "amount": str(s.amount)} for s in item.setoffs],
        "payments": _payments(item.payments),
        "bilateral": {
            "remaining_total": str(item.bilateral.remaining_total),
            "payments_count": item.bilateral.payments_count,
            "payments": _payments(item.bilateral.payments),
        },
        "excluded": [
            {"obligation": e.obligation, "reason": e.reason.value, "amount": str(e.amount)}
            for e in item.excluded
        ],
        "components": item.components,
        "partly_cleared_pairs": item.partly_cleared_pairs,
    }
    if item.direct is not None:
        document["direct"] = {
            "method": item.direct.method.value,
            "positions": item.direct.positions,
            "lower_bound": item.direct.lower_bound,
            "optimal": item.direct.optimal,
        }
    return document


def fx_document(fx: FxConversion) -> dict[str, Any]:
    return {
        "date": fx.on.isoformat(),
        "settle_in": fx.settle_in,
        "rates": [{"from": r.source, "to": r.target, "rate": str(r.rate)} for r in fx.rates],
    }


def netting_document(result: NettingResult) -> dict[str, Any]:
    """The whole round as a JSON-ready document."""
    document: dict[str, Any] = {
        "mode": result.mode.value,
        "currencies": {item.currency: currency_document(item) for item in result.currencies},
    }
    if result.fx is not None:
        document["fx"] = fx_document(result.fx)
    return document
