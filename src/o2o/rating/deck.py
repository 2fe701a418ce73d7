"""A service's tariff turned into the small tables the rating SQL joins to.

- `prefixes(prefix, plen, destination)`: one row per non-empty prefix; the catch-all destination (empty
  prefix) is kept aside. Longest-prefix match joins once per distinct prefix length, so a deck of 50,000
  prefixes costs a handful of hash joins, not a range scan.
- `rates(destination, band, from_day, to_day, price_micros, version)`: rate versions as day intervals. A
  destination's version in force on a local day is its latest `valid_from` on or before that day; within
  that version the record's band price is used, else the version's `any` price, else the record is unrated
  (a newer version replaces all band prices of the older one).
- Tiers with boundaries in base units (seconds, events, bytes).
Invariants: every price is integer millionths; intervals of one destination do not overlap.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import pyarrow as pa

from o2o.domain.errors import ValidationError
from o2o.domain.tariffs import ServiceKind, Tariff, TierMode
from o2o.rating.clock import day_number
from o2o.rating.exact import micros

FOREVER_DAY = 10**7  # far beyond any real date (year 29349)


@dataclass(frozen=True, slots=True)
class TierLevel:
    """A tier's lower bound in base units and its price in millionths."""

    lo: int
    price_micros: int
    label: str


@dataclass(frozen=True, slots=True)
class Deck:
    """The join tables of one tariff and the constants of its arithmetic."""

    kind: ServiceKind
    base: int  # base units per priced unit (60 s per minute, 10^6 bytes per MB …)
    prefixes: pa.Table
    lengths: tuple[int, ...]  # distinct prefix lengths, longest first
    catch_all: str | None  # destination of the empty prefix, if any
    rates: pa.Table
    tiers: tuple[TierLevel, ...]
    tier_mode: TierMode | None
    setup_micros: int
    minimum_micros: int


def build_deck(service_id: str, kind: ServiceKind, tariff: Tariff) -> Deck:
    """Validate what SQL cannot check and build the join tables."""
    prefixes: dict[str, str] = {}
    catch_all = None
    for d in tariff.destinations:
        if prefixes.get(d.prefix, d.name) != d.name:
            raise ValidationError(f"service {service_id}: prefix {d.prefix!r} has two destinations")
        if d.prefix == "":
            catch_all = d.name
        else:
            prefixes[d.prefix] = d.name
    if not tariff.destinations:
        catch_all = service_id  # no destinations: every record is of the service as a whole
    lengths = tuple(sorted({len(p) for p in prefixes}, reverse=True))
    prefix_table = pa.table(
        {
            "prefix": pa.array(list(prefixes), pa.string()),
            "plen": pa.array([len(p) for p in prefixes], pa.int32()),
            "destination": pa.array(list(prefixes.values()), pa.string()),
        }
    )
    base = tariff.unit.base_quantity
    return Deck(
        kind=kind,
        base=base,
        prefixes=prefix_table,
        lengths=lengths,
        catch_all=catch_all,
        rates=_rate_table(service_id, tariff),
        tiers=_tiers(service_id, tariff, base),
        tier_mode=tariff.tiers.mode if tariff.tiers else None,
        setup_micros=micros(tariff.setup_fee),
        minimum_micros=micros(tariff.minimum_charge),
    )


def _rate_table(service_id: str, tariff: Tariff) -> pa.Table:
    versions: dict[str, set[int]] = defaultdict(set)
    for r in tariff.rates:
        versions[r.destination].add(day_number(r.valid_from))
    cols: dict[str, list[object]] = {k: [] for k in ("destination", "band", "from_day", "to_day")}
    cols |= {"price_micros": [], "version": []}
    seen: set[tuple[str, int, str]] = set()
    for r in tariff.rates:
        start = day_number(r.valid_from)
        key = (r.destination, start, r.band)
        if key in seen:
            raise ValidationError(f"service {service_id}: two prices for {r.destination} {r.band} {start}")
        seen.add(key)
        later = [d for d in versions[r.destination] if d > start]
        cols["destination"].append(r.destination)
        cols["band"].append(r.band)
        cols["from_day"].append(start)
        cols["to_day"].append(min(later) if later else FOREVER_DAY)
        cols["price_micros"].append(micros(r.price))
        cols["version"].append(r.version or r.valid_from.isoformat())
    return pa.table(
        {
            "destination": pa.array(cols["destination"], pa.string()),
            "band": pa.array(cols["band"], pa.string()),
            "from_day": pa.array(cols["from_day"], pa.int64()),
            "to_day": pa.array(cols["to_day"], pa.int64()),
            "price_micros": pa.array(cols["price_micros"], pa.int64()),
            "version": pa.array(cols["version"], pa.string()),
        }
    )


def _tiers(service_id: str, tariff: Tariff, base: int) -> tuple[TierLevel, ...]:
    if tariff.tiers is None:
        return ()
    levels = []
    for tier in tariff.tiers.levels:
        lo = tier.from_quantity * base
        if lo != lo.to_integral_value():
            raise ValidationError(
                f"service {service_id}: tier from {tier.from_quantity} {tariff.unit} is not a whole "
                "number of base units (seconds, events or bytes)"
            )
        label = f"tier from {_plain(tier.from_quantity)} {tariff.unit}"
        levels.append(TierLevel(int(lo), micros(tier.price), label))
    return tuple(levels)


def _plain(value: Decimal) -> str:
    return f"{value.normalize():f}"
