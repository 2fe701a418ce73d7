"""Exact rounding of non-negative ratios, as portable SQL text and in Python.

The engine carries every charge as an integer numerator `num` in millionths of the currency times the
price unit's base quantity (seconds per minute, bytes per MB …), so that `charge = num / (base · 10^6)`
exactly. Dividing by 60 has no finite decimal, and DuckDB's `/` on DECIMAL returns DOUBLE, so rounding
to N decimals is integer arithmetic: `k = round(num · 10^N / (base · 10^6))`, `charge = k · 10^-N`.
Invariants: numerators are never negative (prices and fees are ≥ 0); no float is ever involved.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from o2o.domain.money import Rounding

MICROS = 1_000_000  # prices carry at most 6 decimals
PRICE_PLACES = 6
# Shown precision of a record's charge when the agreement rounds only at the line total.
UNROUNDED_PLACES = 10


@dataclass(frozen=True, slots=True)
class Dialect:
    """The few spellings that differ between the engines; the step texts use only these hooks."""

    name: str = "duckdb"
    int128: str = "HUGEINT"  # Spark: DECIMAL(38, 0)

    def idiv(self, a: str, b: str) -> str:
        """Integer division of non-negative integers (DuckDB `//`, Spark `div`)."""
        op = "//" if self.name == "duckdb" else "div"
        return f"(({a}) {op} ({b}))"


DUCKDB = Dialect()


def _scaled(num: str, base: int | str, places: int, int_type: str) -> tuple[str, str]:
    """Numerator and divisor (SQL) of `num / (base · 10^6)` expressed in units of 10^-places (`base` a
    number, or SQL giving one per row)."""
    if places >= PRICE_PLACES:
        factor = 10 ** (places - PRICE_PLACES)
        n = f"CAST({num} AS {int_type}) * {factor}" if factor != 1 else f"CAST({num} AS {int_type})"
        return n, str(base)
    scale = 10 ** (PRICE_PLACES - places)
    return f"CAST({num} AS {int_type})", str(base * scale) if isinstance(base, int) else f"({base} * {scale})"


def fits_bigint(max_num: int, base: int, places: int) -> bool:
    """Whether the rounding arithmetic on numerators up to `max_num` stays inside a signed 64-bit integer."""
    scale = 10 ** max(places - PRICE_PLACES, 0)
    q = base * 10 ** max(PRICE_PLACES - places, 0)
    return bool(2 * (max_num * scale + q) < 2**63 - 1)


def fits_decimal18(max_num: int, base: int, places: int) -> bool:
    """Whether `num / (base · 10^6)` rounded to `places` decimals, for `num` up to `max_num`, always fits
    DECIMAL(18, places) (a 64-bit decimal: cheaper to compute and to store than DECIMAL(38, places))."""
    return places < 18 and (max_num * 10**places) // (base * MICROS) + 1 < 10 ** (18 - places)


def sql_round_ratio(
    num: str,
    base: int | str,
    places: int,
    mode: Rounding,
    d: Dialect = DUCKDB,
    int_type: str | None = None,
    width: int = 38,
) -> str:
    """SQL: `num / (base · 10^6)` rounded to `places` decimals by `mode`, as DECIMAL(width, places)
    (`base` a number, or SQL giving one per row: a run of several tariffs).

    `int_type` is the integer type of the arithmetic: the dialect's 128-bit type unless the caller has
    proved (`fits_bigint`) that BIGINT holds every intermediate value; `width` is 38 unless the caller
    has proved (`fits_decimal18`) that 18 digits hold every result.
    """
    n, q = _scaled(num, base, places, int_type or d.int128)
    if mode is Rounding.HALF_UP:
        k = d.idiv(f"2 * {n} + {q}", f"2 * {q}")
    elif mode is Rounding.DOWN:
        k = d.idiv(n, q)
    elif mode is Rounding.UP:
        k = d.idiv(f"{n} + {q} - 1", q)
    else:  # half-even: up when the remainder is over half, or exactly half and the quotient is odd
        floor = d.idiv(n, q)
        rem = f"({n} - {floor} * {q})"
        up = f"2 * {rem} > {q} OR (2 * {rem} = {q} AND {floor} % 2 = 1)"
        k = f"({floor} + CASE WHEN {up} THEN 1 ELSE 0 END)"
    if width == 38:
        unit = f"CAST('{Decimal(1).scaleb(-places):f}' AS DECIMAL(38, {places}))" if places else "1"
        return f"CAST(CAST({k} AS DECIMAL(38, 0)) * {unit} AS DECIMAL(38, {places}))"
    # DECIMAL(w - p, 0) × DECIMAL(p, p) is DECIMAL(w, p): the product never widens to 128 bits.
    unit = f"CAST('{Decimal(1).scaleb(-places):f}' AS DECIMAL({places}, {places}))" if places else "1"
    return f"CAST(CAST({k} AS DECIMAL({width - places}, 0)) * {unit} AS DECIMAL({width}, {places}))"


def round_fraction(value: Fraction, places: int, mode: Rounding) -> Decimal:
    """An exact non-negative rational rounded to `places` decimals by `mode`."""
    if value < 0:
        raise ValueError("charges are never negative")
    scaled = value * 10**places
    floor = scaled.numerator // scaled.denominator
    rem = scaled - floor
    if mode is Rounding.DOWN:
        k = floor
    elif mode is Rounding.UP:
        k = floor + (1 if rem else 0)
    elif mode is Rounding.HALF_UP:
        k = floor + (1 if rem >= Fraction(1, 2) else 0)
    else:
        k = floor + (1 if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and floor % 2 == 1) else 0)
    return Decimal(k).scaleb(-places)


def micros(value: Decimal) -> int:
    """An amount with at most 6 decimals as integer millionths (refuses finer amounts)."""
    scaled = value.scaleb(PRICE_PLACES)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than {PRICE_PLACES} decimals")
    return int(scaled)
