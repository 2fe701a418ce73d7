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
