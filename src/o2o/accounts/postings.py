"""Postings from the settlement cycle: how each source document becomes one balanced transfer.

Sign conventions (debit = the debit party's receivable from the credit party grows):
- invoice: the provider's receivable from the customer grows (debit provider, credit customer);
- set-off and payment: the debtor's (payer's) payable shrinks (debit debtor/payer, credit creditor/payee);
- dispute adjustment: a positive amount is a debit note (debit provider), a negative one a credit note;
- opening balance: the creditor is owed by the debtor (debit creditor, credit debtor);
- reversal: the original with debit and credit swapped, same amount, currency and document.
Each posting carries a key naming its source; the journal books a key once unless it was reversed.

A posting made by hand (not by the cycle) also answers to two rules here: who may make it (one of its two
parties, or the hub that runs the books) and when (never into a period the cycle closed).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from decimal import Decimal

from o2o.accounts.journal import Posting, Transfer, TransferKind, pair_key
from o2o.domain.errors import InvalidTransitionError, ValidationError
from o2o.domain.money import D
from o2o.domain.periods import Period


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


def check_authority(posting: Posting, hub: str) -> None:
    """Who may post or reverse by hand: one of the posting's two parties, or `hub`, which runs the books.

    An operator may put on record what it did with a partner (a payment it made or received); it may not
    move money between two others. Whether the actor exists at all is the caller's check (the store).
    """
    parties = (posting.debit_party, posting.credit_party)
    if posting.actor != hub and posting.actor not in parties:
        first, second = sorted(parties)
        raise ValidationError(
            f"--actor {posting.actor} may not post {posting.key}: only its parties {first} and {second} "
            f"or {hub} may"
        )


def period_of(day: date) -> Period:
    return Period(day.year, day.month)


def check_period_open(posting: Posting, document_period: Period | None, closed: Collection[Period]) -> None:
    """Nothing is booked into a closed period, whose statements, payments and balances are final: neither
    a posting whose value date falls in one, nor one whose source document (a statement, a netting round,
    a dispute, a payment instruction) belongs to one — the cycle books period P's documents on P+1's
    first day, so the value date alone would let P's invoice be posted again after P closed."""
    for period, why in ((period_of(posting.value_date), "value date"), (document_period, "document")):
        if period is not None and period in closed:
            what = posting.value_date if why == "value date" else posting.document
            raise InvalidTransitionError(
                f"{posting.key}: {why} {what} is in closed period {period}; the books of a closed period "
                "do not change (date it in an open period)"
            )


def check_correction(
    original: Transfer, document_period: Period | None, closed: Collection[Period], value_date: date | None
) -> None:
    """A transfer of a closed period is corrected only on a day of an open period the user names
    (`accounts reverse --date`): the correction is booked there and the closed period's figures stay."""
    for period in (period_of(original.value_date), document_period):
        if period is not None and period in closed and value_date is None:
            raise InvalidTransitionError(
                f"transfer {original.id} belongs to closed period {period}: reverse it with --date in an "
                "open period (the correction is booked there)"
            )
