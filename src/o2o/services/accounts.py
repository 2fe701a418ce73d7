"""Use cases that post to the mutual-settlement books; the settlement cycle calls these.

Each posting function takes the caller's unit of work and does not commit: the caller (the cycle, or the
CLI's own use cases below) commits once with everything else it did. Amounts are exact Decimals in the
currency's minor unit; every posting is one balanced transfer, so A's receivable from B always mirrors
B's payable to A. Posting the same source document twice returns the booked transfer (a retry);
posting it with different figures is refused until the earlier transfer is reversed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from o2o.accounts import postings
from o2o.accounts.journal import Posting, Transfer
from o2o.accounts.opening_balances import parse_opening_balances
from o2o.bootstrap import Workspace
from o2o.domain.errors import ValidationError
from o2o.store.accounts_repository import AccountsRepository
from o2o.store.uow import UnitOfWork


def books(uow: UnitOfWork) -> AccountsRepository:
    """The accounts repository on the unit of work's connection (same transaction)."""
    return AccountsRepository(uow.connection)


def today() -> date:
    return datetime.now(UTC).date()


def _book(uow: UnitOfWork, posting: Posting) -> Transfer:
    uow.operators.get(posting.debit_party)
    uow.operators.get(posting.credit_party)
    repo = books(uow)
    before = repo.by_key(posting.key)
    transfer = repo.book(posting)
    if all(t.id != transfer.id for t in before):
        uow.events.record(
            f"accounts.{transfer.kind.value}",
            f"transfer/{transfer.id}",
            transfer.actor,
            {
                "key": transfer.key,
                "debit": transfer.debit_party,
                "credit": transfer.credit_party,
                "amount": str(transfer.amount),
                "currency": transfer.currency,
                "value_date": transfer.value_date.isoformat(),
            },
        )
    return transfer


def post_invoice(
    uow: UnitOfWork,
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
) -> Transfer:
    """A signed statement's amount for one service direction: `customer` owes `provider` (amount > 0)."""
    return _book(
        uow,
        postings.invoice(
            statement_id=statement_id,
            service=service,
            provider=provider,
            customer=customer,
            amount=amount,
            currency=currency,
            booking_date=booking_date,
            value_date=value_date,
            due_date=due_date,
            actor=actor,
        ),
    )


def post_setoff(
    uow: UnitOfWork,
    *,
    round_id: str,
    obligation_id: str,
    debtor: str,
    creditor: str,
    amount: Decimal,
    currency: str,
    date: date,
    actor: str,
) -> Transfer:
    """The part of an obligation set off in a netting round: the debtor's payable shrinks by `amount`."""
    return _book(
        uow,
        postings.setoff(
            round_id=round_id,
            obligation_id=obligation_id,
            debtor=debtor,
            creditor=creditor,
            amount=amount,
            currency=currency,
            date=date,
            actor=actor,
            booking_date=today(),
        ),
    )


def post_payment(
    uow: UnitOfWork,
    *,
    payment_id: str,
    payer: str,
    payee: str,
    amount: Decimal,
    currency: str,
    date: date,
    actor: str,
    description: str = "",
) -> Transfer:
    """A confirmed payment: the payer's payable to the payee shrinks by `amount`."""
    return _book(
        uow,
        postings.payment(
            payment_id=payment_id,
            payer=payer,
            payee=payee,
            amount=amount,
            currency=currency,
            date=date,
            actor=actor,
            booking_date=today(),
            description=description,
        ),
    )


def post_dispute_adjustment(
    uow: UnitOfWork,
    *,
    dispute_id: str,
    provider: str,
    customer: str,
    amount: Decimal,
    currency: str,
    date: date,
    actor: str,
    due_date: date | None = None,
) -> Transfer:
    """A resolved dispute: `amount` > 0 raises what `customer` owes `provider` (debit note), < 0 lowers it."""
    return _book(
        uow,
        postings.dispute_adjustment(
            dispute_id=dispute_id,
            provider=provider,
            customer=customer,
            amount=amount,
            currency=currency,
            date=date,
            actor=actor,
            due_date=due_date,
            booking_date=today(),
        ),
    )


def post_opening_balance(
    uow: UnitOfWork,
    *,
    creditor: str,
    debtor: str,
    amount: Decimal,
    currency: str,
    date: date,
    actor: str,
    document: str = "",
    due_date: date | None = None,
) -> Transfer:
    """The balance carried into the books: `debtor` owes `creditor` `amount` as of `date` (one per pair)."""
    return _book(
        uow,
        postings.opening_balance(
            creditor=creditor,
            debtor=debtor,
            amount=amount,
            currency=currency,
            date=date,
            actor=actor,
            document=document,
            due_date=due_date,
            booking_date=today(),
        ),
    )


def reverse(
    uow: UnitOfWork, transfer_id: int, reason: str, actor: str, *, value_date: date | None = None
) -> Transfer:
    """Cancel transfer `transfer_id` by a reversing transfer (by default on the original's value date)."""
    repo = books(uow)
    original = repo.get(transfer_id)
    if repo.reversal_of(transfer_id) is not None:
        raise ValidationError(f"transfer {transfer_id} is already reversed")
    return _book(
        uow,
        postings.reversal(original, reason=reason, actor=actor, booking_date=today(), value_date=value_date),
    )


# --- use cases of the CLI: each owns its unit of work and commits once -----------------------------------


def import_opening_balances(ws: Workspace, path: Path, actor: str) -> list[Transfer]:
    """Book every opening balance of a CSV file (all or none); see `o2o.accounts.opening_balances`."""
    if not path.is_file():
        raise ValidationError(f"{path}: no such file")
    rows = parse_opening_balances(path.read_text(encoding="utf-8"), path.name)
    with ws.uow() as uow:
        booked = [
            post_opening_balance(
                uow,
                creditor=r.creditor,
                debtor=r.debtor,
                amount=r.amount,
                currency=r.currency,
                date=r.day,
                actor=actor,
                document=r.document,
                due_date=r.due_date,
            )
            for r in rows
        ]
        uow.commit()
    return booked


def record(ws: Workspace, post: Callable[..., Transfer], **fields: Any) -> Transfer:
    """Run one posting (`post_invoice`, `post_payment`, …) in its own transaction, as a hand posting does."""
    with ws.uow() as uow:
        t = post(uow, **fields)
        uow.commit()
    return t


def reverse_transfer(
    ws: Workspace, transfer_id: int, reason: str, actor: str, value_date: date | None = None
) -> Transfer:
    with ws.uow() as uow:
        t = reverse(uow, transfer_id, reason, actor, value_date=value_date)
        uow.commit()
    return t
