"""Reading a netting round from plain files: obligations CSV and a dated FX rate table CSV.

Obligations: header `id,debtor,creditor,amount,currency[,due_date]` (ISO dates). Rates: header
`date,from,to,rate` meaning `1 from = rate to` on that date. Invariants: a file is read whole or refused
whole; every bad row is reported with its line number (the header is line 1), all of them in one error;
amounts are exact decimals in the currency's minor unit; no floats anywhere.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from o2o.domain.currencies import check_currency
from o2o.domain.errors import O2OError, ValidationError
from o2o.domain.money import D, to_minor
from o2o.domain.obligations import Obligation
from o2o.netting.fx import RateTable
from o2o.netting.results import FxRate

OBLIGATION_COLUMNS = ("id", "debtor", "creditor", "amount", "currency")
OPTIONAL_OBLIGATION_COLUMNS = ("due_date",)
RATE_COLUMNS = ("date", "from", "to", "rate")
_SHOWN_ERRORS = 5

T = TypeVar("T")


Row = dict[str, str]


def _rows(
    path: Path, required: tuple[str, ...], optional: tuple[str, ...]
) -> Iterator[tuple[int, Row | None]]:
    """(line number, row) for each data row after checking the header; None for a row with too many fields."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ValidationError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise ValidationError(f"{path.name}: not UTF-8 text") from None
    reader = csv.reader(text.splitlines())
    header = [h.strip().lower() for h in next(reader, [])]
    if not header:
        raise ValidationError(f"{path.name}: empty file (expected a header {','.join(required)})")
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in required and c not in optional]
    if missing or unknown:
        parts = [f"missing column(s) {', '.join(missing)}"] if missing else []
        parts += [f"unknown column(s) {', '.join(unknown)}"] if unknown else []
        raise ValidationError(f"{path.name} line 1: {'; '.join(parts)} (expected {','.join(required)})")
    for fields in reader:
        if not any(f.strip() for f in fields):
            continue
        if len(fields) > len(header):
            yield reader.line_num, None
            continue
        yield reader.line_num, {col: value.strip() for col, value in zip(header, fields, strict=False)}


def _collect(path: Path, rows: Iterator[tuple[int, Row | None]], parse: Callable[[int, Row], T]) -> list[T]:
    """Parse every row; raise one error listing the bad rows by line (the first few, then a count)."""
    parsed: list[T] = []
    errors: list[str] = []
    for line, row in rows:
        try:
            if row is None:
                raise ValidationError("more fields than the header has")
            parsed.append(parse(line, row))
        except O2OError as exc:
            errors.append(f"line {line}: {exc}")
    if errors:
        more = f"; … and {len(errors) - _SHOWN_ERRORS} more" if len(errors) > _SHOWN_ERRORS else ""
        raise ValidationError(
            f"{path.name}: {len(errors)} bad row(s): {'; '.join(errors[:_SHOWN_ERRORS])}{more}"
        )
    return parsed


def _required(row: Row, column: str) -> str:
    value = row.get(column, "")
    if not value:
        raise ValidationError(f"empty {column}")
    return value


def _iso_date(text: str, column: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{column} {text!r} is not a date (YYYY-MM-DD)") from None


def _obligation(row: Row) -> Obligation:
    ident = _required(row, "id")
    debtor = _required(row, "debtor")
    creditor = _required(row, "creditor")
    currency = check_currency(_required(row, "currency").upper())
    amount = D(_required(row, "amount"))
    if amount < 0:
        raise ValidationError(f"negative amount {amount}")
    if debtor == creditor:
        raise ValidationError(f"self-debt: debtor and creditor are both {debtor}")
    to_minor(amount, currency)  # refuses amounts finer than the minor unit
    due = row.get("due_date", "")
    return Obligation(
        id=ident,
        debtor=debtor,
        creditor=creditor,
        amount=amount,
        currency=currency,
        due_date=_iso_date(due, "due_date") if due else None,
    )


def read_obligations_csv(path: Path) -> list[Obligation]:
    """The obligations of a CSV file, or one error naming every bad row's line."""
    first_line: dict[str, int] = {}

    def parse(line: int, row: Row) -> Obligation:
        item = _obligation(row)
        if item.id in first_line:
            raise ValidationError(f"id {item.id!r} already on line {first_line[item.id]}")
        first_line[item.id] = line
        return item

    items = _collect(path, _rows(path, OBLIGATION_COLUMNS, OPTIONAL_OBLIGATION_COLUMNS), parse)
    if not items:
        raise ValidationError(f"{path.name}: no obligations")
    return items


def _rate(line: int, row: Row) -> tuple[date, FxRate]:
    on = _iso_date(_required(row, "date"), "date")
    source = check_currency(_required(row, "from").upper())
    target = check_currency(_required(row, "to").upper())
    rate: Decimal = D(_required(row, "rate"))
    if rate <= 0:
        raise ValidationError(f"rate {rate} is not positive")
    if source == target:
        raise ValidationError(f"rate from {source} to itself")
    return on, FxRate(source, target, rate)


def read_rate_table_csv(path: Path, on: date | None = None) -> RateTable:
    """The rates of date `on` (default: the latest date in the file) as a `RateTable`."""
    dated = _collect(path, _rows(path, RATE_COLUMNS, ()), _rate)
    if not dated:
        raise ValidationError(f"{path.name}: no rates")
    chosen = on or max(d for d, _ in dated)
    rates = tuple(rate for d, rate in dated if d == chosen)
    if not rates:
        raise ValidationError(f"{path.name}: no rates dated {chosen.isoformat()}")
    return RateTable(chosen, rates)
