"""What a rating run returns: counts, unrated records by reason, billed quantity and amount, file paths.

Amounts are exact Decimals. `amount` is the service's line total rounded once, as the agreement says
(per-record rounding first when `record_decimals` is set, then the line to `line_decimals` or the
currency's minor unit); `amount_unrounded` is the sum it came from (records rounded if the
agreement rounds per record; else shown to 10 decimals), so the one rounding step is visible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any


class UnratedReason(StrEnum):
    """Why a record could not be priced; such records are listed and counted, never dropped."""

    OTHER_SERVICE = "other_service"  # a service of the agreement, but not the one being rated
    UNKNOWN_SERVICE = "unknown_service"  # not a service of the agreement
    NO_START_TIME = "no_start_time"
    OUTSIDE_PERIOD = "outside_period"
    BAD_QUANTITY = "bad_quantity"  # missing or negative duration / volume
    NO_DESTINATION = "no_destination"  # no prefix matches the called number
    NO_RATE = "no_rate"  # no rate in force for the destination and band at the start time


QUANTITY_UNITS = {"voice": "second", "sms": "event", "data": "byte", "recurring": "day"}


@dataclass(frozen=True, slots=True)
class RecurringLine:
    """One fixed monthly charge of a period, prorated by days in service."""

    name: str
    days_in_service: int
    days_in_month: int
    monthly_amount: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class RatingResult:
    """The outcome of rating one service's usage (or its recurring charges) for a period."""

    agreement_id: str
    service: str
    currency: str
    period: str | None
    records: int
    rated: int
    unrated: dict[str, int]
    billed_quantity: int
    quantity_unit: str
    amount: Decimal
    amount_unrounded: Decimal
    rated_path: Path | None = None
    summary_path: Path | None = None
    unrated_path: Path | None = None
    recurring: tuple[RecurringLine, ...] = field(default=())
    # The summary file's rows (service, destination, day, events, billed quantity, amount), in its order,
    # when the run that wrote it gives them: a reader needs not read the file back.
    summary_rows: tuple[tuple[Any, ...], ...] | None = field(default=None, compare=False, repr=False)

    @property
    def unrated_count(self) -> int:
        return sum(self.unrated.values())

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `o2o rate`: decimals as strings, per-service figures keyed by service."""
        out: dict[str, Any] = {
            "agreement": self.agreement_id,
            "period": self.period,
            "currency": self.currency,
            "records": self.records,
            "rated": self.rated,
            "unrated": self.unrated_count,
            "unrated_by_reason": dict(sorted(self.unrated.items())),
            "services": {
                self.service: {
                    "billed_quantity": self.billed_quantity,
                    "quantity_unit": self.quantity_unit,
                    "amount": str(self.amount),
                    "amount_unrounded": str(self.amount_unrounded),
                }
            },
            "files": {
                "rated": _path(self.rated_path),
                "summary": _path(self.summary_path),
                "unrated": _path(self.unrated_path),
            },
        }
        if self.recurring:
            out["recurring"] = [
                {
                    "name": line.name,
                    "days_in_service": line.days_in_service,
                    "days_in_month": line.days_in_month,
                    "monthly_amount": str(line.monthly_amount),
                    "amount": str(line.amount),
                }
                for line in self.recurring
            ]
        return out


def _path(p: Path | None) -> str | None:
    return str(p) if p is not None else None
