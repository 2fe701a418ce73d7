"""Local time of usage in the agreement's time zone, as portable SQL over integer epoch seconds.

A record's rate version and time band follow its *start* in the agreement's zone. DST is handled by a
CASE over the zone's UTC-offset changes inside the data's time range (found with `zoneinfo`), so the
SQL needs only integer arithmetic: `local_epoch = start_epoch + offset`, `local_day = local_epoch div
86400` (days since 1970-01-01), `sod` = seconds of the local day, weekday `(local_day + 3) % 7` with
Monday = 0 (1970-01-01 was a Thursday). Bands follow `o2o.domain.tariffs.local_band` exactly:
listed holidays first, then the first band whose days and [start, end) hold (end may wrap midnight).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from o2o.domain.periods import zone
from o2o.domain.tariffs import ANY_BAND, WEEKDAYS, Tariff

EPOCH_DAY = date(1970, 1, 1)
_STEP = 3600  # offsets never change twice within an hour


def day_number(day: date) -> int:
    """Days since 1970-01-01."""
    return (day - EPOCH_DAY).days


def day_of(number: int) -> date:
    return EPOCH_DAY + timedelta(days=number)


def _offset(z: ZoneInfo, epoch: int) -> int:
    delta = datetime.fromtimestamp(epoch, UTC).astimezone(z).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


@lru_cache(maxsize=1 << 16)
def _hour_offset(tz: str, epoch: int) -> int:
    """The offset at a whole hour: the ratings of a period's lines sample the same hours of its zones."""
    return _offset(zone(tz), epoch)


def offset_changes(tz: str, lo: int, hi: int) -> list[tuple[int, int]]:
    """[(from_epoch, offset_s)] covering [lo, hi]: the first entry's offset holds before any change. The
    offset is sampled at `lo` - 1 h and at every whole hour after, up to `hi` + 1 h."""
    z = zone(tz)
    start = lo - _STEP
    current = _offset(z, start)
    out = [(start, current)]
    t = start
    while t < hi + _STEP:
        nxt = (t // _STEP + 1) * _STEP
        if _hour_offset(tz, nxt) != current:
            a, b = t, nxt  # the change is in (a, b]: find its first second
            while b - a > 1:
                mid = (a + b) // 2
                if _offset(z, mid) == current:
                    a = mid
                else:
                    b = mid
            current = _offset(z, b)
            out.append((b, current))
        t = nxt
    return out


def sql_offset(epoch: str, tz: str, lo: int, hi: int) -> str:
    """SQL: the zone's UTC offset in seconds at `epoch` (valid for epochs in [lo, hi])."""
    changes = offset_changes(tz, lo, hi)
    if len(changes) == 1:
        return str(changes[0][1])
    whens = " ".join(
        f"WHEN {epoch} < {changes[i + 1][0]} THEN {changes[i][1]}" for i in range(len(changes) - 1)
    )
    return f"(CASE {whens} ELSE {changes[-1][1]} END)"


def _seconds(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def band_ids(tariff: Tariff) -> dict[str, int]:
    """Band name → small integer id (`any` is 0), in the order the tariff lists them."""
    ids = {ANY_BAND: 0}
    for name in [b.name for b in tariff.bands] + ([tariff.holiday_band] if tariff.holidays else []):
        ids.setdefault(name, len(ids))
    return ids


def _member(expr: str, values: list[int]) -> str:
    """SQL: `expr` is one of `values` (a range test or ORs: DuckDB plans `IN (…)` as a join)."""
    values = sorted(set(values))
    if values == list(range(values[0], values[-1] + 1)):
        return f"({expr} BETWEEN {values[0]} AND {values[-1]})"
    return "(" + " OR ".join(f"{expr} = {v}" for v in values) + ")"


def sql_band(tariff: Tariff, local_day: str, sod: str, weekday: str) -> str:
    """SQL: the band id of a local moment (day number, seconds of day, weekday Monday = 0)."""
    ids = band_ids(tariff)
    whens: list[str] = []
    if tariff.holidays:
        days = _member(local_day, [day_number(h) for h in tariff.holidays])
        whens.append(f"WHEN {days} THEN {ids[tariff.holiday_band]}")
    for band in tariff.bands:
        if not band.days:
            continue  # a band on no day never holds
        wd = _member(weekday, [WEEKDAYS.index(d) for d in band.days])
        s, e = _seconds(band.start), _seconds(band.end)
        inside = f"({sod} >= {s} AND {sod} < {e})" if s < e else f"({sod} >= {s} OR {sod} < {e})"
        whens.append(f"WHEN {wd} AND {inside} THEN {ids[band.name]}")
    if not whens:
        return "0"
    return f"(CASE {' '.join(whens)} ELSE 0 END)"


def sql_band_name(tariff: Tariff, band_id: str) -> str:
    """SQL: the band name of a band id."""
    whens = " ".join(f"WHEN {i} THEN {_sql_text(name)}" for name, i in band_ids(tariff).items())
    return f"(CASE {band_id} {whens} END)"
