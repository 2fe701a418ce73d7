"""A small pure-Python reference rater (tests only): the tariff rules written the plain way.

It shares nothing with the engine's SQL: local time through `zoneinfo`, bands through the domain's
`local_band`, longest prefix by trying every prefix, the rate version by comparing each version's start
(its local date-time made aware in the zone) with the call's start, increments looked up per record
(the rate's, else the destination's, else the service's), charges as exact `Fraction`s rounded by Decimal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal, localcontext
from fractions import Fraction
from zoneinfo import ZoneInfo

from o2o.domain.agreements import Agreement
from o2o.domain.currencies import minor_units
from o2o.domain.money import Rounding
from o2o.domain.tariffs import ANY_BAND, Increments, Rate, ServiceKind, Tariff, TierMode, local_band

_MODES = {
    Rounding.HALF_UP: ROUND_HALF_UP,
    Rounding.HALF_EVEN: ROUND_HALF_EVEN,
    Rounding.UP: ROUND_UP,
    Rounding.DOWN: ROUND_DOWN,
}


def rnd(value: Fraction, places: int, mode: Rounding) -> Decimal:
    # Decimal division with 80 digits, then one quantize: exact enough for any charge here.
    with localcontext() as ctx:
        ctx.prec = 80
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        return exact.quantize(Decimal(1).scaleb(-places), rounding=_MODES[mode])


@dataclass
class Rec:
    line: int
    service: str | None
    b_number: str | None
    start_epoch: int | None
    duration_s: int | None
    volume: int | None
    record_id: str | None = None


@dataclass
class Outcome:
    line: int
    reason: str | None = None
    destination: str | None = None
    band: str | None = None
    version: str | None = None
    billed: int = 0
    day: date | None = None
    num: Fraction = Fraction(0)  # the exact charge
    charge: Decimal | None = None


def billed(kind: ServiceKind, tariff: Tariff, r: Rec, inc: Increments | None = None) -> int | None:
    if kind is ServiceKind.VOICE:
        d = r.duration_s
        if d is None or d < 0:
            return None
        if d == 0:
            return 0
        inc = inc or tariff.increments
        e = max(d, inc.minimum_s)
        return inc.first if e <= inc.first else inc.first + math.ceil((e - inc.first) / inc.next) * inc.next
    if kind is ServiceKind.SMS:
        if r.volume is not None and r.volume < 0:
            return None
        return 1 if r.volume is None else r.volume
    if r.volume is None or r.volume < 0:
        return None
    step = tariff.volume_increment
    return math.ceil(r.volume / step) * step


def destination(tariff: Tariff, service_id: str, number: str | None) -> tuple[str, str] | None:
    if not tariff.destinations:
        return service_id, ""
    best = None
    for d in tariff.destinations:
        if (d.prefix == "" or (number is not None and number.startswith(d.prefix))) and (
            best is None or len(d.prefix) > len(best.prefix)
        ):
            best = d
    return (best.name, best.prefix) if best else None


def starts_at(rate: Rate, z: ZoneInfo) -> float:
    """The moment a rate starts: its local date and time in the agreement's zone (first occurrence)."""
    return datetime.combine(rate.valid_from, rate.from_time, tzinfo=z).timestamp()


def rate_in_force(tariff: Tariff, dest: str, start_epoch: int, band: str, z: ZoneInfo) -> Rate | None:
    mine = [r for r in tariff.rates if r.destination == dest and starts_at(r, z) <= start_epoch]
    if not mine:
        return None
    latest = max(starts_at(r, z) for r in mine)
    version = [r for r in mine if starts_at(r, z) == latest]
    for wanted in (band, ANY_BAND):
        for r in version:
            if r.band == wanted:
                return r
    return None


def own_increments(tariff: Tariff, dest: str, rate: Rate | None) -> Increments:
    """Rate beats destination beats service."""
    if rate is not None and rate.increments is not None:
        return rate.increments
    for d in tariff.destinations:
        if d.name == dest and d.increments is not None:
            return d.increments
    return tariff.increments


def version_label(rate: Rate) -> str:
    if rate.version:
        return rate.version
    if rate.from_time.hour == rate.from_time.minute == rate.from_time.second == 0:
        return rate.valid_from.isoformat()
    spec = "minutes" if rate.from_time.second == 0 else "seconds"
    return datetime.combine(rate.valid_from, rate.from_time).isoformat(timespec=spec)


