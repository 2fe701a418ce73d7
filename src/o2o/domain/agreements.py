"""Agreements: two operators, their services (direction + tariff), tolerance and rounding policies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from o2o.domain.errors import NotFoundError, ValidationError
from o2o.domain.money import Rounding
from o2o.domain.operators import NumberingPlan
from o2o.domain.tariffs import ServiceKind, Tariff


class FigureStands(StrEnum):
    """Whose figure stands when a difference is inside tolerance."""

    PROVIDER = "provider"
    CUSTOMER = "customer"
    LOWER = "lower"
    AVERAGE = "average"


class Role(StrEnum):
    PROVIDER = "provider"
    CUSTOMER = "customer"


@dataclass(frozen=True, slots=True)
class TolerancePolicy:
    """When a difference is accepted without dispute.

    `relative` is a fraction of the provider's amount (0.01 = 1%); `absolute` an amount in the agreement's
    currency. With both set, `combine` says whether being under either ("either") or both ("both") is enough.
    """

    relative: Decimal | None = Decimal("0.01")
    absolute: Decimal | None = None
    combine: str = "either"
    figure: FigureStands = FigureStands.PROVIDER
    time_s: int = 5
    duration_s: int = 1


@dataclass(frozen=True, slots=True)
class RoundingPolicy:
    """Per-record rounding to `record_decimals` (None: no per-record rounding) and at the line total."""

    mode: Rounding = Rounding.HALF_UP
    record_decimals: int | None = None
    line_decimals: int | None = None  # None: the currency's minor unit


@dataclass(frozen=True, slots=True)
class Party:
    operator: str
    numbering: NumberingPlan


@dataclass(frozen=True, slots=True)
class Service:
    """What `provider` supplies to `customer`; the customer pays."""

    id: str
    kind: ServiceKind
    provider: str
    customer: str
    tariff: Tariff
    description: str = ""


@dataclass(frozen=True, slots=True)
class Agreement:
    id: str
    name: str
    currency: str
    timezone: str
    valid_from: date
    parties: tuple[Party, Party]
    services: tuple[Service, ...]
    tolerance: TolerancePolicy = field(default_factory=TolerancePolicy)
    rounding: RoundingPolicy = field(default_factory=RoundingPolicy)
    payment_days: int = 30
    dispute_days: int = 30

    @property
    def operator_ids(self) -> tuple[str, str]:
        return (self.parties[0].operator, self.parties[1].operator)

    def party(self, operator: str) -> Party:
        for p in self.parties:
            if p.operator == operator:
                return p
        raise NotFoundError(f"operator {operator} is not a party to agreement {self.id}")

    def counterparty(self, operator: str) -> str:
        a, b = self.operator_ids
        if operator not in (a, b):
            raise NotFoundError(f"operator {operator} is not a party to agreement {self.id}")
        return b if operator == a else a

    def service(self, service_id: str) -> Service:
        for s in self.services:
            if s.id == service_id:
                return s
        known = ", ".join(s.id for s in self.services)
        raise NotFoundError(f"agreement {self.id} has no service {service_id!r} (services: {known})")

    def role_of(self, operator: str, service_id: str) -> Role:
        svc = self.service(service_id)
        if operator == svc.provider:
            return Role.PROVIDER
        if operator == svc.customer:
            return Role.CUSTOMER
        raise ValidationError(f"operator {operator} is neither provider nor customer of {service_id}")
