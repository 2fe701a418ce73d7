"""The rating steps as plain SELECT texts over named views (portable to Spark through `Dialect`).

Inputs, registered by the engine adapter: `usage` (canonical columns plus `src`, the file index),
`deck_prefixes`, `deck_expanded`, `deck_pids`, `deck_rates`, `deck_names` (see `o2o.rating.deck`), and two small tables
the adapter materialises from them: `rating_rates` (`prefix_rates_select`: rates keyed by prefix id, with
destination, prefix and band name) and `rating_names` (`prefix_names_select`, for tier-priced services).
Steps, each a view on the last:
1. `rating_clock`    – local epoch and day in the agreement's zone (integer arithmetic only);
2. `rating_banded`   – band id of the start, billed quantity after the service's increments (base units);
3. `rating_destined` – longest prefix: one LEFT JOIN on integer keys per distinct prefix length above the
                       expanded length, one for all the shorter ones; or the destination the record
                       declares (pseudonymised usage, through `rating_declared`);
4. `rating_priced`   – the rate in force at the start (its slot: a CASE over the deck's version start
                       epochs), destination, prefix and band name (one join: band fallback is resolved in
                       the deck), the billed quantity again where the rate or destination has increments
                       of its own (`inc_id`), and the reason a record cannot be priced;
5. `rating_records`  – every record, with `num` (the exact charge as an integer numerator, see
                       `o2o.rating.exact`) and the rounded `charge` for the priced ones.
The adapter streams `rating_records` to the rated file and `rating_priced` (unpriced rows) to the unrated
file; the summary is `summary_select` over the rated file. Every ordering (banded tiers) ends with the
unique key (src, line) and says NULLS LAST. `b_number` is E.164 digits (the lake's contract).
"""

from __future__ import annotations

from dataclasses import dataclass

from o2o.domain.money import Rounding
from o2o.domain.tariffs import Increments, ServiceKind, Tariff, TierMode
from o2o.rating.clock import sql_band, sql_band_name, sql_offset
from o2o.rating.deck import CATCH_ALL_PID, Deck
from o2o.rating.exact import DUCKDB, UNROUNDED_PLACES, Dialect, sql_round_ratio

DAY = 86400
ORDER_KEY = "start_epoch NULLS LAST, record_id NULLS LAST, src, line"


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
    num_type: str  # integer type of the charge arithmetic: BIGINT when proved wide enough
    charge_width: int = 38  # decimal digits of a record's charge: 18 when proved wide enough
    dialect: Dialect = DUCKDB
    # SQL of a record's group when several usages are rated in one run (each its own tiers), else None.
    group: str | None = None


def clock_view(c: StepContext) -> str:
    local = f"start_epoch + {sql_offset('start_epoch', c.timezone, *c.data_range)}"
    return f"""
SELECT src, line, record_id, COALESCE(NULLIF(service, ''), {lit(c.service_id)}) AS service,
       a_number, b_number, start_epoch, duration_s, volume, route, destination AS declared,
       {local} AS local_epoch, {c.dialect.idiv(local, str(DAY))} AS local_day
FROM usage"""


def _billed_seconds(c: StepContext, inc: Increments, duration: str) -> str:
    """Seconds billed for a call of `duration` > 0 seconds: minimum, first block, then whole steps."""
    e = f"GREATEST({duration}, {inc.minimum_s})"
    steps = c.dialect.idiv(f"{e} - {inc.first} + {inc.next} - 1", str(inc.next))
    return f"CASE WHEN {e} <= {inc.first} THEN {inc.first} ELSE {inc.first} + {steps} * {inc.next} END"


