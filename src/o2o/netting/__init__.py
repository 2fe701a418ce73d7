"""The netting engine: multilateral set-off of a period's obligations and the payments that remain.

Use `net_obligations(obligations, mode=…)` on domain `Obligation` values (a service does, per period),
or `read_obligations_csv` / `read_rate_table_csv` and the same function for plain files (`o2o net solve`).
Amounts are Decimal at the edges and integer minor units inside; every round is checked before it returns.
"""

from o2o.netting.checks import NettingCheckError
from o2o.netting.engine import DEFAULT_HUB, net_obligations
from o2o.netting.fx import RateTable
from o2o.netting.results import (
    BilateralReport,
    CurrencyNetting,
    DirectMethod,
    DirectSearch,
    Exclusion,
    ExclusionReason,
    FxConversion,
    FxRate,
    NettingMode,
    NettingResult,
    Payment,
    Position,
    SetOff,
    SetOffCap,
)
from o2o.netting.rounds import DirectOptions

__all__ = [
    "DEFAULT_HUB",
    "BilateralReport",
    "CurrencyNetting",
    "DirectMethod",
    "DirectOptions",
    "DirectSearch",
    "Exclusion",
    "ExclusionReason",
    "FxConversion",
    "FxRate",
    "NettingCheckError",
    "NettingMode",
    "NettingResult",
    "Payment",
    "Position",
    "RateTable",
    "SetOff",
    "SetOffCap",
    "net_obligations",
]
