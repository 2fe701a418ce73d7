"""The typed model of a settlement document, which every renderer (PDF, XLSX, JSON) draws from.

A `Document` is a number, a title, the parties with their legal data, sections of facts and tables, headline
totals per currency and the parties who sign. Invariants, checked on construction: every row has one cell per
column; an amount cell is a `Decimal` written with its currency's decimals (or more, where an agreement rounds
statement lines finer), so a renderer prints it as it is and no two renderers can round differently; a table's amounts have one currency (`Table.currency`) or name the
column that holds each row's currency. `canonical()` is the document as canonical JSON (sorted keys, no
whitespace, every number a string: RFC 8785 gives the same bytes), and `digest` its SHA-256: what a PDF embeds
and prints on every page, and what a reader checks the figures against.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from o2o.domain.currencies import MINOR_UNITS
from o2o.domain.errors import ValidationError


class DocumentKind(StrEnum):
    """The kinds of document; the value is the CLI's and the file name's spelling."""

    STATEMENT = "statement"
    INVOICE = "invoice"
    SETOFF_ACT = "setoff-act"
    ACCOUNT_ACT = "account-act"
    PAYMENTS = "payments"
    PERIOD_REPORT = "period-report"


class CellKind(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    AMOUNT = "amount"
    DATE = "date"
    DECIMAL = "decimal"


Cell = str | int | Decimal | date | None


@dataclass(frozen=True, slots=True)
class BankAccount:
    iban: str
    bic: str
    bank_name: str


@dataclass(frozen=True, slots=True)
class LegalParty:
    """A party as the document names it; the legal fields are None when the operator file has none."""

    operator: str
    role: str
    name: str
    legal_name: str | None = None
    address: str | None = None
    tax_id: str | None = None
    bank: BankAccount | None = None


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    title: str
    kind: CellKind
    currency_key: str | None = None  # AMOUNT: the column holding each row's currency, if not Table.currency


@dataclass(frozen=True, slots=True)
class Table:
    key: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    currency: str | None = None
    totals: tuple[tuple[Cell, ...], ...] = ()

    def __post_init__(self) -> None:
        keys = [c.key for c in self.columns]
        for c in self.columns:
            if c.kind is CellKind.AMOUNT and c.currency_key is None and self.currency is None:
                raise ValidationError(f"table {self.key}: amount column {c.key} has no currency")
            if c.currency_key is not None and c.currency_key not in keys:
                raise ValidationError(f"table {self.key}: column {c.key} names no column {c.currency_key}")
        for row in (*self.rows, *self.totals):
            if len(row) != len(self.columns):
                raise ValidationError(f"table {self.key}: a row of {len(row)} cells for {len(keys)} columns")
        # The store gives NUMERIC back at whatever scale it kept (0 for a zero): widen, never round.
        object.__setattr__(self, "rows", tuple(self._widened(r) for r in self.rows))
        object.__setattr__(self, "totals", tuple(self._widened(r) for r in self.totals))
        for row in (*self.rows, *self.totals):
            for col, cell in zip(self.columns, row, strict=True):
                _check_cell(self, col, cell, row)

    def _widened(self, row: tuple[Cell, ...]) -> tuple[Cell, ...]:
        out = list(row)
        for i, col in enumerate(self.columns):
            cell = row[i]
            if col.kind is CellKind.AMOUNT and isinstance(cell, Decimal):
                currency = self.currency_of(col, row)
                if currency is not None:
                    out[i] = widen(cell, currency)
        return tuple(out)

    def currency_of(self, column: Column, row: tuple[Cell, ...]) -> str | None:
        """The currency of an amount cell of `row` (None for a total row that leaves it blank)."""
        if column.currency_key is None:
            return self.currency
        value = row[[c.key for c in self.columns].index(column.currency_key)]
        return value if isinstance(value, str) else None

    def column(self, key: str) -> int:
        return [c.key for c in self.columns].index(key)


def _check_cell(table: Table, col: Column, cell: Cell, row: tuple[Cell, ...]) -> None:
    if cell is None:
        return
    expected: dict[CellKind, type | tuple[type, ...]] = {
        CellKind.TEXT: str, CellKind.INTEGER: int, CellKind.AMOUNT: Decimal,
        CellKind.DATE: date, CellKind.DECIMAL: Decimal,
    }  # fmt: skip
    if not isinstance(cell, expected[col.kind]) or (col.kind is CellKind.INTEGER and isinstance(cell, bool)):
        raise ValidationError(f"table {table.key}: column {col.key} holds {cell!r}, not {col.kind.value}")
    if col.kind is CellKind.AMOUNT:
        assert isinstance(cell, Decimal)
        currency = table.currency_of(col, row)
        if currency is not None and not at_minor_unit(cell, currency):
            raise ValidationError(
                f"table {table.key}: {col.key} {cell} is not at the {currency} minor unit"
                f" ({MINOR_UNITS[currency]} decimals)"
            )


@dataclass(frozen=True, slots=True)
class Fact:
    key: str
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Section:
    key: str
    title: str
    facts: tuple[Fact, ...] = ()
    tables: tuple[Table, ...] = ()


@dataclass(frozen=True, slots=True)
class Total:
    key: str
    label: str
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", widen(self.amount, self.currency))
        if not at_minor_unit(self.amount, self.currency):
            raise ValidationError(f"total {self.key}: {self.amount} is not at the {self.currency} minor unit")


@dataclass(frozen=True, slots=True)
class SignatureLine:
    operator: str
    role: str
    key_id: str | None = None
    signature: str | None = None


@dataclass(frozen=True, slots=True)
class ChartSeries:
    """One bar chart of the period report: labelled values in one currency."""

    key: str
    title: str
    currency: str
    labels: tuple[str, ...]
    values: tuple[Decimal, ...]


@dataclass(frozen=True, slots=True)
class Document:
    kind: DocumentKind
    number: str
    title: str
    issued: date
    period: str | None
    parties: tuple[LegalParty, ...]
    sections: tuple[Section, ...]
    totals: tuple[Total, ...] = ()
    signatures: tuple[SignatureLine, ...] = ()
    chart: tuple[ChartSeries, ...] = ()

    def tables(self) -> list[Table]:
        return [t for s in self.sections for t in s.tables]

    def table(self, key: str) -> Table:
        for t in self.tables():
            if t.key == key:
                return t
        raise KeyError(key)

    def to_json(self) -> dict[str, Any]:
        """The document as plain JSON data: every amount, decimal and date a string, exact."""
        return {
            "kind": self.kind.value,
            "number": self.number,
            "title": self.title,
            "issued": self.issued.isoformat(),
            "period": self.period,
            "parties": [_party(p) for p in self.parties],
            "sections": [_section(s) for s in self.sections],
            "totals": [
                {"key": t.key, "label": t.label, "amount": str(t.amount), "currency": t.currency}
                for t in self.totals
            ],
            "signatures": [
                {"operator": s.operator, "role": s.role, "key_id": s.key_id, "signature": s.signature}
                for s in self.signatures
            ],
            "chart": [
                {
                    "key": c.key,
                    "title": c.title,
                    "currency": c.currency,
                    "labels": list(c.labels),
                    "values": [str(v) for v in c.values],
                }
                for c in self.chart
            ],
        }

    def canonical(self) -> bytes:
        """Canonical JSON: sorted keys, no whitespace, UTF-8; no JSON numbers, so RFC 8785 gives these bytes."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()