def _price(kind: ServiceKind, tariff: Tariff, r: Rec, o: Outcome, dest: str, z: ZoneInfo) -> None:
    """Band, local day, the rate in force at the start and the seconds billed by its increments."""
    assert r.start_epoch is not None
    local = datetime.fromtimestamp(r.start_epoch, UTC).astimezone(z).replace(tzinfo=None)
    o.band, o.day, o.destination = local_band(tariff, local), local.date(), dest
    rate = None
    if tariff.tiers is None:
        rate = rate_in_force(tariff, dest, r.start_epoch, o.band, z)
        if rate is None:
            o.reason = "no_rate"
            return
        o.version = version_label(rate)
    o.billed = billed(kind, tariff, r, own_increments(tariff, dest, rate)) or 0
    if rate is not None:
        o.num = Fraction(rate.price) * o.billed


def reference_rate(
    agreement: Agreement, service_id: str, records: list[Rec], period: tuple[int, int] | None
) -> list[Outcome]:
    svc = agreement.service(service_id)
    tariff, kind = svc.tariff, svc.kind
    others = {s.id for s in agreement.services} - {service_id}
    z = ZoneInfo(agreement.timezone)
    base = tariff.unit.base_quantity
    out: list[Outcome] = []
    for r in records:
        o = Outcome(r.line)
        out.append(o)
        service = r.service or service_id
        if service != service_id:
            o.reason = "other_service" if service in others else "unknown_service"
            continue
        if r.start_epoch is None:
            o.reason = "no_start_time"
            continue
        if period is not None and not (period[0] <= r.start_epoch < period[1]):
            o.reason = "outside_period"
            continue
        q = billed(kind, tariff, r)
        if q is None:
            o.reason = "bad_quantity"
            continue
        dest = destination(tariff, service_id, r.b_number)
        if dest is None:
            o.reason = "no_destination"
            continue
        _price(kind, tariff, r, o, dest[0], z)
    _tiers(tariff, records, out)
    places = agreement.rounding.record_decimals
    mode = agreement.rounding.mode
    for o in out:
        if o.reason is not None:
            continue
        if o.billed == 0:
            o.num = Fraction(0)
        else:
            o.num = max(o.num + Fraction(tariff.setup_fee) * base, Fraction(tariff.minimum_charge) * base)
        o.num /= base
        o.charge = rnd(o.num, places if places is not None else 10, mode)
    return out


def _tiers(tariff: Tariff, records: list[Rec], out: list[Outcome]) -> None:
    if tariff.tiers is None:
        return
    base = tariff.unit.base_quantity
    rated = [(r, o) for r, o in zip(records, out, strict=True) if o.reason is None]
    levels = [(Fraction(t.from_quantity) * base, Fraction(t.price)) for t in tariff.tiers.levels]
    labels = [f"tier from {t.from_quantity.normalize():f} {tariff.unit}" for t in tariff.tiers.levels]
    if tariff.tiers.mode is TierMode.STEPPED:
        total = sum(o.billed for _, o in rated)
        reached = [i for i, lv in enumerate(levels) if total >= lv[0]][-1]
        for _, o in rated:
            o.num = levels[reached][1] * o.billed
            o.version = labels[reached]
        return
    rated.sort(key=lambda ro: (ro[0].start_epoch, ro[0].record_id is None, ro[0].record_id or "", ro[0].line))
    cum = 0
    for _, o in rated:
        lo_r, hi_r = cum, cum + o.billed
        cum = hi_r
        num = Fraction(0)
        for i, (lo, price) in enumerate(levels):
            hi = levels[i + 1][0] if i + 1 < len(levels) else None
            top = hi_r if hi is None else min(hi_r, hi)
            num += max(top - max(lo_r, lo), 0) * price
        o.num, o.version = num, "banded"


def line_total(agreement: Agreement, outcomes: list[Outcome]) -> Decimal:
    rated = [o for o in outcomes if o.reason is None]
    places = agreement.rounding.line_decimals
    if places is None:
        places = minor_units(agreement.currency)
    if agreement.rounding.record_decimals is not None:
        exact = sum((Fraction(o.charge or 0) for o in rated), Fraction(0))
    else:
        exact = sum((o.num for o in rated), Fraction(0))
    return rnd(exact, places, agreement.rounding.mode)
