"""Roaming settlement engine: discount agreement calculation (GSMA BWRP semantics) and usage discrepancy.

Pure computations over the domain's values: no files, no store. The request and agreement formats are read by
`o2o.schemas.roaming`; the use cases live in `o2o.services.roaming`.
"""

from o2o.roaming.calculation import (
    CalculationResult,
    CommitmentKind,
    Condition,
    Direction,
    Discount,
    DiscountGroup,
    IntermediateResult,
    PartyOutcome,
    Rules,
    UsageKey,
    UsageTotals,
    calculate,
)
from o2o.roaming.catalogue import KNOWN_SERVICES, RoamingService, ServiceGroup, canonical
from o2o.roaming.discrepancy import DiscrepancyReport, UsageLine, UsageReport, compare_usage
from o2o.roaming.pricing import PlanKind, RatingPlan, RatioPlan, ServicePricing, Tier

__all__ = [
    "KNOWN_SERVICES",
    "CalculationResult",
    "CommitmentKind",
    "Condition",
    "Direction",
    "Discount",
    "DiscountGroup",
    "DiscrepancyReport",
    "IntermediateResult",
    "PartyOutcome",
    "PlanKind",
    "RatingPlan",
    "RatioPlan",
    "RoamingService",
    "Rules",
    "ServiceGroup",
    "ServicePricing",
    "Tier",
    "UsageKey",
    "UsageLine",
    "UsageReport",
    "UsageTotals",
    "calculate",
    "canonical",
    "compare_usage",
]
