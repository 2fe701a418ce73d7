"""The netting engine: multilateral set-off of a period's obligations and the payments that remain.

Use `net_obligations(obligations, mode=…)` on domain `Obligation` values (a service does, per period),
or `read_obligations_csv` / `read_rate_table_csv` and the same function for plain files (`o2o net solve`).
Amounts are Decimal at the edges and integer minor units inside; every round is checked before it returns.

The names are loaded when first used (PEP 562): the engine's modules import NumPy, OR-Tools and HiGHS,
and a command that only reads a result's types (`o2o cycle status`) must not pay for them at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from o2o.netting.checks import NettingCheckError
    from o2o.netting.engine import net_obligations
    from o2o.netting.fx import RateTable
    from o2o.netting.results import (
        DEFAULT_HUB,
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

# Where each public name lives; `o2o.netting.results` and `o2o.netting.fx` are light (stdlib and domain).
_HOME = {
    "NettingCheckError": "checks",
    "net_obligations": "engine",
    "RateTable": "fx",
    "DirectOptions": "rounds",
    **dict.fromkeys(
        [
            "DEFAULT_HUB",
            "BilateralReport",
            "CurrencyNetting",
            "DirectMethod",
            "DirectSearch",
            "Exclusion",
            "ExclusionReason",
            "FxConversion",
            "FxRate",
            "NettingMode",
            "NettingResult",
            "Payment",
            "Position",
            "SetOff",
            "SetOffCap",
        ],
        "results",
    ),
}


def __getattr__(name: str) -> object:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


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
