"""Balances of mutual-settlement accounts as of a date, computed from the journal's transfers.

A balance is signed from the owner's side: positive is a debit balance (the counterparty owes the
owner), negative a credit balance (the owner owes the counterparty). Balances count transfers whose
value date is on or before the date asked for; the sum is exact (Decimal, no rounding anywhere).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from o2o.accounts.journal import Account, Transfer

ZERO = Decimal(0)


class Side(StrEnum):
    DEBIT = "debit"  # receivable: the counterparty owes the owner
    CREDIT = "credit"  # payable: the owner owes the counterparty
    NIL = "nil"


@dataclass(frozen=True, slots=True)
class Balance:
    """The signed balance of `account` (owner's side) as of `as_of` (None: all transfers)."""

    account: Account
    amount: Decimal
    as_of: date | None = None

    @property
    def side(self) -> Side:
        if self.amount > 0:
            return Side.DEBIT
        if self.amount < 0:
            return Side.CREDIT
        return Side.NIL

    @property
    def debit(self) -> Decimal:
        return self.amount if self.amount > 0 else ZERO

    @property
    def credit(self) -> Decimal:
        return -self.amount if self.amount < 0 else ZERO

    @property
    def mirror(self) -> Balance:
        """The same balance seen from the counterparty's account."""
        return Balance(self.account.mirror, -self.amount, self.as_of)


def balance(transfers: Iterable[Transfer], account: Account, as_of: date | None = None) -> Balance:
    """The balance of `account` from the transfers between its two parties up to `as_of`."""
    total = ZERO
    for t in transfers:
        if t.touches(account) and (as_of is None or t.value_date <= as_of):
            total += t.signed_for(account.owner)
    return Balance(account, total, as_of)


def trial_balance(transfers: Iterable[Transfer], as_of: date | None = None) -> dict[Account, Decimal]:
    """Every account's balance; the values sum to zero and each account's mirror is its negative."""
    out: dict[Account, Decimal] = {}
    for t in transfers:
        if as_of is not None and t.value_date > as_of:
            continue
        out[t.debit_account] = out.get(t.debit_account, ZERO) + t.amount
        out[t.credit_account] = out.get(t.credit_account, ZERO) - t.amount
    return out


@dataclass(frozen=True, slots=True)
class Turnover:
    """Debit and credit turnover of an account over a date range."""

    debit: Decimal
    credit: Decimal

    @property
    def net(self) -> Decimal:
        return self.debit - self.credit


def turnover(transfers: Iterable[Transfer], account: Account, date_from: date, date_to: date) -> Turnover:
    """Debits and credits of `account` with value dates in [date_from, date_to]."""
    debit = credit = ZERO
    for t in transfers:
        if t.touches(account) and date_from <= t.value_date <= date_to:
            signed = t.signed_for(account.owner)
            if signed > 0:
                debit += signed
            else:
                credit -= signed
    return Turnover(debit, credit)
