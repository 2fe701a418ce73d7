"""A file of opening balances to carry into the books: CSV `creditor,debtor,amount,currency,date`
with optional `due_date` and `document` columns.

Every row says that `debtor` owes `creditor` `amount` in `currency` as of `date`. The whole file is
checked first and refused with every bad line listed (the header is line 1), so a file books all or
nothing. One row per pair and currency.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from o2o.accounts.journal import pair_key
from o2o.accounts.partner_extract import ExtractError, extract_errors_message, parse_date
from o2o.domain.currencies import check_currency
from o2o.domain.errors import O2OError, ValidationError
from o2o.domain.money import D, to_minor

REQUIRED = ("creditor", "debtor", "amount", "currency", "date")


@dataclass(frozen=True, slots=True)
class OpeningBalance:
    line: int
    creditor: str
    debtor: str
    amount: Decimal
    currency: str
    day: date
    due_date: date | None
    document: str


def parse_opening_balances(text: str, source: str) -> list[OpeningBalance]:
    """The file's rows, or a ValidationError naming every bad line."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    names = [n.strip().lower() for n in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise ValidationError(f"{source}: line 1: missing column(s) {', '.join(missing)}")
    rows: list[OpeningBalance] = []
    errors: list[ExtractError] = []
    seen: dict[tuple[str, str], int] = {}
    for number, raw in enumerate(reader, start=2):
        cells = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        if not any(cells.values()):
            continue
        try:
            row = _row(number, cells)
        except O2OError as exc:
            errors.append(ExtractError(number, str(exc)))
            continue
        where = (pair_key(row.creditor, row.debtor), row.currency)
        if where in seen:
            errors.append(ExtractError(number, f"a second opening balance for the pair (line {seen[where]})"))
            continue
        seen[where] = number
        rows.append(row)
    if errors:
        raise ValidationError(extract_errors_message(source, errors))
    return rows


def _row(number: int, cells: dict[str, str]) -> OpeningBalance:
    creditor, debtor = cells["creditor"], cells["debtor"]
    if not creditor or not debtor or creditor == debtor:
        raise ValidationError("creditor and debtor must be two different operators")
    currency = check_currency(cells["currency"].upper())
    try:
        amount = D(cells["amount"])
    except O2OError:
        raise ValidationError(f"amount {cells['amount']!r} is not a decimal number") from None
    if amount <= 0:
        raise ValidationError(f"amount {cells['amount']!r} must be positive (swap creditor and debtor)")
    to_minor(amount, currency)
    due = cells.get("due_date", "")
    return OpeningBalance(
        number,
        creditor,
        debtor,
        amount,
        currency,
        parse_date(cells["date"]),
        parse_date(due) if due else None,
        cells.get("document", ""),
    )
