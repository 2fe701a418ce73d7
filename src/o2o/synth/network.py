"""The shape of a synthetic network: operators, the agreement graph, services and their tariffs.

Invariants: operator 0 is the large national operator and sizes fall off as a power law; the agreement
graph is connected (a spanning tree grown by preferential attachment, then extra edges weighted by
size); every agreement has at least one service; each usage service direction is provided by one
party and bought by the other, with destinations in the provider's own number blocks. Everything here
is drawn from `numpy.random.Generator`s seeded from (seed, purpose), so it is the same for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import numpy as np

from o2o.synth.countries import Country, placement
from o2o.synth.options import MIN_CALLS_PER_SERVICE, SynthOptions

NAMES = (
    "ALFA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT", "GOLF", "HOTEL", "INDIA", "JULIETT",
    "KILO", "LIMA", "MIKE", "NOVEMBER", "OSCAR", "PAPA", "QUEBEC", "ROMEO", "SIERRA", "TANGO",
)  # fmt: skip
INCREMENTS = ((60, 60), (30, 6), (1, 1), (6, 6))
KIND_WEIGHT = {"voice": 1.0, "sms": 0.4, "data": 0.08}
SIZE_EXPONENT = 1.3
EDGES_PER_OPERATOR = 1.75
FOUR = Decimal("0.0001")


def rng_for(seed: int, *purpose: int) -> np.random.Generator:
    """A generator for one purpose of one seed, independent of the order things are drawn in."""
    return np.random.default_rng(np.random.SeedSequence([seed, *purpose]))


@dataclass(frozen=True, slots=True)
class SynthOperator:
    id: str
    name: str
    country: Country
    rank: int  # 0 = the incumbent of its country (also owns the fixed-line block)
    weight: float

    @property
    def mobile_block(self) -> str:
        return self.country.mobile_blocks[self.rank]


@dataclass(frozen=True, slots=True)
class SynthDestination:
    prefix: str  # E.164 digits: country code + block
    name: str
    share: float  # of the service's calls


@dataclass(frozen=True, slots=True)
class SynthService:
    """One service direction with its tariff; `prices_new` set when the rate changes mid-month."""

    id: str
    kind: str
    provider: SynthOperator
    customer: SynthOperator
    destinations: tuple[SynthDestination, ...]
    prices: tuple[Decimal, ...]  # per destination, in force from the agreement's start
    prices_new: tuple[Decimal, ...] | None
    increments: tuple[int, int]
    stale_party: str | None  # an operator pricing with the stale deck after the change
    lease_amount: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class SynthAgreement:
    id: str
    parties: tuple[SynthOperator, SynthOperator]
    currency: str
    timezone: str
    valid_from: date
    change_day: date  # the mid-month day new rate versions take effect
    tolerance_absolute: Decimal
    services: tuple[SynthService, ...]

    def change_epoch(self) -> int:
        """Epoch second of local midnight starting `change_day` in the agreement's time zone."""
        local = datetime.combine(self.change_day, datetime.min.time(), ZoneInfo(self.timezone))
        return int(local.astimezone(UTC).timestamp())


def build_operators(opts: SynthOptions) -> list[SynthOperator]:
    out = []
    for i, (ctry, rank) in enumerate(placement(opts.operators)):
        base = NAMES[i % len(NAMES)]
        op_id = base if i < len(NAMES) else f"{base}{i // len(NAMES) + 1}"
        weight = float((i + 1) ** -SIZE_EXPONENT)
        out.append(SynthOperator(op_id, f"{base.title()} Telecom {ctry.code}", ctry, rank, weight))
    return out


