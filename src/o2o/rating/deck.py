"""A service's tariff turned into the small integer-keyed tables the rating SQL joins to.

- `deck_prefixes(pkey, plen, pid)`: each non-empty prefix as an integer key per length (a bijection
  within one length, so leading zeros are safe) with its prefix id. Longest-prefix match joins once per
  distinct length on integer keys, so a deck of 50,000 prefixes costs a handful of cheap hash joins. The
  catch-all destination (empty prefix, pid 0) is kept aside. Prefixes are at most 15 digits (the longest
  E.164 number).
- `deck_pids(pid, dest_id, prefix)`: each prefix id's destination and prefix text (the catch-all too);
  the steps re-key the rates by prefix id (`o2o.rating.steps.prefix_rates_select`), so that one join
  gives a record its rate, destination and prefix.
- `deck_expanded(ekey, pid)`: every digit string s up to `expanded_length` digits that extends a prefix
  of at most that length, keyed `10^len(s) + int(s)`, with the pid of its longest such prefix: one join
  matches every short length at once (the length is the longest whose expansion stays within
  `EXPANSION_LIMIT` keys); longer prefixes keep one join per length.
- `deck_rates(rkey, price_micros, version, destination, inc_id)`: one row per destination, band and
  *slot*, with the price in force already resolved, so that pricing is one equi-join. A rate version
  starts at an instant: its local `valid_from` date-time in the agreement's zone, as epoch seconds
  (DST-correct, computed here once per distinct start). Slots cut the data's time range at every such
  instant inside it (`slot_starts`); a record's slot is the number of those instants at or before its
  start. For each slot, a destination's version in force is its latest start at or before the slot's
  first second; within it the band's price, else the version's `any` price, else no row (the record is
  unrated). A newer version replaces all band prices of the older one.
  `rkey = (dest_id × band_count + band_id) × slot_count + slot`. `inc_id` names the row's billing
  increments: 0 the service's, i ≥ 1 `increment_rules[i - 1]` (the rate's own, else its destination's).
- `deck_names(dest_id, destination, inc_id)`: names and destination increments, for tier-priced services
  (which have no rates).
- Tiers with boundaries in base units (seconds, events, bytes).
Invariants: prices are integer millionths; rkeys are unique.
"""

from __future__ import annotations

import gc
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal

import pyarrow as pa

from o2o.domain.errors import ValidationError
from o2o.domain.periods import zone
from o2o.domain.tariffs import ANY_BAND, Increments, Rate, ServiceKind, Tariff, TierMode, local_start_epoch
from o2o.rating.clock import band_ids
from o2o.rating.exact import micros

MAX_PREFIX = 15
CATCH_ALL_PID = 0  # prefix id of the empty prefix
EXPANSION_LIMIT = 1_000_000  # keys of the expanded short-prefix table (a few MB to join against)


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
    pids: pa.Table
    lengths: tuple[int, ...]  # distinct prefix lengths, longest first
    expanded_length: int  # prefixes up to this length are matched through `expanded` (0: none)
    expanded: pa.Table
    catch_all: int | None  # dest_id of the empty prefix (or of the service, without destinations)
    band_count: int
    slot_starts: tuple[int, ...]  # epochs where a rate version starts, inside the data's time range
    increment_rules: tuple[Increments, ...]  # increments other than the service's, by inc_id - 1
    rates: pa.Table
    names: pa.Table
    tiers: tuple[TierLevel, ...]
    tier_mode: TierMode | None
    setup_micros: int
    minimum_micros: int


def destination_names(service_id: str, tariff: Tariff) -> tuple[str, ...]:
    """The names a record of the service can be rated to, sorted: its destinations' (the service's own id
    for a tariff without destinations, whose one catch-all destination it names)."""
    return tuple(sorted({d.name for d in tariff.destinations} or {service_id}))


def build_deck(
    service_id: str, kind: ServiceKind, tariff: Tariff, span: tuple[int, int], timezone: str
) -> Deck:
    """Validate what SQL cannot check and build the join tables for usage starting in the epochs `span`
    [first, last], rate versions starting at their local date-time in `timezone`."""
    # A large deck allocates hundreds of thousands of small objects, none in reference cycles: the cyclic
    # collector is paused meanwhile (its full passes over the agreement's objects cost about a third).
    paused = gc.isenabled()
    gc.disable()
    try:
        return _build_deck(service_id, kind, tariff, span, timezone)
    finally:
        if paused:
            gc.enable()


