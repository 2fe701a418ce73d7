"""A `Document` as an XLSX workbook (openpyxl) that a finance team reopens and sums.

One sheet per section. A section's first row is its table's header (frozen, bold); its rows follow, then the
table's total rows (bold); a second table of the section follows after a blank row, and the section's facts
after the tables. A section without tables lists its facts under an `Item | Value` header. A first sheet
`Document` names the document: number, title, digest, period, parties with their legal data, headline totals.
Amounts are numbers (the exact Decimal, never a float's approximation of it) formatted with their currency's
decimals; dates are dates.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from o2o.documents.model import Cell, CellKind, Document, Section, Table

_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=13)
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def number_format(value: Decimal) -> str:
    """`#,##0.00` for an amount with two decimals; as many decimals as the value is written with."""
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return "#,##0" + ("." + "0" * places if places else "")


def write_xlsx(doc: Document, path: Path) -> Path:
    wb = Workbook()
    first = wb.active
    assert first is not None
    first.title = "Document"
    _cover(first, doc)
    names = {"Document"}
    for section in doc.sections:
        ws = wb.create_sheet(_sheet_name(section.title or section.key, names))
        if section.tables:
            _tables(ws, section)
        else:
            _facts_sheet(ws, section)
    wb.save(path)
    return path


def _sheet_name(title: str, taken: set[str]) -> str:
    base = _BAD_SHEET_CHARS.sub(" ", title).strip()[:31] or "Sheet"
    name, n = base, 2
    while name in taken:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(name)
    return name


def _cover(ws: Any, doc: Document) -> None:
    ws.append(["Item", "Value"])
    for cell in ws[1]:
        cell.font = _BOLD
    ws.freeze_panes = "A2"
    rows: list[tuple[str, Any]] = [
        ("Title", doc.title),
        ("Number", doc.number),
        ("Issued", doc.issued),
        ("Period", doc.period or ""),
        ("Digest (SHA-256 of the canonical JSON)", doc.digest),
    ]
    for p in doc.parties:
        bank = p.bank
        rows += [
            (f"{p.role}: {p.operator}", p.name),
            ("  legal name", p.legal_name or "—"),
            ("  address", p.address or "—"),
            ("  tax id", p.tax_id or "—"),
            ("  IBAN", bank.iban if bank else "—"),
            ("  BIC", bank.bic if bank else "—"),
            ("  bank", bank.bank_name if bank else "—"),
        ]
    for label, value in rows:
        ws.append([label, value])
        if isinstance(value, date):
            ws.cell(ws.max_row, 2).number_format = "yyyy-mm-dd"
    for t in doc.totals:
        ws.append([f"{t.label} ({t.currency})", t.amount])
        cell = ws.cell(ws.max_row, 2)
        cell.number_format = number_format(t.amount)
        ws.cell(ws.max_row, 1).font = _BOLD
    for s in doc.signatures:
        ws.append([f"signature: {s.role}", s.operator + (f" (key {s.key_id})" if s.key_id else "")])
    ws.column_dimensions["A"].width = 44
    ws.column_dimensions["B"].width = 70


def _facts_sheet(ws: Any, section: Section) -> None:
    ws.append(["Item", "Value"])
    for cell in ws[1]:
        cell.font = _BOLD
    ws.freeze_panes = "A2"
    for f in section.facts:
        ws.append([f.label, f.value])
    ws.column_dimensions["A"].width = 60
    ws.column_dimensions["B"].width = 60


def _tables(ws: Any, section: Section) -> None:
    for i, table in enumerate(section.tables):
        if i:
            ws.append([])
            ws.append([table.title])
            ws.cell(ws.max_row, 1).font = _TITLE
        _table(ws, table, header_row=ws.max_row + 1 if i else 1)
        if i == 0:
            ws.freeze_panes = "A2"
    if section.facts:
        ws.append([])
        for f in section.facts:
            ws.append([f.label, f.value])


def _table(ws: Any, table: Table, header_row: int) -> None:
    ws.append([c.title for c in table.columns])
    for cell in ws[header_row]:
        cell.font = _BOLD
    widths = [max(10, len(c.title) + 2) for c in table.columns]
    for rows, bold in ((table.rows, False), (table.totals, True)):
        for row in rows:
            ws.append([_value(v) for v in row])
            r = ws.max_row
            for j, (col, value) in enumerate(zip(table.columns, row, strict=True), start=1):
                cell = ws.cell(r, j)
                if bold:
                    cell.font = _BOLD
                if isinstance(value, Decimal) and col.kind in (CellKind.AMOUNT, CellKind.DECIMAL):
                    cell.number_format = number_format(value)
                elif isinstance(value, date):
                    cell.number_format = "yyyy-mm-dd"
                if value is not None:
                    widths[j - 1] = min(60, max(widths[j - 1], len(str(value)) + 2))
    for j, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = width


def _value(v: Cell) -> Any:
    # openpyxl writes a Decimal as a number with all its digits (no float conversion).
    return v
