"""Use cases that read the mutual-settlement books: balances, statements of account, reconciliation of
our books with a partner's extract (and the extract of ours a partner reconciles with), and ageing.
Read-only: each opens a unit of work and never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Final

from o2o.accounts.ageing import BUCKETS, AgeingRow, age_books
from o2o.accounts.balances import Balance
from o2o.accounts.book_reconciliation import (
    CurrencyReconciliation,
    our_lines,
    reconcile_books,
    their_lines,
)
from o2o.accounts.journal import Account
from o2o.accounts.partner_extract import ExtractLine, extract_csv, extract_errors_message, parse_extract
from o2o.accounts.statement import StatementOfAccount, side_amounts, statement_dict, statement_of_account
from o2o.accounts.statement_files import write_statement_csv, write_statement_xlsx
from o2o.bootstrap import Workspace
from o2o.domain.errors import ValidationError
from o2o.domain.money import ZERO
from o2o.services.accounts import books, today

# The ageing report's columns of days past due, oldest last.
AGEING_BUCKETS: Final = BUCKETS


def statement(
    ws: Workspace, party_a: str, party_b: str, date_from: date, date_to: date
) -> StatementOfAccount:
    """The statement of account of A and B over [date_from, date_to], per currency, from A's side first."""
    with ws.uow() as uow:
        repo = books(uow)
        opening = repo.opening_between(party_a, party_b, date_from)
        lines = repo.between(party_a, party_b, date_from, date_to)
        if not opening and not lines:  # books with both parties exist only if both parties do
            uow.operators.get(party_a)
            uow.operators.get(party_b)
    return statement_of_account(party_a, party_b, date_from, date_to, opening, lines)


def balances(ws: Workspace, operator: str | None = None, as_of: date | None = None) -> list[Balance]:
    """Every account's balance as of `as_of` (one operator's accounts if named), zero balances included."""
    when = as_of or today()
    with ws.uow() as uow:
        if operator is not None:
            uow.operators.get(operator)
        found = books(uow).all_balances(when, operator)
    return [Balance(acc, amount, when) for acc, amount in found.items()]


def balance(ws: Workspace, account: Account, as_of: date | None = None) -> Balance:
    when = as_of or today()
    with ws.uow() as uow:
        uow.operators.get(account.owner)
        uow.operators.get(account.counterparty)
        return Balance(account, books(uow).balance(account, when), when)


@dataclass(frozen=True, slots=True)
class BookReconciliation:
    """Our books (`operator`) against `counterparty`'s extract as of `as_of`, per currency."""

    operator: str
    counterparty: str
    as_of: date
    tolerance_days: int
    source: str
    currencies: tuple[CurrencyReconciliation, ...]

    @property
    def agreed(self) -> bool:
        return all(c.gap == 0 and not c.differences for c in self.currencies)


def reconcile_with_extract(
    ws: Workspace,
    operator: str,
    counterparty: str,
    extract: Path,
    as_of: date,
    tolerance_days: int = 5,
) -> BookReconciliation:
    """Match `counterparty`'s ledger extract against `operator`'s books and explain the balance gap."""
    if tolerance_days < 0:
        raise ValidationError(f"--tolerance-days {tolerance_days} must not be negative")
    if not extract.is_file():
        raise ValidationError(f"{extract}: no such file")
    try:
        text = extract.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValidationError(f"{extract}: not UTF-8 text") from None
    lines, errors = parse_extract(text)
    if errors:
        raise ValidationError(extract_errors_message(str(extract), errors))
    with ws.uow() as uow:
        uow.operators.get(operator)
        uow.operators.get(counterparty)
        if operator == counterparty:
            raise ValidationError(f"{operator} cannot reconcile books with itself")
        transfers = books(uow).between(operator, counterparty)
    ours = our_lines(transfers, operator, as_of)
    result = reconcile_books(ours, their_lines(lines), as_of, tolerance_days)
    return BookReconciliation(operator, counterparty, as_of, tolerance_days, extract.name, tuple(result))


def ageing(ws: Workspace, as_of: date | None = None, operator: str | None = None) -> list[AgeingRow]:
    """Open balances per creditor, debtor and currency by days past due (one operator's if named)."""
    when = as_of or today()
    with ws.uow() as uow:
        if operator is not None:
            uow.operators.get(operator)
        transfers = books(uow).up_to(when, operator)
    return age_books(transfers, when)


def partner_extract(ws: Workspace, operator: str, counterparty: str, as_of: date | None = None) -> str:
    """`operator`'s books with `counterparty` up to `as_of`, as the CSV extract that `counterparty` reads
    with `reconcile_with_extract`: one line per transfer from `operator`'s side (what the counterparty
    owes it is a debit), a transfer and its reversal both on or before `as_of` left out."""
    when = as_of or today()
    with ws.uow() as uow:
        uow.operators.get(operator)
        uow.operators.get(counterparty)
        if operator == counterparty:
            raise ValidationError(f"{operator} has no books with itself")
        transfers = books(uow).between(operator, counterparty)
    lines = [x for x in our_lines(transfers, operator, when) if x.day <= when and x.amount != 0]
    return extract_csv(  # in the books' value-date order; line numbers as the reader counts them
        ExtractLine(
            n, x.day, x.document, x.description, max(x.amount, ZERO), max(-x.amount, ZERO), x.currency
        )
        for n, x in enumerate(lines, start=2)
    )


def statement_document(st: StatementOfAccount) -> dict[str, object]:
    """A statement of account as plain data with both parties' columns (what `--json` prints)."""
    return statement_dict(st)


def write_statement(st: StatementOfAccount, csv_file: Path | None, xlsx_file: Path | None) -> None:
    """Write a statement of account as CSV and/or XLSX (each file when it is named)."""
    if csv_file is not None:
        write_statement_csv(st, csv_file)
    if xlsx_file is not None:
        write_statement_xlsx(st, xlsx_file)


def debit_credit(signed: Decimal) -> tuple[Decimal, Decimal]:
    """The (debit, credit) columns of a signed balance, as a statement of account shows it."""
    return side_amounts(signed)