def _build_deck(
    service_id: str, kind: ServiceKind, tariff: Tariff, span: tuple[int, int], timezone: str
) -> Deck:
    prefixes: dict[str, str] = {}
    catch_all_name = None if tariff.destinations else service_id
    for d in tariff.destinations:
        if prefixes.get(d.prefix, d.name) != d.name:
            raise ValidationError(f"service {service_id}: prefix {d.prefix!r} has two destinations")
        if len(d.prefix) > MAX_PREFIX:
            raise ValidationError(
                f"service {service_id}: prefix {d.prefix} is longer than {MAX_PREFIX} digits"
            )
        if d.prefix == "":
            catch_all_name = d.name
        prefixes[d.prefix] = d.name
    names = sorted(set(prefixes.values()) | ({catch_all_name} if catch_all_name else set()))
    ids = {name: i + 1 for i, name in enumerate(names)}
    keyed = [(p, ids[n]) for p, n in prefixes.items() if p]
    bands = band_ids(tariff)
    base = tariff.unit.base_quantity
    starts = _rate_starts(tariff, timezone)
    slot_starts = tuple(sorted({e for e, _ in starts.values() if span[0] < e <= span[1]}))
    rules = _increment_rules(service_id, kind, tariff)
    dest_inc = {name: rules[inc] for name, inc in tariff.destination_increments().items()}
    top = _expanded_length([p for p, _ in keyed])
    expanded = _expand([(p, i + 1) for i, (p, _) in enumerate(keyed)], top)
    return Deck(
        kind=kind,
        base=base,
        prefixes=pa.table(
            {
                "pkey": pa.array([int(p) for p, _ in keyed], pa.int64()),
                "plen": pa.array([len(p) for p, _ in keyed], pa.int32()),
                "pid": pa.array(range(1, len(keyed) + 1), pa.int64()),
            }
        ),
        pids=pa.table(
            {
                "pid": pa.array(list(range(1, len(keyed) + 1)) + ([CATCH_ALL_PID] if catch_all_name else [])),
                "dest_id": pa.array(
                    [i for _, i in keyed] + ([ids[catch_all_name]] if catch_all_name else []), pa.int64()
                ),
                "prefix": pa.array([p for p, _ in keyed] + ([""] if catch_all_name else []), pa.string()),
            },
            schema=pa.schema([("pid", pa.int64()), ("dest_id", pa.int64()), ("prefix", pa.string())]),
        ),
        lengths=tuple(sorted({len(p) for p, _ in keyed}, reverse=True)),
        expanded_length=top,
        expanded=pa.table(
            {
                "ekey": pa.array(list(expanded), pa.int64()),
                "pid": pa.array(list(expanded.values()), pa.int64()),
            }
        ),
        catch_all=ids[catch_all_name] if catch_all_name else None,
        band_count=len(bands),
        slot_starts=slot_starts,
        increment_rules=tuple(inc for inc, i in rules.items() if i > 0),
        rates=_rate_table(service_id, tariff, ids, bands, (span[0], *slot_starts), (starts, rules, dest_inc)),
        names=pa.table(
            {
                "dest_id": pa.array(list(ids.values()), pa.int64()),
                "destination": pa.array(list(ids), pa.string()),
                "inc_id": pa.array([dest_inc.get(name, 0) for name in ids], pa.int32()),
            }
        ),
        tiers=_tiers(service_id, tariff, base),
        tier_mode=tariff.tiers.mode if tariff.tiers else None,
        setup_micros=micros(tariff.setup_fee),
        minimum_micros=micros(tariff.minimum_charge),
    )


def _expansion_size(lengths: list[int], e: int) -> int:
    return sum(sum(10 ** (m - n) for m in range(n, e + 1)) for n in lengths if n <= e)


def _expanded_length(prefixes: list[str]) -> int:
    """The longest length whose prefixes (and all shorter ones) expand to at most `EXPANSION_LIMIT` keys."""
    lengths = [len(p) for p in prefixes]
    fits = [e for e in sorted(set(lengths)) if _expansion_size(lengths, e) <= EXPANSION_LIMIT]
    return max(fits, default=min(lengths, default=0))