def _billed_quantity(c: StepContext) -> str:
    """Base units billed: seconds after increments and minimum, events, or bytes up to the increment."""
    t = c.tariff
    if c.deck.kind is ServiceKind.VOICE:
        return (
            "CASE WHEN duration_s IS NULL OR duration_s < 0 THEN NULL WHEN duration_s = 0 THEN 0 "
            f"ELSE {_billed_seconds(c, t.increments, 'duration_s')} END"
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
       declared, local_day, {band} AS band_id, {_billed_quantity(c)} AS billed_quantity
FROM (SELECT *, local_epoch - local_day * {DAY} AS sod, (local_day + 3) % 7 AS weekday FROM rating_clock) k"""


def declared_select() -> str:
    """Each destination's name with one of its prefix ids (the lowest): `rating_declared`, the prefix id of
    a destination a pseudonymised record declares (its number is no number to look up)."""
    return """
SELECT n.destination, MIN(p.pid) AS pid
FROM deck_pids p JOIN deck_names n ON n.dest_id = p.dest_id
GROUP BY n.destination"""


def destined_view(c: StepContext) -> str:
    """Longest prefix: the number's first digits as integer keys, one LEFT JOIN per prefix length above
    the deck's expanded length, then one for every shorter length at once (`deck_expanded`). A record
    that declares its destination (`declared` not NULL: pseudonymised usage) takes that destination's
    prefix id from `rating_declared` instead (none for an empty or unknown name)."""
    lengths, e = c.deck.lengths, c.deck.expanded_length
    top = lengths[0] if lengths else 1
    joins, ids = [], []
    for n in (n for n in lengths if n > e):
        # One integer cast of the first `top` digits serves every length; short numbers cast again.
        key = c.dialect.idiv("b.bkey", str(10 ** (top - n))) if n < top else "b.bkey"
        short = f"WHEN b.blen >= {n} THEN TRY_CAST(substr(b.b_number, 1, {n}) AS BIGINT) " if n < top else ""
        joins.append(
            f"LEFT JOIN (SELECT pkey, pid FROM deck_prefixes WHERE plen = {n}) p{n} "
            f"ON p{n}.pkey = CASE WHEN b.blen >= {top} THEN {key} {short}END"
        )
        ids.append(f"p{n}.pid")
    if lengths:
        # The first min(e, length) digits s as `10^len(s) + s` (see `o2o.rating.deck._expand`).
        head = c.dialect.idiv("b.bkey", str(10 ** (top - e))) if e < top else "b.bkey"
        whens = [f"WHEN b.blen >= {top} THEN {10**e} + {head}"]
        if e < top:
            whens.append(f"WHEN b.blen >= {e} THEN {10**e} + TRY_CAST(substr(b.b_number, 1, {e}) AS BIGINT)")
        whens += [f"WHEN b.blen = {m} THEN {10**m} + TRY_CAST(b.b_number AS BIGINT)" for m in range(1, e)]
        joins.append(f"LEFT JOIN deck_expanded x ON x.ekey = CASE {' '.join(whens)} END")
        ids.append("x.pid")
    if c.deck.catch_all is not None:
        ids.append(str(CATCH_ALL_PID))
    pid = f"COALESCE({', '.join(ids)})" if ids else "NULL"
    joins.append("LEFT JOIN rating_declared dd ON dd.destination = b.declared")
    return f"""
SELECT b.*, CAST(CASE WHEN b.declared IS NULL THEN {pid} ELSE dd.pid END AS BIGINT) AS pid
FROM (SELECT *, TRY_CAST(substr(b_number, 1, {top}) AS BIGINT) AS bkey, length(b_number) AS blen
      FROM rating_banded) b
{chr(10).join(joins)}"""


def prefix_rates_select(c: StepContext) -> str:
    """`deck_rates` re-keyed by prefix id, with the band name and the prefix: `rating_rates`."""
    slots, bands = len(c.deck.slot_starts) + 1, c.deck.band_count
    band_id = f"({c.dialect.idiv('r.rkey', str(slots))} % {bands})"
    dest_id = c.dialect.idiv("r.rkey", str(slots * bands))
    return f"""
SELECT (p.pid * {bands} + {band_id}) * {slots} + r.rkey % {slots} AS rkey, r.price_micros, r.version,
       r.destination, p.prefix, {sql_band_name(c.tariff, band_id)} AS band, r.inc_id
FROM deck_rates r JOIN deck_pids p ON p.dest_id = {dest_id}"""


def prefix_names_select(c: StepContext) -> str:
    """Each prefix id's destination and prefix (tier-priced services, which have no rates): `rating_names`."""
    return """
SELECT p.pid, n.destination, p.prefix, n.inc_id FROM deck_pids p JOIN deck_names n ON n.dest_id = p.dest_id"""


def _reason(c: StepContext, price: str) -> str:
    # ORs rather than IN (…), which DuckDB may plan as a join over every record.
    others = " OR ".join(f"d.service = {lit(s)}" for s in c.other_services) or "FALSE"
    period = ""
    if c.period_range is not None:
        lo, hi = c.period_range
        period = f"WHEN d.start_epoch < {lo} OR d.start_epoch >= {hi} THEN 'outside_period' "
    return (
        f"CASE WHEN d.service <> {lit(c.service_id)} AND ({others}) THEN 'other_service' "
        f"WHEN d.service <> {lit(c.service_id)} THEN 'unknown_service' "
        "WHEN d.start_epoch IS NULL THEN 'no_start_time' "
        f"{period}"
        "WHEN d.billed_quantity IS NULL THEN 'bad_quantity' "
        "WHEN d.pid IS NULL THEN 'no_destination' "
        f"WHEN {price} IS NULL THEN 'no_rate' END"
    )


def _own_increments(c: StepContext, inc_id: str) -> str:
    """The billed quantity, re-billed by the increments of the matched rate or destination (`inc_id` ≥ 1);
    without such increments in the deck the service's, computed before, stand (no extra work)."""
    if not c.deck.increment_rules:
        return "d.billed_quantity"
    whens = " ".join(
        f"WHEN {inc_id} = {i + 1} THEN {_billed_seconds(c, inc, 'd.duration_s')}"
        for i, inc in enumerate(c.deck.increment_rules)
    )
    # A NULL (bad duration) or 0 (no call) quantity is the same under every increments rule.
    return (
        f"CASE WHEN d.billed_quantity IS NULL OR d.billed_quantity = 0 THEN d.billed_quantity {whens} "
        "ELSE d.billed_quantity END"
    )


def _prefix(table: str) -> str:
    """The matched prefix; none for a record that declared its destination (no number was looked up)."""
    return f"CASE WHEN d.declared IS NULL THEN {table}.prefix END"


def priced_view(c: StepContext) -> str:
    cols = "d.src, d.line, d.record_id, d.service, d.a_number, d.b_number, d.start_epoch, d.duration_s, "
    cols += "d.volume, d.route, d.local_day"
    if c.deck.tier_mode is not None:
        # Tier prices depend on the period's volume; they are set in the next step.
        return f"""
SELECT {cols}, {_own_increments(c, "n.inc_id")} AS billed_quantity,
       {sql_band_name(c.tariff, "d.band_id")} AS band, n.destination, {_prefix("n")} AS prefix,
       CAST(NULL AS BIGINT) AS price_micros, CAST(NULL AS STRING) AS rate_version,
       {_reason(c, "0")} AS reason
FROM rating_destined d
LEFT JOIN rating_names n ON n.pid = d.pid"""
    slots = len(c.deck.slot_starts) + 1
    whens = " ".join(
        f"WHEN d.start_epoch >= {start} THEN {i + 1}"
        for i, start in reversed(list(enumerate(c.deck.slot_starts)))
    )
    slot = f"(CASE {whens} ELSE 0 END)" if whens else "0"
    return f"""
SELECT {cols}, {_own_increments(c, "r.inc_id")} AS billed_quantity,
       r.band, r.destination, {_prefix("r")} AS prefix, r.price_micros, r.version AS rate_version,
       {_reason(c, "r.price_micros")} AS reason
FROM rating_destined d
LEFT JOIN rating_rates r ON r.rkey = (d.pid * {c.deck.band_count} + d.band_id) * {slots} + {slot}"""


def _rated_quantity() -> str:
    return "CASE WHEN reason IS NULL THEN billed_quantity ELSE 0 END"


def _partition(c: StepContext) -> str:
    """A tier window's partition: each group's volume is its own."""
    return "" if c.group is None else f"PARTITION BY {c.group} "


def _tier_price(c: StepContext) -> tuple[str, str, str, str]:
    """(window columns, quantity numerator, version label, unit price) for a tiered service."""
    big = c.num_type
    levels = c.deck.tiers
    if c.deck.tier_mode is TierMode.STEPPED:
        whens = " ".join(f"WHEN total_quantity >= {lv.lo} THEN {lv.price_micros}" for lv in reversed(levels))
        labels = " ".join(f"WHEN total_quantity >= {lv.lo} THEN {lit(lv.label)}" for lv in reversed(levels))
        window = f"SUM({_rated_quantity()}) OVER ({_partition(c)}) AS total_quantity"
        price = f"CAST(CASE {whens} END AS BIGINT)"
        return window, f"CAST({price} AS {big}) * billed_quantity", f"CASE {labels} END", price
    window = (
        f"SUM({_rated_quantity()}) OVER ({_partition(c)}ORDER BY {ORDER_KEY} "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum_after"
    )
    parts = []
    for i, lv in enumerate(levels):
        upper = f"LEAST(cum_after, {levels[i + 1].lo})" if i + 1 < len(levels) else "cum_after"
        overlap = f"GREATEST({upper} - GREATEST(cum_after - billed_quantity, {lv.lo}), 0)"
        parts.append(f"CAST({overlap} AS {big}) * {lv.price_micros}")
    return window, " + ".join(parts), lit("banded"), "CAST(NULL AS BIGINT)"


def records_view(c: StepContext) -> str:
    """Every record: `reason` (NULL when priced), and for the priced ones `num` and `charge`."""
    big, base = c.num_type, c.deck.base
    if c.deck.tier_mode is None:
        window, version, price = "", "rate_version", "price_micros"
        qty_num = f"CAST(price_micros AS {big}) * billed_quantity"
    else:
        window, qty_num, version, price = _tier_price(c)
        window = ", " + window
    fees, floor = c.deck.setup_micros * base, c.deck.minimum_micros * base
    num = (
        f"CASE WHEN reason IS NOT NULL THEN NULL WHEN billed_quantity = 0 THEN CAST(0 AS {big}) "
        f"ELSE GREATEST({qty_num} + {fees}, CAST({floor} AS {big})) END"
    )
    places = c.record_places if c.record_places is not None else UNROUNDED_PLACES
    return f"""
SELECT src, line, record_id, service, a_number, b_number, start_epoch, duration_s, volume, route,
       local_day, band, destination, prefix,
       rate_version_out AS rate_version, price_out AS price_micros, billed_quantity, num,
       {sql_round_ratio("num", base, places, c.mode, c.dialect, big, c.charge_width)} AS charge, reason
FROM (
  SELECT *, CASE WHEN reason IS NULL THEN {version} END AS rate_version_out,
         CASE WHEN reason IS NULL THEN {price} END AS price_out, {num} AS num
  FROM (SELECT *{window} FROM rating_priced) p
) n"""


def summary_select(c: StepContext, rated: str, grouped: bool = False) -> str:
    """Per (service, destination, local day) over `rated` (priced records with `charge` and `num`); per
    group first when `grouped` (`rated` then has the group as a column `grp`)."""
    if c.record_places is not None:
        amount = "SUM(charge)"
    else:
        amount = sql_round_ratio("SUM(num)", c.deck.base, UNROUNDED_PLACES, c.mode, c.dialect)
    grp = "grp, " if grouped else ""
    return f"""
SELECT {grp}{lit(c.service_id)} AS service, destination, local_day, COUNT(*) AS events,
       CAST(SUM(billed_quantity) AS BIGINT) AS billed_quantity, {amount} AS amount, SUM(num) AS num
FROM {rated}
GROUP BY {grp}destination, local_day"""
