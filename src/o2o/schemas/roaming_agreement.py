"""The roaming discount agreement file (TOML): two operators, their TADIG codes, and per direction (the home
operator whose customers roam on the other's networks) the discount of each service and its commitment.

    id = "RA-ALFA-BETA-2026"
    currency = "EUR"
    valid_from = 2026-01-01
    [[parties]]                       # twice: operator and its networks' TADIG codes
    operator = "ALFA"
    tadigs = ["AAZOR", "GRCPF"]
    [[discounts]]                     # what `home` pays the other party for its customers' roaming
    home = "ALFA"
    commitment = { kind = "deal_revenue", value = "11000" }
    [[discounts.services]]
    service = "SMS MO"
    included_in_commitment = true
    tiers = [{ start = 0, linear = "5" }, { start = 1500, linear = "3" }]

A service has exactly one pricing: `linear` and/or `flat` (one tier from 0), `tiers`, `back_to_first`, or
`balanced` with `unbalanced`. TOML floats are read as Decimal. Errors name the line and the field's path.

In the workspace (`o2o agreement load`) a file with `[[discounts]]` (or `kind = "roaming"`) is a roaming
agreement; it is stored as this model's JSON, whose `"kind": "roaming"` tells it from an interconnect one.
The cycle's terms (`tolerance` as interconnect agreements write it, `dispute_days`, `payment_days`) apply
to its statement lines.
"""

from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from o2o.domain.agreements import RoamingAgreement, RoundingPolicy, TolerancePolicy
from o2o.domain.currencies import MINOR_UNITS
from o2o.domain.errors import ValidationError
from o2o.domain.money import Rounding
from o2o.domain.operators import check_operator_id
from o2o.roaming import (
    CommitmentKind,
    Condition,
    Discount,
    DiscountGroup,
    PlanKind,
    RatingPlan,
    RatioPlan,
    ServicePricing,
    Tier,
    canonical,
)
from o2o.roaming.catalogue import KNOWN_SERVICES
from o2o.roaming.pricing import check_tiers
from o2o.schemas.agreement import AgreementModel, ToleranceModel, load_agreement_file
from o2o.schemas.fields import DecimalField, schema_error
from o2o.schemas.toml_lines import key_lines


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TierModel(_Model):
    start: DecimalField = Field(Decimal(0), ge=0)
    linear: DecimalField = Field(Decimal(0), ge=0)
    fixed: DecimalField = Field(Decimal(0), ge=0)

    def to_domain(self) -> Tier:
        return Tier(self.start, self.fixed, self.linear)


def _tiers(levels: list[TierModel], where: str) -> tuple[Tier, ...]:
    tiers = tuple(t.to_domain() for t in levels)
    try:
        check_tiers(tiers, where)
    except ValidationError as e:
        raise ValueError(str(e)) from None
    return tiers


class ServiceModel(_Model):
    service: str
    included_in_commitment: bool = False
    access: bool = False
    linear: DecimalField | None = Field(None, ge=0)
    flat: DecimalField | None = Field(None, ge=0)
    tiers: list[TierModel] | None = Field(None, min_length=1)
    back_to_first: list[TierModel] | None = Field(None, min_length=1)
    balanced: list[TierModel] | None = Field(None, min_length=1)
    unbalanced: list[TierModel] | None = Field(None, min_length=1)

    @field_validator("service")
    @classmethod
    def _known(cls, v: str) -> str:
        if canonical(v) is None:
            raise ValueError(f"unknown service {v!r} (known: {', '.join(KNOWN_SERVICES)})")
        return v

    @model_validator(mode="after")
    def _one_pricing(self) -> ServiceModel:
        given = [
            name
            for name, present in (
                ("linear/flat", self.linear is not None or self.flat is not None),
                ("tiers", self.tiers is not None),
                ("back_to_first", self.back_to_first is not None),
                ("balanced/unbalanced", self.balanced is not None or self.unbalanced is not None),
            )
            if present
        ]
        if len(given) != 1:
            raise ValueError(
                "give exactly one pricing: linear/flat, tiers, back_to_first or balanced/unbalanced"
                + (f" (given: {', '.join(given)})" if given else "")
            )
        self.plan()
        return self

    def plan(self) -> RatingPlan | RatioPlan:
        if self.tiers is not None:
            return RatingPlan(_tiers(self.tiers, "tiers"))
        if self.back_to_first is not None:
            return RatingPlan(_tiers(self.back_to_first, "back_to_first"), PlanKind.BACK_TO_FIRST)
        if self.balanced is not None or self.unbalanced is not None:
            return RatioPlan(
                _tiers(self.balanced or [], "balanced"), _tiers(self.unbalanced or [], "unbalanced")
            )
        return RatingPlan((Tier(Decimal(0), self.flat or Decimal(0), self.linear or Decimal(0)),))

    def to_domain(self) -> ServicePricing:
        found = canonical(self.service)
        if found is None:  # the validator refused it already
            raise ValidationError(f"unknown service {self.service!r}")
        return ServicePricing(self.service, found.name, self.plan(), self.included_in_commitment, self.access)


class CommitmentModel(_Model):
    kind: Literal["unconditional", "contract_revenue", "deal_revenue"] = "unconditional"
    value: DecimalField = Field(Decimal(0), ge=0)
    including_taxes: bool = False

    def to_domain(self, currency: str) -> Condition:
        kind = {
            "unconditional": CommitmentKind.UNCONDITIONAL,
            "contract_revenue": CommitmentKind.CONTRACT_REVENUE,
            "deal_revenue": CommitmentKind.DEAL_REVENUE,
        }[self.kind]
        return Condition(kind, self.value, self.including_taxes, currency)


