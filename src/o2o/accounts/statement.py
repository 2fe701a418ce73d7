"""The statement of account (акт сверки взаиморасчётов) of two operators over a date range.

Per currency: the opening balance, every transfer in value-date order (then journal id) with its debit
and credit from each party's side, the turnover and the closing balance. Invariants, per currency:
closing == opening + debit turnover - credit turnover (party A's side), and party B's columns are
party A's swapped (A's debit is B's credit), so B's balances are A's negated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from o2o.accounts.balances import Side
from o2o.accounts.journal import Transfer, TransferKind
from o2o.domain.errors import ValidationError
from o2o.domain.money import from_minor


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One document on the statement, amounts from party A's side (B's side is the mirror)."""

    value_date: date
    transfer_id: int
    kind: TransferKind
    document: str
    description: str
    debit: Decimal  # A's debit = B's credit
    credit: Decimal  # A's credit = B's debit


@dataclass(frozen=True, slots=True)
class CurrencySection:
    """The statement in one currency; balances signed from party A's side (+ B owes A)."""

    currency: str
    opening: Decimal
    lines: tuple[StatementLine, ...]
    debit_turnover: Decimal
    credit_turnover: Decimal
    closing: Decimal

    @property
    def closing_side(self) -> Side:
        return Side.DEBIT if self.closing > 0 else Side.CREDIT if self.closing < 0 else Side.NIL


@dataclass(frozen=True, slots=True)
class StatementOfAccount:
    party_a: str
    party_b: str
    date_from: date
    date_to: date
    sections: tuple[CurrencySection, ...]


def statement_of_account(
    party_a: str,
    party_b: str,
    date_from: date,
    date_to: date,
    opening: Mapping[str, Decimal],
    transfers: Iterable[Transfer],
) -> StatementOfAccount:
    """Build the statement from the opening balances (A's side, per currency) and the range's transfers.

    `transfers` are those between A and B with value dates in [date_from, date_to]; others are refused.
    A currency appears when it has an opening balance or a transfer in the range.
    """
    if party_a == party_b:
        raise ValidationError(f"a statement of account needs two parties, got {party_a} twice")
    if date_from > date_to:
        raise ValidationError(f"--from {date_from} is after --to {date_to}")
    lines: dict[str, list[StatementLine]] = {cur: [] for cur in opening}
    zeros: dict[str, Decimal] = {}
    pair = {party_a, party_b}
    for t in transfers:
        if t.debit_party not in pair or t.credit_party not in pair:
            raise ValidationError(f"transfer {t.id} is not between {party_a} and {party_b}")
        if not date_from <= t.value_date <= date_to:
            raise ValidationError(f"transfer {t.id} dated {t.value_date} is outside the statement's range")
        zero = zeros.get(t.currency)
        if zero is None:
            zero = zeros[t.currency] = from_minor(0, t.currency)
        a_debits = t.debit_party == party_a
        lines.setdefault(t.currency, []).append(
            StatementLine(
                value_date=t.value_date,
                transfer_id=t.id,
                kind=t.kind,
                document=t.document,
                description=t.description,
                debit=t.amount if a_debits else zero,
                credit=zero if a_debits else t.amount,
            )
        )
    sections = []
    for cur in sorted(lines):
        ordered = tuple(sorted(lines[cur], key=lambda ln: (ln.value_date, ln.transfer_id)))
        zero = from_minor(0, cur)
        start = opening.get(cur, zero)
        debit = sum((ln.debit for ln in ordered), zero)
        credit = sum((ln.credit for ln in ordered), zero)
        sections.append(CurrencySection(cur, start, ordered, debit, credit, start + debit - credit))
    return StatementOfAccount(party_a, party_b, date_from, date_to, tuple(sections))


def side_amounts(signed: Decimal) -> tuple[Decimal, Decimal]:
    """(debit, credit) columns of a signed balance (the empty column is zero at the same scale)."""
    zero = signed - signed
    return (signed, zero) if signed > 0 else (zero, -signed)


def statement_dict(st: StatementOfAccount) -> dict[str, object]:
    """The statement as plain data with both parties' columns (for JSON, CSV and XLSX)."""
    a, b = st.party_a, st.party_b
    sections = []
    for sec in st.sections:
        open_d, open_c = side_amounts(sec.opening)
        close_d, close_c = side_amounts(sec.closing)
        sections.append(
            {
                "currency": sec.currency,
                "opening": {a: {"debit": open_d, "credit": open_c}, b: {"debit": open_c, "credit": open_d}},
                "lines": [
                    {
                        "date": ln.value_date,
                        "transfer_id": ln.transfer_id,
                        "kind": ln.kind.value,
                        "document": ln.document,
                        "description": ln.description,
                        a: {"debit": ln.debit, "credit": ln.credit},
                        b: {"debit": ln.credit, "credit": ln.debit},
                    }
                    for ln in sec.lines
                ],
                "turnover": {
                    a: {"debit": sec.debit_turnover, "credit": sec.credit_turnover},
                    b: {"debit": sec.credit_turnover, "credit": sec.debit_turnover},
                },
                "closing": {
                    a: {"debit": close_d, "credit": close_c},
                    b: {"debit": close_c, "credit": close_d},
                },
                "closing_balance": _closing_words(a, b, sec),
            }
        )
    return {"party_a": a, "party_b": b, "from": st.date_from, "to": st.date_to, "sections": sections}


def _closing_words(a: str, b: str, sec: CurrencySection) -> str:
    if sec.closing > 0:
        return f"{b} owes {a} {sec.closing} {sec.currency}"
    if sec.closing < 0:
        return f"{a} owes {b} {-sec.closing} {sec.currency}"
    return f"settled: no balance in {sec.currency}"
