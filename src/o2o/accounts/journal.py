"""The double-entry journal: accounts, postings (transfers to be booked) and booked transfers.

Every operator keeps one mutual-settlement account per counterparty and currency, active-passive as in
the Russian "счёт взаиморасчётов": a debit balance is a receivable, a credit balance a payable.
A transfer debits one party's account with the other and credits the other party's account with the
first, by the same positive amount in the same currency. Hence, by construction:
- every transfer balances (its debits equal its credits);
- A's account with B mirrors B's account with A: balance(A@B) == -balance(B@A) as of every date;
- transfers are immutable; a correction is a reversing transfer (debit and credit swapped, same amount).
Amounts are exact Decimals kept in the currency's minor unit (books are kept in cents, not rate precision).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from o2o.domain.currencies import check_currency
from o2o.domain.errors import ValidationError
from o2o.domain.money import D, from_minor, to_minor


class TransferKind(StrEnum):
    """The document a transfer comes from."""

    INVOICE = "invoice"  # a signed statement's amount for one service direction
    SETOFF = "setoff"  # the part of an obligation extinguished in a netting round
    PAYMENT = "payment"  # a confirmed payment
    ADJUSTMENT = "adjustment"  # a resolved dispute's correction (debit or credit note)
    OPENING = "opening"  # an opening balance carried into the books
    REVERSAL = "reversal"  # the correction of an erroneous transfer


@dataclass(frozen=True, slots=True, order=True)
class Account:
    """`owner`'s mutual-settlement account with `counterparty` in `currency`."""

    owner: str
    counterparty: str
    currency: str

    def __post_init__(self) -> None:
        check_currency(self.currency)
        if self.owner == self.counterparty:
            raise ValidationError(f"an account of {self.owner} with itself makes no sense")

    @property
    def mirror(self) -> Account:
        """The counterparty's account with the owner: its balance is always the negative of this one's."""
        return Account(self.counterparty, self.owner, self.currency)


def pair_key(a: str, b: str) -> str:
    """The key of the unordered pair {a, b}: both parties' accounts with each other share it."""
    lo, hi = sorted((a, b))
    return f"{lo}|{hi}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Posting:
    """A balanced transfer to book: debit `debit_party`'s account with `credit_party`, credit the mirror.

    `key` identifies the source document posting (e.g. `invoice/ST-1/voice/A>B`): posting the same key
    again is refused unless the earlier transfer was reversed. `refs` keeps the source ids (statement,
    round, obligation, payment, dispute) for the cycle to follow.
    """

    kind: TransferKind
    key: str
    document: str
    debit_party: str
    credit_party: str
    amount: Decimal
    currency: str
    booking_date: date
    value_date: date
    actor: str
    description: str = ""
    due_date: date | None = None
    reverses: int | None = None
    refs: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", D(self.amount))
        object.__setattr__(self, "refs", MappingProxyType(dict(self.refs)))
        check_currency(self.currency)
        if self.debit_party == self.credit_party:
            raise ValidationError(f"{self.key}: debit and credit party are both {self.debit_party}")
        if not self.debit_party or not self.credit_party:
            raise ValidationError(f"{self.key}: both parties must be named")
        if self.amount <= 0:
            raise ValidationError(f"{self.key}: amount must be positive, got {self.amount}")
        # Refuses amounts finer than the minor unit; keeps every amount at the currency's scale.
        object.__setattr__(self, "amount", from_minor(to_minor(self.amount, self.currency), self.currency))
        if not self.document.strip():
            raise ValidationError(f"{self.key}: the document reference is empty")
        if self.due_date is not None and self.due_date < self.value_date:
            raise ValidationError(f"{self.key}: due date {self.due_date} is before {self.value_date}")

    @property
    def debit_account(self) -> Account:
        return Account(self.debit_party, self.credit_party, self.currency)

    @property
    def credit_account(self) -> Account:
        return Account(self.credit_party, self.debit_party, self.currency)

    @property
    def pair(self) -> str:
        return pair_key(self.debit_party, self.credit_party)

    @property
    def amount_minor(self) -> int:
        return to_minor(self.amount, self.currency)

    def same_content(self, other: Posting) -> bool:
        """True when `other` posts the same document identically (an idempotent retry)."""
        return (
            self.kind == other.kind
            and self.key == other.key
            and self.debit_party == other.debit_party
            and self.credit_party == other.credit_party
            and self.amount == other.amount
            and self.currency == other.currency
            and self.value_date == other.value_date
            and self.due_date == other.due_date
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Transfer(Posting):
    """A booked transfer: a posting with its journal id (ascending in booking order)."""

    id: int
    posting_no: int = 1  # the n-th booking of the same key (after the earlier ones were reversed)

    @classmethod
    def trusted(cls, **values: Any) -> Transfer:
        """A transfer read back from the journal, where it was validated when booked: no re-checking.

        Every field must be given. Reading thousands of lines for a statement is then a plain copy.
        """
        obj = object.__new__(cls)
        for name in _FIELDS:
            object.__setattr__(obj, name, values[name])
        return obj

    def signed_for(self, owner: str) -> Decimal:
        """The transfer's effect on `owner`'s account with the other party (+ debit, - credit)."""
        if owner == self.debit_party:
            return self.amount
        if owner == self.credit_party:
            return -self.amount
        raise ValidationError(
            f"transfer {self.id} is between {self.debit_party} and {self.credit_party}, not {owner}"
        )

    def touches(self, account: Account) -> bool:
        return self.currency == account.currency and {self.debit_party, self.credit_party} == {
            account.owner,
            account.counterparty,
        }


_FIELDS = tuple(Transfer.__dataclass_fields__)