def _expand(prefixes: list[tuple[str, int]], e: int) -> dict[int, int]:
    """Key → pid of the longest prefix of length ≤ `e` that starts the key's digits.

    A key stands for a digit string s of length m ≤ e as `10^m + int(s)` (a bijection over all lengths,
    leading zeros included); every s that extends some prefix is listed, so one equi-join on the first
    min(e, length) digits of a number finds its longest prefix up to length `e`.
    """
    out: dict[int, int] = {}
    for p, pid in sorted(prefixes, key=lambda x: len(x[0])):  # longer prefixes overwrite shorter ones
        n = len(p)
        for m in range(n, e + 1):
            scale = 10 ** (m - n)
            first = 10**m + int(p) * scale
            out.update(dict.fromkeys(range(first, first + scale), pid))
    return out


def _rate_starts(tariff: Tariff, timezone: str) -> dict[tuple[date, time], tuple[int, str]]:
    """Each distinct local start (date, time) of a rate version → its epoch in the zone and its default
    label: a deck repeats a few starts over hundreds of thousands of rates, so each is worked out once."""
    z = zone(timezone)
    out: dict[tuple[date, time], tuple[int, str]] = {}
    for day, at in {(r.valid_from, r.from_time) for r in tariff.rates}:
        # A plain date whose midnight the clock skips starts at the change; a written time must exist.
        start = Rate("", Decimal(0), day, from_time=at)
        out[(day, at)] = (local_start_epoch(start.starts(), z, explicit_time=at != time(0)), start.label())
    return out


def _increment_rules(service_id: str, kind: ServiceKind, tariff: Tariff) -> dict[Increments, int]:
    """Every distinct increments rule → its id: 0 the service's, then those of destinations and rates."""
    rules = {tariff.increments: 0}
    seen: dict[str, Increments] = {}
    for d in tariff.destinations:
        if d.increments is not None and seen.setdefault(d.name, d.increments) != d.increments:
            raise ValidationError(f"service {service_id}: destination {d.name!r} has two increments")
    own = [d.increments for d in tariff.destinations] + [r.increments for r in tariff.rates]
    for inc in own:
        if inc is not None:
            if kind is not ServiceKind.VOICE:
                raise ValidationError(f"service {service_id}: billing increments apply to voice only")
            rules.setdefault(inc, len(rules))
    return rules


_Increments = tuple[dict[tuple[date, time], tuple[int, str]], dict[Increments, int], dict[str, int]]


def _rate_table(
    service_id: str,
    tariff: Tariff,
    ids: dict[str, int],
    bands: dict[str, int],
    slot_starts: tuple[int, ...],
    resolved: _Increments,
) -> pa.Table:
    starts, rules, dest_inc = resolved
    # destination → start epoch → band → (price, version label, increments id)
    versions: dict[str, dict[int, dict[str, tuple[int, str, int]]]] = defaultdict(dict)
    for r in tariff.rates:
        if r.destination not in ids:
            raise ValidationError(f"service {service_id}: rate for unlisted destination {r.destination!r}")
        epoch, default_label = starts[(r.valid_from, r.from_time)]
        prices = versions[r.destination].setdefault(epoch, {})
        if r.band in prices:
            raise ValidationError(
                f"service {service_id}: two prices for {r.destination} {r.band} {r.starts().isoformat()}"
            )
        inc = rules[r.increments] if r.increments is not None else dest_inc.get(r.destination, 0)
        prices[r.band] = (micros(r.price), r.version or default_label, inc)
    slots = len(slot_starts)
    rkey: list[int] = []
    price: list[int] = []
    label: list[str] = []
    dest_name: list[str] = []
    inc_id: list[int] = []
    for dest, by_start in versions.items():
        starts_at = sorted(by_start)
        for slot, start in enumerate(slot_starts):
            i = bisect_right(starts_at, start)
            if i == 0:
                continue  # no version yet: records of this slot are unrated (no_rate)
            prices = by_start[starts_at[i - 1]]
            for band, band_id in bands.items():
                found = prices.get(band) or prices.get(ANY_BAND)
                if found is not None:
                    rkey.append((ids[dest] * len(bands) + band_id) * slots + slot)
                    price.append(found[0])
                    label.append(found[1])
                    dest_name.append(dest)
                    inc_id.append(found[2])
    return pa.table(
        {
            "rkey": pa.array(rkey, pa.int64()),
            "price_micros": pa.array(price, pa.int64()),
            "version": pa.array(label, pa.string()),
            "destination": pa.array(dest_name, pa.string()),
            "inc_id": pa.array(inc_id, pa.int32()),
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
