"""Agreements: two operators, their services (direction + tariff), tolerance and rounding policies; and a
roaming discount agreement's terms as the settlement cycle sees them (`RoamingAgreement`)."""

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

    @property
    def usage_services(self) -> tuple[Service, ...]:
        """The services both parties declare usage for (every one but recurring charges)."""
        return tuple(s for s in self.services if s.kind is not ServiceKind.RECURRING)

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


@dataclass(frozen=True, slots=True)
class RoamingDirection:
    """One direction of a roaming agreement, declared by both parties: the customers of `customer` (the home
    operator) roamed on the networks of `provider` (the visited operator), so `customer` pays `provider`.
    Its id is `<home>-on-<visited>`."""

    id: str
    provider: str
    customer: str


@dataclass(frozen=True, slots=True)
class RoamingAgreement:
    """A roaming discount agreement as the settlement cycle sees it: its parties, both directions (what each
    party declares), the tolerance between the two parties' figures and the cycle's terms. Its discounts are
    priced by the roaming engine from the stored document (`o2o.schemas.roaming_agreement`)."""

    id: str
    name: str
    currency: str
    valid_from: date
    valid_to: date | None
    parties: tuple[str, str]
    tolerance: TolerancePolicy = field(default_factory=TolerancePolicy)
    rounding: RoundingPolicy = field(default_factory=RoundingPolicy)
    payment_days: int = 30
    dispute_days: int = 30

    @property
    def operator_ids(self) -> tuple[str, str]:
        return self.parties

    @property
    def directions(self) -> tuple[RoamingDirection, RoamingDirection]:
        a, b = self.parties
        return (RoamingDirection(f"{a}-on-{b}", b, a), RoamingDirection(f"{b}-on-{a}", a, b))

    @property
    def usage_services(self) -> tuple[RoamingDirection, RoamingDirection]:
        return self.directions

    def counterparty(self, operator: str) -> str:
        a, b = self.parties
        if operator not in (a, b):
            raise NotFoundError(f"operator {operator} is not a party to agreement {self.id}")
        return b if operator == a else a

    def role_of(self, operator: str, direction_id: str) -> Role:
        for d in self.directions:
            if d.id == direction_id:
                return Role.PROVIDER if operator == d.provider else Role.CUSTOMER
        raise NotFoundError(f"agreement {self.id} has no direction {direction_id!r}")


# What the settlement cycle (declarations, statements, signatures, obligations) settles: either kind.
SettledAgreement = Agreement | RoamingAgreement
