"""The rating steps as plain SELECT texts over named views (portable to Spark through `Dialect`).

Inputs, registered by the engine adapter: `usage` (canonical columns plus `src`, the file index),
`deck_prefixes` and `deck_rates` (see `o2o.rating.deck`). Steps:
1. `rating_clock`   – local epoch and day in the agreement's zone (integer arithmetic only);
2. `rating_banded`  – band of the start, billed quantity after increments (base units);
3. `rating_destined`– longest prefix: one LEFT JOIN per distinct prefix length, the longest hit wins;
4. `rating_priced`  – the rate version in force and the reason a record cannot be priced (materialised);
5. `rating_charged` – the integer numerator `num` (see `o2o.rating.exact`) and the rounded charge.
Every ordering (banded tiers) ends with the unique key (src, line) and says NULLS LAST.
"""

from __future__ import annotations

from dataclasses import dataclass

from o2o.domain.money import Rounding
from o2o.domain.tariffs import ServiceKind, Tariff, TierMode
from o2o.rating.clock import sql_band, sql_offset
from o2o.rating.deck import Deck
from o2o.rating.exact import DUCKDB, UNROUNDED_PLACES, Dialect, sql_round_ratio

DAY = 86400


def lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True, slots=True)
class StepContext:
    """What the step texts are generated from."""

    service_id: str
    other_services: tuple[str, ...]
    tariff: Tariff
    deck: Deck
    timezone: str
    data_range: tuple[int, int]  # min and max start_epoch in the usage
    period_range: tuple[int, int] | None  # [start, end) epochs of the period, if one is rated
    record_places: int | None
    mode: Rounding
    dialect: Dialect = DUCKDB


def clock_view(c: StepContext) -> str:
    offset = sql_offset("start_epoch", c.timezone, *c.data_range)
    local = f"start_epoch + {offset}"
    return f"""
SELECT src, line, record_id, COALESCE(NULLIF(service, ''), {lit(c.service_id)}) AS service,
       a_number, b_number, start_epoch, duration_s, volume, route,
       {local} AS local_epoch, {c.dialect.idiv(local, str(DAY))} AS local_day
FROM usage"""


def _billed_quantity(c: StepContext) -> str:
    """Base units billed: seconds after increments and minimum, events, or bytes up to the increment."""
    t = c.tariff
    if c.deck.kind is ServiceKind.VOICE:
        inc = t.increments
        e = f"GREATEST(duration_s, {inc.minimum_s})"
        steps = c.dialect.idiv(f"{e} - {inc.first} + {inc.next} - 1", str(inc.next))
        return (
            "CASE WHEN duration_s IS NULL OR duration_s < 0 THEN NULL WHEN duration_s = 0 THEN 0 "
            f"WHEN {e} <= {inc.first} THEN {inc.first} ELSE {inc.first} + {steps} * {inc.next} END"
        )
    if c.deck.kind is ServiceKind.SMS:
        return "CASE WHEN volume < 0 THEN NULL ELSE COALESCE(volume, 1) END"
    step = t.volume_increment
    rounded = f"{c.dialect.idiv(f'volume + {step - 1}', str(step))} * {step}" if step > 1 else "volume"
    return f"CASE WHEN volume IS NULL OR volume < 0 THEN NULL ELSE {rounded} END"


def banded_view(c: StepContext) -> str:
    band = sql_band(c.tariff, "local_day", "sod", "weekday")
    return f"""
SELECT src, line, record_id, service, a_number, b_number, start_epoch, duration_s, volume, route,
       local_day, {band} AS band, {_billed_quantity(c)} AS billed_quantity
FROM (SELECT *, local_epoch - local_day * {DAY} AS sod, (local_day + 3) % 7 AS weekday FROM rating_clock) k"""


def destined_view(c: StepContext) -> str:
    joins, dests, prefixes = [], [], []
    for n in c.deck.lengths:
        joins.append(
            f"LEFT JOIN (SELECT prefix, destination FROM deck_prefixes WHERE plen = {n}) p{n} "
            f"ON p{n}.prefix = substr(b.b_number, 1, {n})"
        )
        dests.append(f"p{n}.destination")
        prefixes.append(f"p{n}.prefix")
    if c.deck.catch_all is not None:
        dests.append(lit(c.deck.catch_all))
        prefixes.append("''")
    dest = f"COALESCE({', '.join(dests)})" if len(dests) > 1 else (dests[0] if dests else "NULL")
    prefix = (
        f"COALESCE({', '.join(prefixes)})" if len(prefixes) > 1 else (prefixes[0] if prefixes else "NULL")
    )
    return f"""
SELECT b.*, CAST({dest} AS VARCHAR) AS destination, CAST({prefix} AS VARCHAR) AS prefix
FROM rating_banded b
{chr(10).join(joins)}"""


def _reason(c: StepContext, price: str) -> str:
    others = ", ".join(lit(s) for s in c.other_services) or "NULL"
    period = ""
    if c.period_range is not None:
        lo, hi = c.period_range
        period = f"WHEN d.start_epoch < {lo} OR d.start_epoch >= {hi} THEN 'outside_period' "
    return (
        f"CASE WHEN d.service <> {lit(c.service_id)} AND d.service IN ({others}) THEN 'other_service' "
        f"WHEN d.service <> {lit(c.service_id)} THEN 'unknown_service' "
        "WHEN d.start_epoch IS NULL THEN 'no_start_time' "
        f"{period}"
        "WHEN d.billed_quantity IS NULL THEN 'bad_quantity' "
        "WHEN d.destination IS NULL THEN 'no_destination' "
        f"WHEN {price} IS NULL THEN 'no_rate' END"
    )


