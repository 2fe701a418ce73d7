"""Aggregate comparison of two rated declarations per service, destination and day.

Input lines are what the rating engine writes to `summary.parquet` (service, destination, day, events,
billed_quantity, amount) or an aggregate-only declaration (`quantity` for billed_quantity, amount
optional). Invariants: amounts stay `Decimal`; a key present on one side only compares against zeros;
lines with the same key on one side are summed first; output is sorted by (service, destination, day).
Differences are signed provider − customer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from o2o.domain.errors import ImportRefusedError
from o2o.domain.money import ZERO

Key = tuple[str, str, date]


@dataclass(frozen=True, slots=True)
class SummaryLine:
    """One rated line: events, billed quantity and amount of a service's destination on a day."""

    service: str
    destination: str
    day: date
    events: int
    billed_quantity: int
    amount: Decimal | None = None

    @property
    def key(self) -> Key:
        return (self.service, self.destination, self.day)


@dataclass(frozen=True, slots=True)
class Figures:
    """Events, billed quantity and amount of one side (amount None when the side declared none)."""

    events: int = 0
    billed_quantity: int = 0
    amount: Decimal | None = None

    def plus(self, line: SummaryLine) -> Figures:
        amount = self.amount
        if line.amount is not None:
            amount = (amount or ZERO) + line.amount
        return Figures(self.events + line.events, self.billed_quantity + line.billed_quantity, amount)


@dataclass(frozen=True, slots=True)
class ComparisonLine:
    """Both sides' figures for one (service, destination, day)."""

    service: str
    destination: str
    day: date
    provider: Figures
    customer: Figures

    @property
    def events_difference(self) -> int:
        return self.provider.events - self.customer.events

    @property
    def quantity_difference(self) -> int:
        return self.provider.billed_quantity - self.customer.billed_quantity

    @property
    def amount_difference(self) -> Decimal:
        return (self.provider.amount or ZERO) - (self.customer.amount or ZERO)


@dataclass(frozen=True, slots=True)
class DayComparison:
    """Both sides' amounts of one day, over every service and destination compared."""

    day: date
    provider_amount: Decimal
    customer_amount: Decimal

    @property
    def difference(self) -> Decimal:
        return self.provider_amount - self.customer_amount


def _sum_by_key(lines: Iterable[SummaryLine]) -> dict[Key, Figures]:
    sums: dict[Key, Figures] = {}
    for line in lines:
        sums[line.key] = sums.get(line.key, Figures()).plus(line)
    return sums


def compare_summaries(
    provider: Iterable[SummaryLine], customer: Iterable[SummaryLine]
) -> list[ComparisonLine]:
    """Per (service, destination, day), the provider's and the customer's figures side by side."""
    ours, theirs = _sum_by_key(provider), _sum_by_key(customer)
    return [
        ComparisonLine(key[0], key[1], key[2], ours.get(key, Figures()), theirs.get(key, Figures()))
        for key in sorted(ours.keys() | theirs.keys())
    ]


def compare_by_day(lines: Iterable[ComparisonLine]) -> list[DayComparison]:
    """The comparison lines summed per day (amounts a side did not declare count as zero)."""
    days: dict[date, tuple[Decimal, Decimal]] = {}
    for line in lines:
        p, c = days.get(line.day, (ZERO, ZERO))
        days[line.day] = (p + (line.provider.amount or ZERO), c + (line.customer.amount or ZERO))
    return [DayComparison(day, p, c) for day, (p, c) in sorted(days.items())]


def total_amounts(lines: Iterable[ComparisonLine]) -> tuple[Decimal, Decimal]:
    """The provider's and the customer's total amounts."""
    p = c = ZERO
    for line in lines:
        p += line.provider.amount or ZERO
        c += line.customer.amount or ZERO
    return p, c


def read_summary(path: Path, connection: Any = None) -> list[SummaryLine]:
    """The lines of a rated `summary.parquet` or of an aggregate declaration (Parquet or CSV); read on a
    cursor of `connection` when given (a new database costs ~20 ms of CPU, the file a fraction of it)."""
    if not Path(path).exists():
        raise ImportRefusedError(f"{path}: no such file")
    # A folder is a Parquet dataset (the Spark engine writes its summary as one): its parts.
    shown = f"{path}/*.parquet" if Path(path).is_dir() else str(path)
    literal = "'" + shown.replace("'", "''") + "'"
    source = ("read_parquet" if shown.lower().endswith((".parquet", ".pq")) else "read_csv") + f"({literal})"
    con = duckdb.connect() if connection is None else connection.cursor()
    try:
        try:  # A rated summary has every column: one query (its columns looked up cost as much again).
            rows = con.execute(
                _summary_query(source, "billed_quantity", "CAST(amount AS VARCHAR)")
            ).fetchall()
        except duckdb.BinderException:  # an aggregate declaration's, or columns missing: which are there
            columns = {str(r[0]).lower() for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
            quantity = "billed_quantity" if "billed_quantity" in columns else "quantity"
            missing = {"service", "destination", "day", "events", quantity} - columns
            if missing:
                raise ImportRefusedError(f"{path}: missing column(s) {', '.join(sorted(missing))}") from None
            amount = "CAST(amount AS VARCHAR)" if "amount" in columns else "NULL"
            rows = con.execute(_summary_query(source, quantity, amount)).fetchall()
    finally:
        con.close()
    return [
        SummaryLine(s, d, day, int(e), int(q), None if a is None else Decimal(a))
        for s, d, day, e, q, a in rows
    ]


def _summary_query(source: str, quantity: str, amount: str) -> str:
    return f"""SELECT CAST(service AS VARCHAR), CAST(destination AS VARCHAR), CAST(day AS DATE),
                      CAST(events AS BIGINT), CAST({quantity} AS BIGINT), {amount}
               FROM {source}"""