class DiscountModel(_Model):
    home: str
    commitment: CommitmentModel = CommitmentModel()
    home_tadigs: list[str] | None = Field(None, min_length=1)
    visitor_tadigs: list[str] | None = Field(None, min_length=1)
    services: list[ServiceModel] = Field(min_length=1)

    @model_validator(mode="after")
    def _once(self) -> DiscountModel:
        seen: set[str] = set()
        for i, s in enumerate(self.services):
            found = canonical(s.service)
            name = found.name if found else s.service
            if name in seen:
                raise ValueError(f"services[{i}]: {s.service!r} is priced twice")
            seen.add(name)
        return self


class PartyModel(_Model):
    operator: str
    tadigs: list[str] = Field(min_length=1)

    @field_validator("operator")
    @classmethod
    def _op(cls, v: str) -> str:
        try:
            return check_operator_id(v)
        except ValidationError as e:
            raise ValueError(str(e)) from None


class RoamingAgreementModel(_Model):
    kind: Literal["roaming"] = "roaming"
    id: str = Field(min_length=1, max_length=64)
    name: str = ""
    currency: str
    valid_from: date
    valid_to: date | None = None
    rounding: Rounding = Rounding.HALF_UP
    payment_days: int = Field(30, ge=0)
    dispute_days: int = Field(30, ge=0)
    tolerance: ToleranceModel = ToleranceModel()
    parties: list[PartyModel] = Field(min_length=2, max_length=2)
    discounts: list[DiscountModel] = Field(min_length=1, max_length=2)

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        if v not in MINOR_UNITS:
            raise ValueError(f"unknown currency {v!r}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> RoamingAgreementModel:
        ops = [p.operator for p in self.parties]
        if ops[0] == ops[1]:
            raise ValueError("the two parties must differ")
        if set(self.parties[0].tadigs) & set(self.parties[1].tadigs):
            raise ValueError("a TADIG code belongs to one party only")
        homes = [d.home for d in self.discounts]
        for h in homes:
            if h not in ops:
                raise ValueError(f"discount home {h!r} is not a party")
        if len(set(homes)) != len(homes):
            raise ValueError("one discount per direction (home operator)")
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self

    def tadigs(self, operator: str) -> tuple[str, ...]:
        return next(tuple(p.tadigs) for p in self.parties if p.operator == operator)

    def partner(self, operator: str) -> str:
        return next(p.operator for p in self.parties if p.operator != operator)

    def discounts_domain(self) -> tuple[Discount, ...]:
        """One BWRP discount per direction, named by its home operator (the party that pays it)."""
        out = []
        for d in self.discounts:
            home = tuple(d.home_tadigs) if d.home_tadigs else self.tadigs(d.home)
            visitor = tuple(d.visitor_tadigs) if d.visitor_tadigs else self.tadigs(self.partner(d.home))
            group = DiscountGroup(home, visitor, tuple(s.to_domain() for s in d.services))
            out.append(Discount(d.home, d.commitment.to_domain(self.currency), (group,)))
        return tuple(out)

    def to_cycle_domain(self) -> RoamingAgreement:
        """The agreement's terms as the settlement cycle sees them."""
        tol = self.tolerance
        return RoamingAgreement(
            id=self.id,
            name=self.name or self.id,
            currency=self.currency,
            valid_from=self.valid_from,
            valid_to=self.valid_to,
            parties=(self.parties[0].operator, self.parties[1].operator),
            tolerance=TolerancePolicy(
                tol.relative, tol.absolute, tol.combine, tol.figure, tol.time_s, tol.duration_s
            ),
            rounding=RoundingPolicy(mode=self.rounding),
            payment_days=self.payment_days,
            dispute_days=self.dispute_days,
        )


def is_roaming_document(doc: object) -> bool:
    """Whether a parsed agreement document (TOML or stored JSON) is a roaming agreement."""
    return isinstance(doc, dict) and (doc.get("kind") == "roaming" or "discounts" in doc)


def roaming_agreement_from_json(text: str) -> RoamingAgreementModel:
    """Rebuild a stored roaming agreement (the JSON written by `model_dump_json()`)."""
    return RoamingAgreementModel.model_validate_json(text)


def parse_roaming_document(doc: object, source: str, text: str | None = None) -> RoamingAgreementModel:
    """Validate a parsed roaming agreement TOML document; errors name `source`, the line and the field."""
    try:
        return RoamingAgreementModel.model_validate(doc)
    except pydantic.ValidationError as exc:
        raise schema_error(source, exc, key_lines(text) if text is not None else None) from None


def load_roaming_agreement(path: Path) -> RoamingAgreementModel:
    """Read and validate a roaming agreement TOML file; errors name the file, line and field."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ValidationError(f"{path}: cannot read roaming agreement: {e}") from None
    try:
        doc = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as e:
        raise ValidationError(f"{path}: not valid TOML: {e}") from None
    return parse_roaming_document(doc, str(path), text)


def load_any_agreement_file(path: Path) -> AgreementModel | RoamingAgreementModel:
    """An agreement file of either kind: a roaming agreement (`[[discounts]]` or `kind = "roaming"`), else
    an interconnect agreement (`o2o.schemas.agreement`)."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        doc = None  # the interconnect reader names what is wrong with the file
    if is_roaming_document(doc):
        return load_roaming_agreement(path)
    return load_agreement_file(path)