def priced_table(c: StepContext) -> str:
    cols = "d.src, d.line, d.record_id, d.service, d.a_number, d.b_number, d.start_epoch, d.duration_s, "
    cols += "d.volume, d.route, d.local_day, d.band, d.billed_quantity, d.destination, d.prefix"
    if c.deck.tier_mode is not None:
        # Tier prices depend on the period's volume; they are set in the charge step.
        return f"""
SELECT {cols}, CAST(NULL AS BIGINT) AS price_micros, CAST(NULL AS VARCHAR) AS rate_version,
       {_reason(c, "0")} AS reason
FROM rating_destined d"""
    in_force = "AND d.local_day >= {t}.from_day AND d.local_day < {t}.to_day"
    return f"""
SELECT {cols}, COALESCE(rb.price_micros, ra.price_micros) AS price_micros,
       COALESCE(rb.version, ra.version) AS rate_version,
       {_reason(c, "COALESCE(rb.price_micros, ra.price_micros)")} AS reason
FROM rating_destined d
LEFT JOIN deck_rates rb ON rb.destination = d.destination AND rb.band = d.band {in_force.format(t="rb")}
LEFT JOIN deck_rates ra ON ra.destination = d.destination AND ra.band = 'any' {in_force.format(t="ra")}"""


ORDER_KEY = "start_epoch NULLS LAST, record_id NULLS LAST, src, line"


def _tier_price(c: StepContext) -> tuple[str, str, str]:
    """(inner select extras, quantity numerator, version label) for a tiered service."""
    big = c.dialect.int128
    levels = c.deck.tiers
    if c.deck.tier_mode is TierMode.STEPPED:
        whens = " ".join(f"WHEN total_quantity >= {lv.lo} THEN {lv.price_micros}" for lv in reversed(levels))
        labels = " ".join(f"WHEN total_quantity >= {lv.lo} THEN {lit(lv.label)}" for lv in reversed(levels))
        extra = "SUM(billed_quantity) OVER () AS total_quantity"
        return extra, f"CAST(CASE {whens} END AS {big}) * billed_quantity", f"CASE {labels} END"
    extra = (
        f"SUM(billed_quantity) OVER (ORDER BY {ORDER_KEY} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
        " AS cum_after"
    )
    parts = []
    for i, lv in enumerate(levels):
        upper = f"LEAST(cum_after, {levels[i + 1].lo})" if i + 1 < len(levels) else "cum_after"
        overlap = f"GREATEST({upper} - GREATEST(cum_after - billed_quantity, {lv.lo}), 0)"
        parts.append(f"CAST({overlap} AS {big}) * {lv.price_micros}")
    return extra, " + ".join(parts), lit("banded")


def charged_view(c: StepContext) -> str:
    """Rated records with `price`, `num` and `charge`; only records with no reason."""
    big, base = c.dialect.int128, c.deck.base
    if c.deck.tier_mode is None:
        extra, qty_num, version = "", f"CAST(price_micros AS {big}) * billed_quantity", "rate_version"
        price = "price_micros"
    else:
        extra, qty_num, version = _tier_price(c)
        extra = ", " + extra
        price = "CAST(NULL AS BIGINT)" if c.deck.tier_mode is TierMode.BANDED else _stepped_price(c)
    fees = f"{c.deck.setup_micros * base}"
    floor = f"{c.deck.minimum_micros * base}"
    num = (
        f"CASE WHEN billed_quantity = 0 THEN CAST(0 AS {big}) "
        f"ELSE GREATEST({qty_num} + {fees}, CAST({floor} AS {big})) END"
    )
    places = c.record_places if c.record_places is not None else UNROUNDED_PLACES
    charge = sql_round_ratio("num", base, places, c.mode, c.dialect)
    return f"""
SELECT *, {charge} AS charge
FROM (
  SELECT src, line, record_id, service, a_number, b_number, start_epoch, duration_s, volume, route,
         local_day, band, destination, prefix, {version} AS rate_version, {price} AS price_micros,
         billed_quantity, {num} AS num
  FROM (SELECT *{extra} FROM rating_priced WHERE reason IS NULL) p
) n"""


def _stepped_price(c: StepContext) -> str:
    whens = " ".join(
        f"WHEN total_quantity >= {lv.lo} THEN {lv.price_micros}" for lv in reversed(c.deck.tiers)
    )
    return f"CAST(CASE {whens} END AS BIGINT)"


def summary_select(c: StepContext) -> str:
    """Per (service, destination, day): events, billed quantity, amount, and the exact numerator sum."""
    if c.record_places is not None:
        amount = "SUM(charge)"
    else:
        amount = sql_round_ratio("SUM(num)", c.deck.base, UNROUNDED_PLACES, c.mode, c.dialect)
    return f"""
SELECT service, destination, local_day, COUNT(*) AS events,
       CAST(SUM(billed_quantity) AS BIGINT) AS billed_quantity, {amount} AS amount, SUM(num) AS num
FROM rating_charged
GROUP BY service, destination, local_day"""
