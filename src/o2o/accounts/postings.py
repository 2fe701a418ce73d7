"""Postings from the settlement cycle: how each source document becomes one balanced transfer.

Sign conventions (debit = the debit party's receivable from the credit party grows):
- invoice: the provider's receivable from the customer grows (debit provider, credit customer);
- set-off and payment: the debtor's (payer's) payable shrinks (debit debtor/payer, credit creditor/payee);
- dispute adjustment: a positive amount is a debit note (debit provider), a negative one a credit note;
- opening balance: the creditor is owed by the debtor (debit creditor, credit debtor);
- reversal: the original with debit and credit swapped, same amount, currency and document.
Each posting carries a key naming its source; the journal books a key once unless it was reversed.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from o2o.accounts.journal import Posting, Transfer, TransferKind, pair_key
from o2o.domain.errors import ValidationError
from o2o.domain.money import D


def invoice(
    *,
    statement_id: str,
    service: str,
    provider: str,
    customer: str,
    amount: Decimal,
    currency: str,
    booking_date: date,
    value_date: date,
    due_date: date | None,
    actor: str,
) -> Posting:
    """One direction of a signed statement: `customer` owes `provider` `amount` for `service`."""
    return Posting(
        kind=TransferKind.INVOICE,
        key=f"invoice/{statement_id}/{service}/{provider}>{customer}",
        document=statement_id,
        description=f"{service} provided by {provider} to {customer}",
        debit_party=provider,
        credit_party=customer,
        amount=amount,
        currency=currency,
        booking_date=booking_date,
        value_date=value_date,
        due_date=due_date,
        actor=actor,
        refs={"statement_id": statement_id, "service": service},
    )


def setoff(
    *,
    round_id: str,
    obligation_id: str,
    debtor: str,
    creditor: str,
    amount: Decimal,
    currency: str,
    date: date,
    actor: str,
    booking_date: date | None = None,
) -> Posting:
    """The part of obligation `obligation_id` set off in netting round `round_id` (no money moves)."""
    return Posting(
        kind=TransferKind.SETOFF,
        key=f"setoff/{round_id}/{obligation_id}",
        document=round_id,
        description=f"set-off of obligation {obligation_id} in round {round_id}",
        debit_party=debtor,
        credit_party=creditor,
        amount=amount,
        currency=currency,
        booking_date=booking_date or date,
        value_date=date,
        actor=actor,
        refs={"round_id": round_id, "obligation_id": obligation_id},
    )


def payment(
    *,
    payment_id: str,
    payer: str,
    payee: str,
    amount: Decimal,
    currency: str,
    date: date,
    actor: str,
    booking_date: date | None = None,
    description: str = "",
) -> Posting:
    """A confirmed payment from `payer` to `payee`."""
    return Posting(
        kind=TransferKind.PAYMENT,
        key=f"payment/{payment_id}",
        document=payment_id,
        description=description or f"payment from {payer} to {payee}",
        debit_party=payer,
        credit_party=payee,
        amount=amount,
        currency=currency,
        booking_date=booking_date or date,
        value_date=date,
        actor=actor,
        refs={"payment_id": payment_id},
    )


def dispute_adjustment(
    *,
    dispute_id: str,
    provider: str,
    customer: str,
    amount: Decimal,
    currency: str,
    date: date,
    actor: str,
    due_date: date | None = None,
    booking_date: date | None = None,
    description: str = "",
) -> Posting:
    """A resolved dispute's correction: `amount` > 0 raises what `customer` owes `provider`, < 0 lowers it."""
    amount = D(amount)
    if amount == 0:
        raise ValidationError(f"dispute {dispute_id}: a zero adjustment posts nothing")
    debit, credit = (provider, customer) if amount > 0 else (customer, provider)
    note = "debit note" if amount > 0 else "credit note"
    return Posting(
        kind=TransferKind.ADJUSTMENT,
        key=f"adjustment/{dispute_id}/{provider}>{customer}",
        document=dispute_id,
        description=description or f"dispute {dispute_id} resolved: {note} {provider} to {customer}",
        debit_party=debit,
        credit_party=credit,
        amount=abs(amount),
        currency=currency,
        booking_date=booking_date or date,
        value_date=date,
        due_date=due_date,
        actor=actor,
        refs={"dispute_id": dispute_id},
    )


def opening_balance(
    *,
    creditor: str,
    debtor: str,
    amount: Decimal,
    currency: str,
    date: date,
    actor: str,
    document: str = "",
    due_date: date | None = None,
    booking_date: date | None = None,
) -> Posting:
    """The balance carried into the books: `debtor` owes `creditor` `amount` as of `date`.

    One opening balance per pair and currency (its key does not depend on the direction).
    """
    return Posting(
        kind=TransferKind.OPENING,
        key=f"opening/{pair_key(creditor, debtor)}/{currency}",
        document=document or f"opening balance {date.isoformat()}",
        description=f"opening balance: {debtor} owes {creditor}",
        debit_party=creditor,
        credit_party=debtor,
        amount=amount,
        currency=currency,
        booking_date=booking_date or date,
        value_date=date,
        due_date=due_date,
        actor=actor,
    )


def reversal(
    original: Transfer, *, reason: str, actor: str, booking_date: date, value_date: date | None = None
) -> Posting:
    """The transfer that cancels `original`: debit and credit swapped, same amount and document.

    By default it takes effect on the original's value date, so every balance as of every date is
    restored; give `value_date` to reverse in a later (open) period instead.
    """
    if original.kind == TransferKind.REVERSAL:
        raise ValidationError(
            f"transfer {original.id} is itself a reversal; post the document again instead of reversing it"
        )
    if not reason.strip():
        raise ValidationError(f"reversing transfer {original.id} needs a reason")
    when = value_date or original.value_date
    return Posting(
        kind=TransferKind.REVERSAL,
        key=f"reversal/{original.id}",
        document=original.document,
        description=f"reversal of transfer {original.id}: {reason.strip()}",
        debit_party=original.credit_party,
        credit_party=original.debit_party,
        amount=original.amount,
        currency=original.currency,
        booking_date=booking_date,
        value_date=when,
        due_date=None if original.due_date is None else max(original.due_date, when),
        actor=actor,
        reverses=original.id,
        refs={"reverses_key": original.key},
    )