def _cell(value: Cell) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _party(p: LegalParty) -> dict[str, Any]:
    bank = None if p.bank is None else {"iban": p.bank.iban, "bic": p.bank.bic, "bank_name": p.bank.bank_name}
    return {"operator": p.operator, "role": p.role, "name": p.name, "legal_name": p.legal_name,
            "address": p.address, "tax_id": p.tax_id, "bank": bank}  # fmt: skip


def _section(s: Section) -> dict[str, Any]:
    return {
        "key": s.key,
        "title": s.title,
        "facts": [{"key": f.key, "label": f.label, "value": f.value} for f in s.facts],
        "tables": [
            {
                "key": t.key,
                "title": t.title,
                "currency": t.currency,
                "columns": [
                    {"key": c.key, "title": c.title, "kind": c.kind.value, "currency_key": c.currency_key}
                    for c in t.columns
                ],
                "rows": [[_cell(v) for v in row] for row in t.rows],
                "totals": [[_cell(v) for v in row] for row in t.totals],
            }
            for t in s.tables
        ],
    }


def widen(amount: Decimal, currency: str) -> Decimal:
    """`amount` written with at least its currency's decimals (`5` EUR → `5.00`); never rounded."""
    exponent = amount.as_tuple().exponent
    places = MINOR_UNITS[currency]
    if isinstance(exponent, int) and exponent > -places:
        return amount.quantize(Decimal(1).scaleb(-places))
    return amount


def at_minor_unit(amount: Decimal, currency: str) -> bool:
    """Written with at least the currency's decimals (a statement line an agreement rounds to finer
    places keeps them; an amount with fewer decimals than its currency's is a bug upstream)."""
    exponent = amount.as_tuple().exponent
    return isinstance(exponent, int) and exponent <= -MINOR_UNITS[currency]


def minor(amount: Decimal, currency: str) -> Decimal:
    """`amount` at its currency's minor unit exactly (it must already be a whole number of minor units)."""
    places = MINOR_UNITS[currency]
    q = amount.quantize(Decimal(1).scaleb(-places))
    if q != amount:
        raise ValidationError(f"{amount} {currency} is not a whole number of minor units")
    return q


def money_text(amount: Decimal, currency: str) -> str:
    return f"{minor(amount, currency)} {currency}"
