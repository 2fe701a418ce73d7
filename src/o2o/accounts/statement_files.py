"""The statement of account as a file: CSV or XLSX, one table per currency with both parties' columns.

Rows: the opening balance, each document in date order, the turnover and the closing balance; each with
party A's debit and credit, then party B's (A's debit is B's credit). Amounts are written exactly: as
decimal text in CSV, and in XLSX as text cells too (a spreadsheet float would not be exact).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from o2o.accounts.statement import CurrencySection, StatementOfAccount, side_amounts


def statement_rows(st: StatementOfAccount) -> Iterator[list[str]]:
    """Header, then for each currency its opening, lines, turnover and closing rows."""
    a, b = st.party_a, st.party_b
    yield [
        "currency",
        "date",
        "document",
        "kind",
        "description",
        f"{a} debit",
        f"{a} credit",
        f"{b} debit",
        f"{b} credit",
    ]
    for sec in st.sections:
        yield from _section_rows(st, sec)


def _section_rows(st: StatementOfAccount, sec: CurrencySection) -> Iterator[list[str]]:
    cur = sec.currency
    od, oc = side_amounts(sec.opening)
    yield [
        cur,
        st.date_from.isoformat(),
        "",
        "opening",
        "opening balance",
        str(od),
        str(oc),
        str(oc),
        str(od),
    ]
    for ln in sec.lines:
        yield [
            cur,
            ln.value_date.isoformat(),
            ln.document,
            ln.kind.value,
            ln.description,
            str(ln.debit),
            str(ln.credit),
            str(ln.credit),
            str(ln.debit),
        ]
    td, tc = sec.debit_turnover, sec.credit_turnover
    yield [cur, "", "", "turnover", "turnover for the period", str(td), str(tc), str(tc), str(td)]
    cd, cc = side_amounts(sec.closing)
    yield [cur, st.date_to.isoformat(), "", "closing", "closing balance", str(cd), str(cc), str(cc), str(cd)]


def write_statement_csv(st: StatementOfAccount, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerows(statement_rows(st))


def write_statement_xlsx(st: StatementOfAccount, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Statement of account"
    ws.append([f"Statement of account between {st.party_a} and {st.party_b}"])
    ws.append([f"from {st.date_from.isoformat()} to {st.date_to.isoformat()}"])
    ws.append([])
    for i, row in enumerate(statement_rows(st)):
        ws.append(row)
        if i == 0 or row[3] in ("opening", "turnover", "closing"):
            for cell in ws[ws.max_row]:
                cell.font = Font(bold=True)
    ws["A1"].font = Font(bold=True, size=13)
    for column, width in zip("ABCDEFGHI", (9, 12, 22, 11, 44, 14, 14, 14, 14), strict=True):
        ws.column_dimensions[column].width = width
    wb.save(path)