def agreement_edges(ops: list[SynthOperator], seed: int) -> list[tuple[int, int]]:
    """Connected graph: each operator attaches to an earlier one by size, then extra edges by size."""
    rng = rng_for(seed, 1)
    n = len(ops)
    w = np.array([o.weight for o in ops])
    edges = set()
    for i in range(1, n):
        j = int(rng.choice(i, p=w[:i] / w[:i].sum()))
        edges.add((j, i))
    target = min(n * (n - 1) // 2, round(EDGES_PER_OPERATOR * n))
    spare = [(i, j) for i in range(n) for j in range(i + 1, n) if (i, j) not in edges]
    extra = target - len(edges)
    if extra > 0 and spare:
        p = np.array([w[i] * w[j] for i, j in spare])
        picked = rng.choice(len(spare), size=min(extra, len(spare)), replace=False, p=p / p.sum())
        edges.update(spare[int(k)] for k in picked)
    return sorted(edges)


def _price(rng: np.random.Generator, low: str, high: str, factor: Decimal) -> Decimal:
    """A price drawn between `low` and `high` dollars, in the agreement's currency."""
    scale = 10**5
    usd = Decimal(int(rng.integers(int(Decimal(low) * scale), int(Decimal(high) * scale) + 1))) / scale
    return max((usd * factor).quantize(FOUR, ROUND_HALF_UP), FOUR)


def _changed(rng: np.random.Generator, prices: tuple[Decimal, ...]) -> tuple[Decimal, ...]:
    out = []
    for p in prices:
        step = Decimal(int(rng.integers(50, 151))) / 1000  # 5% to 15%
        sign = 1 if rng.random() < 0.5 else -1
        new = (p * (1 + sign * step)).quantize(FOUR, ROUND_HALF_UP)
        out.append(new if new != p and new > 0 else p + FOUR)
    return tuple(out)


def _destinations(kind: str, prov: SynthOperator) -> tuple[SynthDestination, ...]:
    cc, ctry = prov.country.country_code, prov.country
    mobile = SynthDestination(cc + prov.mobile_block, f"{ctry.name} mobile {prov.id}", 0.7)
    if kind == "data":
        return (SynthDestination(cc + ctry.fixed_block, f"{prov.id} data gateway", 1.0),)
    if kind == "sms" or prov.rank > 0:
        return (SynthDestination(mobile.prefix, mobile.name, 1.0),)
    return (mobile, SynthDestination(cc + ctry.fixed_block, f"{ctry.name} fixed", 0.3))


def _service(
    opts: SynthOptions, rng: np.random.Generator, kind: str, prov: SynthOperator, cust: SynthOperator,
    factor: Decimal,
) -> SynthService:  # fmt: skip
    sid = f"{'lease' if kind == 'recurring' else kind}-{prov.id}-{cust.id}"
    if kind == "recurring":
        amount = _price(rng, "800", "3000", factor).quantize(Decimal("0.01"))
        return SynthService(sid, kind, prov, cust, (), (), None, (1, 1), None, amount)
    dests = _destinations(kind, prov)
    low, high = {"voice": ("0.008", "0.06"), "sms": ("0.002", "0.02"), "data": ("0.001", "0.005")}[kind]
    prices = tuple(_price(rng, low, high, factor) for _ in dests)
    new = _changed(rng, prices) if rng.random() < opts.rate_change else None
    stale = None
    if kind == "voice" and new is not None and rng.random() < opts.stale_deck:
        stale = prov.id if rng.random() < 0.5 else cust.id
    incr = INCREMENTS[int(rng.integers(len(INCREMENTS)))] if kind == "voice" else (1, 1)
    return SynthService(sid, kind, prov, cust, dests, prices, new, incr, stale)


def _kinds_for(opts: SynthOptions, rng: np.random.Generator, first: bool) -> list[str]:
    odds = {"voice": 1.0, "sms": 0.6, "data": 0.4, "recurring": 0.3}
    kinds = [k for k in opts.services if first or rng.random() < odds[k]]
    return kinds or [opts.services[0]]


def build_agreements(opts: SynthOptions, ops: list[SynthOperator]) -> list[SynthAgreement]:
    out = []
    valid_from = date(opts.period.year - 1, 1, 1)
    change_day = date(opts.period.year, opts.period.month, 16)
    for k, (i, j) in enumerate(agreement_edges(ops, opts.seed)):
        rng = rng_for(opts.seed, 2, k)
        big, small = ops[i], ops[j]
        factor = big.country.price_factor
        services = []
        for kind in _kinds_for(opts, rng, first=k == 0):
            both_ways = kind in ("voice", "sms") and not opts.one_way
            services.append(_service(opts, rng, kind, big, small, factor))
            if both_ways:
                services.append(_service(opts, rng, kind, small, big, factor))
        out.append(
            SynthAgreement(
                id=f"{big.id}-{small.id}",
                parties=(big, small),
                currency=big.country.currency,
                timezone=big.country.timezone,
                valid_from=valid_from,
                change_day=change_day,
                tolerance_absolute=(Decimal(opts.tolerance_absolute) * factor).quantize(Decimal(1)),
                services=tuple(services),
            )
        )
    return out


def allocate_calls(opts: SynthOptions, agreements: list[SynthAgreement]) -> dict[str, int]:
    """Calls per usage service (keyed `agreement/service`): gravity by size, a floor per service."""
    keys, weights = [], []
    for ag in agreements:
        for s in ag.services:
            if s.kind in KIND_WEIGHT:
                keys.append(f"{ag.id}/{s.id}")
                weights.append(KIND_WEIGHT[s.kind] * s.provider.weight * s.customer.weight)
    if not keys:
        return {}
    floor = MIN_CALLS_PER_SERVICE
    rest = max(opts.cdrs - floor * len(keys), 0)
    p = np.array(weights) / sum(weights)
    counts = rng_for(opts.seed, 3).multinomial(rest, p)
    return {key: floor + int(c) for key, c in zip(keys, counts, strict=True)}
