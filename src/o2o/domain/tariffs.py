"""The price rules of a service (data model only; pricing lives in `o2o.rating`).

A tariff holds destinations by number prefix (longest prefix wins), effective-dated rate versions,
time bands and holidays, billing increments with minimum duration, per-call setup fee and minimum
charge, volume units and increments, volume tiers (stepped or banded) and fixed monthly charges.
Billing increments may be set per destination and per rate: a rate's beat its destination's, which beat
the service's. A rate version starts at a local date-time in the agreement's zone (midnight by default).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from o2o.domain.errors import ValidationError


class ServiceKind(StrEnum):
    """What is supplied; decides which usage columns are priced."""

    VOICE = "voice"  # duration_s, priced per minute (or second) after increments
    SMS = "sms"  # events, priced per event
    DATA = "data"  # volume in bytes, priced per MB / GB after the volume increment
    RECURRING = "recurring"  # fixed monthly charges (leased channel, colocation), no usage


class PriceUnit(StrEnum):
    """The unit a price is quoted in."""

    MINUTE = "minute"
    SECOND = "second"
    EVENT = "event"
    KB = "KB"
    MB = "MB"
    GB = "GB"
    MONTH = "month"

    @property
    def base_quantity(self) -> int:
        """How many base units (seconds, events, bytes) one priced unit holds (decimal SI for volumes)."""
        return _BASE[self]


_BASE = {
    PriceUnit.MINUTE: 60,
    PriceUnit.SECOND: 1,
    PriceUnit.EVENT: 1,
    PriceUnit.KB: 1_000,
    PriceUnit.MB: 1_000_000,
    PriceUnit.GB: 1_000_000_000,
    PriceUnit.MONTH: 1,
}


class TierMode(StrEnum):
    """Stepped: the whole volume at the tier reached. Banded: each band at its own price."""

    STEPPED = "stepped"
    BANDED = "banded"


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ANY_BAND = "any"


@dataclass(frozen=True, slots=True)
class Increments:
    """Billing increments `first/next` in seconds (1/1, 6/6, 30/6, 60/60) and a minimum duration."""

    first: int = 1
    next: int = 1
    minimum_s: int = 0

    def __post_init__(self) -> None:
        if self.first < 1 or self.next < 1 or self.minimum_s < 0:
            raise ValidationError(f"increments {self.first}/{self.next}: must be positive seconds")


@dataclass(frozen=True, slots=True)
class Destination:
    """A named destination reached by one number prefix (E.164 digits), with its own increments or
    None (the service's). Every prefix of one destination bills by the same increments."""

    prefix: str
    name: str
    increments: Increments | None = None


@dataclass(frozen=True, slots=True)
class Rate:
    """A price for a destination in a band, in force from `valid_from` at `from_time` (local time in the
    agreement's zone), billed by its own increments or None (the destination's, else the service's)."""

    destination: str
    price: Decimal
    valid_from: date
    band: str = ANY_BAND
    version: str = ""
    increments: Increments | None = None
    from_time: time = time(0)

    def starts(self) -> datetime:
        """The local (naive) date-time the rate starts."""
        return datetime.combine(self.valid_from, self.from_time)

    def label(self) -> str:
        """The version written to rated records: `version`, else the start (`2026-10-15`, `…T18:00`)."""
        if self.version:
            return self.version
        if self.from_time == time(0):
            return self.valid_from.isoformat()
        return self.starts().isoformat(timespec="minutes" if self.from_time.second == 0 else "seconds")


def local_start_epoch(moment: datetime, tz: ZoneInfo, explicit_time: bool = True) -> int:
    """Epoch seconds of a local (naive) date-time in `tz`.

    A time repeated by a clock change is its first occurrence. A time the clock skips does not exist:
    refused when the time was written out; a plain date whose midnight is skipped starts at the change.
    """
    aware = moment.replace(tzinfo=tz, fold=0)
    epoch = int(aware.timestamp())
    # fold=0 reads a skipped time with the offset before the change: for a skipped midnight, the change.
    skipped = datetime.fromtimestamp(epoch, UTC).astimezone(tz).replace(tzinfo=None) != moment
    if skipped and explicit_time:
        raise ValidationError(f"{moment.isoformat()} does not exist in {tz.key} (the clock skips it)")
    return epoch


@dataclass(frozen=True, slots=True)
class TimeBand:
    """A band in force on `days` from `start` to `end` (local time; end may wrap past midnight)."""

    name: str
    days: tuple[str, ...]
    start: time
    end: time


@dataclass(frozen=True, slots=True)
class Tier:
    """A volume tier starting at `from_quantity` (in the price unit) with its unit price."""

    from_quantity: Decimal
    price: Decimal


@dataclass(frozen=True, slots=True)
class Tiers:
    mode: TierMode
    levels: tuple[Tier, ...]


@dataclass(frozen=True, slots=True)
class RecurringCharge:
    """A fixed monthly charge, prorated by the days in service within the month."""

    name: str
    amount: Decimal
    start: date
    end: date | None = None


@dataclass(frozen=True, slots=True)
class Tariff:
    """All price rules of one service."""

    unit: PriceUnit
    destinations: tuple[Destination, ...] = ()
    rates: tuple[Rate, ...] = ()
    bands: tuple[TimeBand, ...] = ()
    holidays: tuple[date, ...] = ()
    holiday_band: str = "weekend"
    increments: Increments = field(default_factory=Increments)
    volume_increment: int = 1
    setup_fee: Decimal = Decimal(0)
    minimum_charge: Decimal = Decimal(0)
    tiers: Tiers | None = None
    charges: tuple[RecurringCharge, ...] = ()

    def destination_increments(self) -> dict[str, Increments]:
        """Destination name → its own increments (those given on any of its prefixes)."""
        return {d.name: d.increments for d in self.destinations if d.increments is not None}

    def band_names(self) -> set[str]:
        names = {b.name for b in self.bands}
        if self.holidays:
            names.add(self.holiday_band)
        return names


def local_band(tariff: Tariff, moment: datetime) -> str:
    """The band of a local (agreement time zone) moment: holiday first, then the first band that holds."""
    if moment.date() in tariff.holidays:
        return tariff.holiday_band
    day = WEEKDAYS[moment.weekday()]
    now = moment.time()
    for band in tariff.bands:
        if day not in band.days:
            continue
        inside = (
            band.start <= now < band.end if band.start < band.end else now >= band.start or now < band.end
        )
        if inside:
            return band.name
    return ANY_BAND
