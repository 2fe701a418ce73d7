"""The agreement file (TOML) schema and its conversion to the domain `Agreement`.

TOML floats are parsed as Decimal (never float); destinations, rates and increments, and a rate deck
CSV beside the TOML (`rate_deck = "deck.csv"`), are read by `o2o.schemas.rates`. A rate starting at a
local time the agreement's zone skips is refused.
Errors name the path of the bad field: `services[1].rates[4].price: not a decimal`.
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from o2o.domain import tariffs as t
from o2o.domain.agreements import (
    Agreement,
    FigureStands,
    Party,
    RoundingPolicy,
    Service,
    TolerancePolicy,
)
from o2o.domain.currencies import MINOR_UNITS
from o2o.domain.errors import ValidationError
from o2o.domain.money import Rounding
from o2o.domain.operators import NumberingPlan, check_operator_id
from o2o.domain.periods import zone
from o2o.schemas.fields import DecimalField, DigitsField, schema_error
from o2o.schemas.rates import DestinationModel, IncrementsModel, RateModel, expand_decks, six_places
from o2o.schemas.toml_lines import key_lines


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PartyModel(_Model):
    operator: str
    country_code: DigitsField
    trunk_prefix: DigitsField | Literal[""] = "0"
    international_prefix: DigitsField = "00"

    @field_validator("operator")
    @classmethod
    def _op(cls, v: str) -> str:
        try:
            return check_operator_id(v)
        except ValidationError as e:
            raise ValueError(str(e)) from None


class BandModel(_Model):
    name: str
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]]
    start: time
    end: time


class TierModel(_Model):
    from_quantity: DecimalField = Field(ge=0)
    price: DecimalField = Field(ge=0)

    _price_places = field_validator("price")(six_places)


class TiersModel(_Model):
    mode: t.TierMode
    levels: list[TierModel] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> TiersModel:
        starts = [lvl.from_quantity for lvl in self.levels]
        if starts != sorted(starts) or len(set(starts)) != len(starts) or starts[0] != 0:
            raise ValueError("levels must start at 0 and rise strictly")
        return self


class ChargeModel(_Model):
    name: str
    amount: DecimalField = Field(ge=0)
    start: date
    end: date | None = None


class ServiceModel(_Model):
    id: str = Field(min_length=1, max_length=64)
    kind: t.ServiceKind
    provider: str
    customer: str
    description: str = ""
    unit: t.PriceUnit | None = None
    destinations: list[DestinationModel] = []
    rates: list[RateModel] = []
    rate_deck: str | None = None
    bands: list[BandModel] = []
    holidays: list[date] = []
    holiday_band: str = "weekend"
    increments: IncrementsModel = IncrementsModel()
    volume_increment: int = Field(1, ge=1)
    setup_fee: DecimalField = Field(Decimal(0), ge=0)
    minimum_charge: DecimalField = Field(Decimal(0), ge=0)
    tiers: TiersModel | None = None
    charges: list[ChargeModel] = []

    _fee_places = field_validator("setup_fee", "minimum_charge")(six_places)

    @model_validator(mode="after")
    def _consistent(self) -> ServiceModel:
        if self.provider == self.customer:
            raise ValueError("provider and customer must differ")
        self._unique_keys()
        names = {d.name for d in self.destinations}
        for i, rate in enumerate(self.rates):
            if rate.destination not in names:
                raise ValueError(f"rates[{i}].destination {rate.destination!r} is not a listed destination")
        bands = (
            {b.name for b in self.bands} | {t.ANY_BAND} | ({self.holiday_band} if self.holidays else set())
        )
        for i, rate in enumerate(self.rates):
            if rate.band not in bands:
                raise ValueError(f"rates[{i}].band {rate.band!r} is not a defined band")
        if self.kind is t.ServiceKind.RECURRING and not self.charges:
            raise ValueError("a recurring service needs at least one charge")
        self._own_increments()
        return self

    def _own_increments(self) -> None:
        """Increments on a destination or a rate bill calls: voice only, one rule per destination."""
        given: dict[str, IncrementsModel] = {}
        for i, d in enumerate(self.destinations):
            if d.increments is None:
                continue
            if self.kind is not t.ServiceKind.VOICE:
                raise ValueError(f"destinations[{i}].increments: billing increments apply to voice only")
            if given.setdefault(d.name, d.increments) != d.increments:
                raise ValueError(
                    f"destinations[{i}].increments: {d.name!r} already bills by other increments "
                    "(every prefix of a destination bills alike)"
                )
        for i, rate in enumerate(self.rates):
            if rate.increments is not None and self.kind is not t.ServiceKind.VOICE:
                raise ValueError(f"rates[{i}].increments: billing increments apply to voice only")

    def _unique_keys(self) -> None:
        """One destination per prefix, one price per (destination, valid_from, band), tiers or rates."""
        seen: dict[str, str] = {}
        for d in self.destinations:
            if seen.setdefault(d.prefix, d.name) != d.name:
                raise ValueError(f"prefix {d.prefix!r} is listed for {seen[d.prefix]!r} and {d.name!r}")
        keys = set()
        for i, rate in enumerate(self.rates):
            key = (rate.destination, rate.valid_from, rate.band)
            if key in keys:
                raise ValueError(
                    f"rates[{i}]: a second price for {rate.destination!r} {rate.band} from {rate.valid_from}"
                )
            keys.add(key)
        if self.tiers is not None and self.rates:
            raise ValueError("a service is priced by its rates or by its tiers, not both")

    def default_unit(self) -> t.PriceUnit:
        if self.unit is not None:
            return self.unit
        return {
            t.ServiceKind.VOICE: t.PriceUnit.MINUTE,
            t.ServiceKind.SMS: t.PriceUnit.EVENT,
            t.ServiceKind.DATA: t.PriceUnit.MB,
            t.ServiceKind.RECURRING: t.PriceUnit.MONTH,
        }[self.kind]


class ToleranceModel(_Model):
    relative: DecimalField | None = Field(Decimal("0.01"), ge=0)
    absolute: DecimalField | None = Field(None, ge=0)
    combine: Literal["either", "both"] = "either"
    figure: FigureStands = FigureStands.PROVIDER
    time_s: int = Field(5, ge=0)
    duration_s: int = Field(1, ge=0)


class RoundingModel(_Model):
    mode: Rounding = Rounding.HALF_UP
    record_decimals: int | None = Field(None, ge=0, le=6)
    line_decimals: int | None = Field(None, ge=0, le=6)


class AgreementModel(_Model):
    id: str = Field(min_length=1, max_length=64)
    name: str = ""
    currency: str
    timezone: str = "UTC"
    valid_from: date
    payment_days: int = Field(30, ge=0)
    dispute_days: int = Field(30, ge=0)
    parties: list[PartyModel] = Field(min_length=2, max_length=2)
    tolerance: ToleranceModel = ToleranceModel()
    rounding: RoundingModel = RoundingModel()
    services: list[ServiceModel] = Field(min_length=1)

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        if v not in MINOR_UNITS:
            raise ValueError(f"unknown currency {v!r}")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            zone(v)
        except ValidationError as e:
            raise ValueError(str(e)) from None
        return v

    @model_validator(mode="after")
    def _parties(self) -> AgreementModel:
        ops = [p.operator for p in self.parties]
        if ops[0] == ops[1]:
            raise ValueError("the two parties must differ")
        ids = [s.id for s in self.services]
        if len(set(ids)) != len(ids):
            raise ValueError("service ids must be unique")
        for s in self.services:
            if {s.provider, s.customer} != set(ops):
                raise ValueError(f"service {s.id}: provider and customer must be the agreement's parties")
        self._rate_times_exist()
        return self

    def _rate_times_exist(self) -> None:
        """A rate starting at a local time the zone's clock skips (a DST gap) has no moment to start."""
        tz = zone(self.timezone)
        for i, s in enumerate(self.services):
            for j, rate in enumerate(s.rates):
                if isinstance(rate.valid_from, datetime):
                    try:
                        t.local_start_epoch(rate.valid_from, tz)
                    except ValidationError as e:
                        raise ValueError(f"services[{i}].rates[{j}].valid_from: {e}") from None


