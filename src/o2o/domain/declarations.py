"""Declarations: one party's usage for one agreement, service and period, stored once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from o2o.domain.agreements import Role


class DeclarationStatus(StrEnum):
    ACTIVE = "active"
    SUPERSEDED = "superseded"


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """What an import counted: rows accepted and rejected, summed duration and volume."""

    rows: int
    rejected: int
    duration_s: int
    volume: int


@dataclass(frozen=True, slots=True)
class Declaration:
    id: str
    agreement_id: str
    service: str
    period: str
    declarer: str
    role: Role
    sha256: str
    source_name: str
    lake_path: str
    rejects_path: str | None
    totals: UsageTotals
    status: DeclarationStatus
    created_at: datetime
    supersedes: str | None = None


# A corrected month differs from the declaration it replaces by a few late or duplicate records, not by a
# tenth of its traffic: a file with fewer than 90% of the replaced rows is more likely a partial export
# (one day missing is 3% of a month, a truncated transfer far more) than a correction, so it needs --replace.
REPLACE_MIN_ROWS_PERCENT = 90


@dataclass(frozen=True, slots=True)
class Replacement:
    """A declaration about to replace the active one: what it replaces, and the figures before and after."""

    replaced: Declaration
    after: UsageTotals

    @property
    def before(self) -> UsageTotals:
        return self.replaced.totals

    def concerns(self) -> list[str]:
        """Why this replacement needs to be confirmed (`--replace`); empty when it may go through."""
        found = []
        if self.after.rejected:
            n = self.after.rejected
            found.append(f"{n:,} row{'s' if n != 1 else ''} rejected")
        if self.after.rows * 100 < self.before.rows * REPLACE_MIN_ROWS_PERCENT:
            found.append(f"fewer than {REPLACE_MIN_ROWS_PERCENT}% of the replaced rows")
        return found

    def figures(self) -> str:
        """Rows, rejects and totals before → after, on one line."""
        b, a = self.before, self.after
        return (
            f"rows {b.rows:,} → {a.rows:,}, rejected {b.rejected:,} → {a.rejected:,}, "
            f"duration_s {b.duration_s:,} → {a.duration_s:,}, volume {b.volume:,} → {a.volume:,}"
        )
