"""Usage discrepancy between the two parties' reports, as the GSMA's BWRP discrepancy service computes it.

The own report's inbound traffic is compared with the partner's outbound, and the own outbound with the
partner's inbound, per (home TADIG, visitor TADIG, service, yearMonth); a key the partner does not report is
left out of the details (the service does the same). Per detail: own, partner, |own − partner| and
(own − partner) / own × 100. The general information sums every record per bearer by its unit: `min` →
MOC, `SMS` → SMS, `MB` → Data, with |own − partner| per direction.

Exact Decimal; the percentage (a division) is rounded half-even to `PERCENT_PLACES`; when own is 0 it is
0 if partner is 0 too, else 100 (the service divided by zero there).
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)
PERCENT_PLACES = 8
HUNDRED = Decimal(100)

# Bearer of the general information by the unit of a record (the service's own table).
BEARERS: tuple[tuple[str, str, str], ...] = (("MOC", "min", "min"), ("SMS", "#", "SMS"), ("Data", "MB", "MB"))


@dataclass(frozen=True, slots=True)
class UsageLine:
    """One row of a usage report."""

    year_month: str
    home: str
    visitor: str
    service: str
    usage: Decimal
    unit: str


@dataclass(frozen=True, slots=True)
class UsageReport:
    inbound: tuple[UsageLine, ...]
    outbound: tuple[UsageLine, ...]


@dataclass(frozen=True, slots=True)
class DiscrepancyLine:
    home: str
    visitor: str
    year_month: str
    service: str
    own: Decimal
    partner: Decimal
    delta: Decimal
    delta_percent: Decimal


@dataclass(frozen=True, slots=True)
class BearerTotals:
    service: str
    unit: str
    inbound_own: Decimal
    inbound_partner: Decimal
    outbound_own: Decimal
    outbound_partner: Decimal

    @property
    def inbound_discrepancy(self) -> Decimal:
        return abs(self.inbound_own - self.inbound_partner)

    @property
    def outbound_discrepancy(self) -> Decimal:
        return abs(self.outbound_own - self.outbound_partner)


@dataclass(frozen=True, slots=True)
class DiscrepancyReport:
    general: tuple[BearerTotals, ...]
    inbound: tuple[DiscrepancyLine, ...]
    outbound: tuple[DiscrepancyLine, ...]


def delta_percent(own: Decimal, partner: Decimal) -> Decimal:
    """(own − partner) / own × 100, rounded half-even to PERCENT_PLACES; 0 or 100 when own is 0."""
    if not own:
        return ZERO if not partner else HUNDRED
    with decimal.localcontext(decimal.Context(prec=80, rounding=decimal.ROUND_HALF_EVEN)):
        return ((own - partner) * HUNDRED / own).quantize(Decimal(1).scaleb(-PERCENT_PLACES))


def _key(line: UsageLine) -> tuple[str, str, str, str]:
    return (line.home, line.visitor, line.service, line.year_month)


def _details(own: Sequence[UsageLine], partner: Sequence[UsageLine]) -> tuple[DiscrepancyLine, ...]:
    # The service keeps the last row of a repeated key on either side; so does this.
    theirs = {_key(line): line for line in partner}
    mine = {_key(line): line for line in own}
    out = []
    for key, line in mine.items():
        other = theirs.get(key)
        if other is None:
            continue
        out.append(
            DiscrepancyLine(
                line.home,
                line.visitor,
                line.year_month,
                line.service,
                line.usage,
                other.usage,
                abs(line.usage - other.usage),
                delta_percent(line.usage, other.usage),
            )
        )
    return tuple(out)


def _sum(lines: Sequence[UsageLine], unit: str) -> Decimal:
    return sum((line.usage for line in lines if line.unit == unit), ZERO)


def compare_usage(own: UsageReport, partner: UsageReport) -> DiscrepancyReport:
    """The discrepancy report of `own` against `partner` (own inbound ↔ partner outbound, and back)."""
    with decimal.localcontext(decimal.Context(prec=80, traps=[decimal.Inexact])):
        general = tuple(
            BearerTotals(
                name,
                label,
                _sum(own.inbound, unit),
                _sum(partner.outbound, unit),
                _sum(own.outbound, unit),
                _sum(partner.inbound, unit),
            )
            for name, label, unit in BEARERS
        )
        return DiscrepancyReport(
            general, _details(own.inbound, partner.outbound), _details(own.outbound, partner.inbound)
        )