def parse_agreement_document(
    doc: dict[str, object], source: str, base: Path | None = None, text: str | None = None
) -> AgreementModel:
    """Validate a parsed TOML/JSON document; with its `text`, errors name the line of each bad field."""
    expand_decks(doc, base)
    try:
        return AgreementModel.model_validate(doc)
    except pydantic.ValidationError as exc:
        raise schema_error(source, exc, key_lines(text) if text is not None else None) from None


def load_agreement_file(path: Path) -> AgreementModel:
    """Read and validate an agreement TOML file (a rate deck is read relative to it)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ValidationError(f"{path}: cannot read agreement file: {e}") from None
    try:
        doc = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as e:
        raise ValidationError(f"{path}: not valid TOML: {e}") from None
    return parse_agreement_document(doc, str(path), path.parent, text)


def agreement_from_json(text: str) -> Agreement:
    """Rebuild a stored agreement (the JSON written by `model.model_dump_json()`)."""
    return to_domain(AgreementModel.model_validate_json(text))


def to_domain(m: AgreementModel) -> Agreement:
    """Build the frozen domain agreement from a validated model."""
    parties = tuple(
        Party(p.operator, NumberingPlan(p.country_code, p.trunk_prefix, p.international_prefix))
        for p in m.parties
    )
    services = tuple(_service(s) for s in m.services)
    tol = m.tolerance
    return Agreement(
        id=m.id,
        name=m.name or m.id,
        currency=m.currency,
        timezone=m.timezone,
        valid_from=m.valid_from,
        parties=(parties[0], parties[1]),
        services=services,
        tolerance=TolerancePolicy(
            tol.relative, tol.absolute, tol.combine, tol.figure, tol.time_s, tol.duration_s
        ),
        rounding=RoundingPolicy(m.rounding.mode, m.rounding.record_decimals, m.rounding.line_decimals),
        payment_days=m.payment_days,
        dispute_days=m.dispute_days,
    )


def _service(s: ServiceModel) -> Service:
    tariff = t.Tariff(
        unit=s.default_unit(),
        destinations=tuple(
            t.Destination(d.prefix, d.name, d.increments.to_domain() if d.increments else None)
            for d in s.destinations
        ),
        rates=tuple(r.to_domain() for r in s.rates),
        bands=tuple(t.TimeBand(b.name, tuple(b.days), b.start, b.end) for b in s.bands),
        holidays=tuple(s.holidays),
        holiday_band=s.holiday_band,
        increments=s.increments.to_domain(),
        volume_increment=s.volume_increment,
        setup_fee=s.setup_fee,
        minimum_charge=s.minimum_charge,
        tiers=t.Tiers(s.tiers.mode, tuple(t.Tier(x.from_quantity, x.price) for x in s.tiers.levels))
        if s.tiers
        else None,
        charges=tuple(t.RecurringCharge(c.name, c.amount, c.start, c.end) for c in s.charges),
    )
    return Service(s.id, s.kind, s.provider, s.customer, tariff, s.description)
