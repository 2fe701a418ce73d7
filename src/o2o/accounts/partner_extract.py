"""A partner's ledger extract: CSV `date,document,description,debit,credit,currency` from their side.

Parsing returns the lines and every error with its line number (the header is line 1), instead of
stopping at the first bad row. Rules: dates ISO `YYYY-MM-DD` (or `DD.MM.YYYY`); exactly one of debit and
credit is a positive decimal (the other empty or zero); amounts are exact and within the currency's
minor unit; the currency is ISO 4217. Columns may come in any order; extra columns are ignored.
`extract_csv` writes that format (how `o2o accounts extract` gives a partner's side to reconcile with).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from o2o.domain.currencies import check_currency
from o2o.domain.errors import O2OError, ValidationError
from o2o.domain.money import D, from_minor, to_minor

COLUMNS = ("date", "document", "description", "debit", "credit", "currency")
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class ExtractLine:
    """One line of the partner's books: debit and credit are from the partner's side."""

    line: int
    day: date
    document: str
    description: str
    debit: Decimal
    credit: Decimal
    currency: str

    @property
    def signed_ours(self) -> Decimal:
        """The line's effect on *our* account with the partner (their credit is our debit)."""
        return self.credit - self.debit


@dataclass(frozen=True, slots=True)
class ExtractError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def parse_extract(text: str) -> tuple[list[ExtractLine], list[ExtractError]]:
    """Parse the extract's text; return the good lines and an error per bad line."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None:
        return [], [ExtractError(1, "the extract is empty; expected a header " + ",".join(COLUMNS))]
    names = [h.strip().lower() for h in header]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        return [], [ExtractError(1, f"missing column(s) {', '.join(missing)}; expected {','.join(COLUMNS)}")]
    index = {c: names.index(c) for c in COLUMNS}
    lines: list[ExtractLine] = []
    errors: list[ExtractError] = []
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(names):
            errors.append(ExtractError(number, f"{len(row)} fields, expected {len(names)}"))
            continue
        try:
            lines.append(_line(number, {c: row[i].strip() for c, i in index.items()}))
        except O2OError as exc:
            errors.append(ExtractError(number, str(exc)))
    return lines, errors


def _line(number: int, cells: dict[str, str]) -> ExtractLine:
    currency = cells["currency"].upper()
    if not currency:
        raise ValidationError("currency is empty")
    check_currency(currency)
    debit = _amount("debit", cells["debit"], currency)
    credit = _amount("credit", cells["credit"], currency)
    if (debit == 0) == (credit == 0):
        raise ValidationError("exactly one of debit and credit must be a positive amount")
    if not cells["document"]:
        raise ValidationError("document is empty")
    return ExtractLine(
        number, parse_date(cells["date"]), cells["document"], cells["description"], debit, credit, currency
    )


def _amount(name: str, text: str, currency: str) -> Decimal:
    if not text:
        return ZERO
    try:
        value = D(text.replace(" ", "").replace("\u00a0", ""))
    except O2OError:
        raise ValidationError(f"{name} {text!r} is not a decimal number") from None
    if value < 0:
        raise ValidationError(f"{name} {text!r} is negative; put it in the other column")
    try:
        to_minor(value, currency)
    except O2OError:
        raise ValidationError(f"{name} {text!r} has more decimals than {currency} allows") from None
    return value


def parse_date(text: str) -> date:
    """A calendar date written `YYYY-MM-DD` or `DD.MM.YYYY`."""
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date, no time zone
        except ValueError:
            continue
    raise ValidationError(f"date {text!r} is not YYYY-MM-DD")


def extract_errors_message(source: str, errors: list[ExtractError], limit: int = 10) -> str:
    """One message naming the extract and its first errors by line."""
    shown = "; ".join(str(e) for e in errors[:limit])
    more = f"; and {len(errors) - limit} more" if len(errors) > limit else ""
    return f"{source}: {len(errors)} bad line(s): {shown}{more}"


def extract_csv(lines: Iterable[ExtractLine]) -> str:
    """The extract as `parse_extract` reads it: the header, then one line per entry in the given order
    (debit or credit, the other left empty; amounts to the currency's minor unit)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for x in lines:
        debit, credit = (
            from_minor(to_minor(v, x.currency), x.currency) if v else "" for v in (x.debit, x.credit)
        )
        writer.writerow([x.day.isoformat(), x.document, x.description, debit, credit, x.currency])
    return out.getvalue()
