"""ISO 4217 currencies in use and their minor units (decimal places).

Minor units decide where totals are rounded and what netting counts in (integer minor units).
"""

from __future__ import annotations

from types import MappingProxyType

from o2o.domain.errors import UnknownCurrencyError

MINOR_UNITS = MappingProxyType(
    {
        "AED": 2,
        "AMD": 2,
        "AUD": 2,
        "AZN": 2,
        "BYN": 2,
        "CAD": 2,
        "CHF": 2,
        "CNY": 2,
        "CZK": 2,
        "DKK": 2,
        "EUR": 2,
        "GBP": 2,
        "GEL": 2,
        "HKD": 2,
        "INR": 2,
        "JPY": 0,
        "KGS": 2,
        "KRW": 0,
        "KZT": 2,
        "NOK": 2,
        "PLN": 2,
        "RUB": 2,
        "SEK": 2,
        "SGD": 2,
        "TJS": 2,
        "TRY": 2,
        "UAH": 2,
        "USD": 2,
        "UZS": 2,
        "XDR": 2,
    }
)


def check_currency(code: str) -> str:
    """Return the code if it is a supported ISO 4217 currency, else raise."""
    if code not in MINOR_UNITS:
        raise UnknownCurrencyError(f"unknown currency {code!r} (expected an ISO 4217 code such as EUR)")
    return code


def minor_units(code: str) -> int:
    """Decimal places of the currency's minor unit (2 for EUR, 0 for JPY)."""
    return MINOR_UNITS[check_currency(code)]
