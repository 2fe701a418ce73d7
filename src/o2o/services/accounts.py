"""Use cases that post to the mutual-settlement books; the settlement cycle calls these.

Each posting function takes the caller's unit of work and does not commit: the caller (the cycle, or the
CLI's own use cases below) commits once with everything else it did. Amounts are exact Decimals in the
currency's minor unit; every posting is one balanced transfer, so A's receivable from B always mirrors
B's payable to A. Posting the same source document twice returns the booked transfer (a retry);
posting it with different figures is refused until the earlier transfer is reversed.

A posting by hand (`accounts post …`, `accounts reverse`, `accounts opening`) has an identity: its actor
is a known operator or the hub, and one of the posting's parties or the hub; it goes into no closed
period; and it is registered on the ledger (`accounts.posted` / `accounts.reversed`, signed by the hub,
naming the actor) in the same transaction as the booking.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from o2o.accounts import postings
from o2o.accounts.journal import Posting, Transfer
from o2o.accounts.opening_balances import parse_opening_balances
from o2o.bootstrap import Workspace
from o2o.domain.cycle import CycleState
from o2o.domain.errors import NotFoundError, O2OError, ValidationError
from o2o.domain.periods import Period
from o2o.ledger.keys import HUB, Signer
from o2o.services.cycle_common import hub_signer, register
from o2o.store.accounts_repository import AccountsRepository
from o2o.store.uow import UnitOfWork


def books(uow: UnitOfWork) -> AccountsRepository:
    """The accounts repository of the unit of work (same transaction)."""
    return uow.accounts


def today() -> date:
    return datetime.now(UTC).date()


def _book(uow: UnitOfWork, posting: Posting) -> Transfer:
    return _booked(uow, posting)[0]


def _booked(uow: UnitOfWork, posting: Posting) -> tuple[Transfer, bool]:
    """The booked transfer, and whether this call booked it (False: a retry found it booked)."""
    uow.operators.get(posting.debit_party)
    uow.operators.get(posting.credit_party)
    repo = books(uow)
    before = repo.by_key(posting.key)
    transfer = repo.book(posting)
    new = all(t.id != transfer.id for t in before)
    if new:
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
    return transfer, new


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


# --- postings by hand: each use case owns its unit of work, checks who and when, registers, commits once ---


def closed_periods(uow: UnitOfWork) -> frozenset[Period]:
    """The periods `o2o period close` closed (their cycles are `closed`)."""
    cycles = uow.cycles.cycles()
    return frozenset(Period.parse(c.period) for c in cycles if c.state is CycleState.CLOSED)


def _check_actor(uow: UnitOfWork, actor: str) -> None:
    if actor != HUB and uow.operators.find(actor) is None:
        raise ValidationError(f"--actor {actor!r} is not a known operator or {HUB}")


def document_period(uow: UnitOfWork, refs: Mapping[str, str]) -> Period | None:
    """The settlement period of a posting's source document in the cycle (statement, netting round,
    dispute, payment instruction), or None for a document the cycle does not know (opening balances,
    payments and invoices posted by hand under their own references)."""
    repo = uow.cycles
    try:
        if "statement_id" in refs:
            return Period.parse(repo.statement(refs["statement_id"]).period)
        if "round_id" in refs:
            return Period.parse(repo.round(refs["round_id"]).period)
        if "dispute_id" in refs:
            statement = repo.dispute(refs["dispute_id"]).statement_id
            return Period.parse(repo.statement(statement).period)
        if "payment_id" in refs:
            # A round's remainder is paid as `ROUND/OBLIGATION`; an instruction is paid under its own id.
            round_id, _, obligation = refs["payment_id"].partition("/")
            if not obligation:
                round_id = repo.payment(round_id).round_id
            return Period.parse(repo.round(round_id).period)
    except NotFoundError:
        return None
    return None


def _by_hand(
    uow: UnitOfWork, hub: Signer, posting: Posting, closed: frozenset[Period], **facts: Any
) -> Transfer:
    """Book a posting made by hand after its checks; register it on the ledger when newly booked."""
    _check_actor(uow, posting.actor)
    postings.check_authority(posting, HUB)
    postings.check_period_open(posting, document_period(uow, posting.refs), closed)
    transfer, new = _booked(uow, posting)
    if new:
        kind = "accounts.reversed" if transfer.reverses is not None else "accounts.posted"
        register(uow, hub, kind, f"transfer/{transfer.id}", _registered(transfer) | facts)
    return transfer


def _registered(t: Transfer) -> dict[str, Any]:
    """What the ledger keeps of a transfer booked by hand: enough to rebuild and check the journal row."""
    return {
        "transfer": t.id,
        "key": t.key,
        "kind": t.kind.value,
        "document": t.document,
        "debit": t.debit_party,
        "credit": t.credit_party,
        "amount": str(t.amount),
        "currency": t.currency,
        "value_date": t.value_date.isoformat(),
        "booking_date": t.booking_date.isoformat(),
        "due_date": None if t.due_date is None else t.due_date.isoformat(),
        "actor": t.actor,
    }


def post_by_hand(ws: Workspace, posting: Posting) -> Transfer:
    """`accounts post invoice|payment|adjustment`: one posting in its own transaction."""
    hub = hub_signer(ws)
    with ws.uow() as uow:
        t = _by_hand(uow, hub, posting, closed_periods(uow))
        uow.commit()
    return t


# The documents `accounts post` books by hand, by the name of its subcommand.
_BY_HAND: dict[str, Callable[..., Posting]] = {
    "invoice": postings.invoice,
    "payment": postings.payment,
    "adjustment": postings.dispute_adjustment,
}


def post_by_hand_as(ws: Workspace, document: str, **fields: Any) -> Transfer:
    """`accounts post DOCUMENT`: an invoice, payment or dispute adjustment with these fields, booked today."""
    if document not in _BY_HAND:
        raise ValidationError(f"cannot post {document!r} by hand: one of {', '.join(_BY_HAND)}")
    return post_by_hand(ws, _BY_HAND[document](booking_date=today(), **fields))


def import_opening_balances(ws: Workspace, path: Path, actor: str) -> list[Transfer]:
    """Book every opening balance of a CSV file (all or none); see `o2o.accounts.opening_balances`."""
    if not path.is_file():
        raise ValidationError(f"{path}: no such file")
    rows = parse_opening_balances(path.read_text(encoding="utf-8"), path.name)
    hub = hub_signer(ws)
    booked: list[Transfer] = []
    with ws.uow() as uow:
        _check_actor(uow, actor)
        closed = closed_periods(uow)
        for r in rows:
            posting = postings.opening_balance(
                creditor=r.creditor, debtor=r.debtor, amount=r.amount, currency=r.currency, date=r.day,
                actor=actor, document=r.document, due_date=r.due_date, booking_date=today(),
            )  # fmt: skip
            try:
                booked.append(_by_hand(uow, hub, posting, closed, file=path.name, line=r.line))
            except O2OError as exc:
                raise type(exc)(f"{path.name}: line {r.line}: {exc}") from None
        uow.commit()
    return booked


def reverse_transfer(
    ws: Workspace, transfer_id: int, reason: str, actor: str, value_date: date | None = None
) -> Transfer:
    """`accounts reverse`: cancel a transfer by a reversing one, registered with its reason."""
    hub = hub_signer(ws)
    with ws.uow() as uow:
        repo = books(uow)
        original = repo.get(transfer_id)
        if repo.reversal_of(transfer_id) is not None:
            raise ValidationError(f"transfer {transfer_id} is already reversed")
        posting = postings.reversal(
            original, reason=reason, actor=actor, booking_date=today(), value_date=value_date
        )
        _check_actor(uow, actor)  # who before when: an unknown actor hears that first
        postings.check_authority(posting, HUB)
        closed = closed_periods(uow)
        postings.check_correction(original, document_period(uow, original.refs), closed, value_date)
        facts = {"reverses": original.id, "reason": reason.strip()}
        t = _by_hand(uow, hub, posting, closed, **facts)
        uow.commit()
    return t
