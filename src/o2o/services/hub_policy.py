"""Who may see what through the hub: an operator sees the agreements it is a party to and everything under
them (cycles, statements, evidence, disputes, obligations, payments, its own books); the hub's admin sees
everything. A foreign id is answered exactly as a missing one (the same `NotFoundError`, the same text), so
a caller cannot learn that another pair's statement or dispute exists.

Every hub use case reads through these checks with the caller's `Actor`; routes never filter themselves.
"""

from __future__ import annotations

from o2o.domain.disputes import Dispute
from o2o.domain.errors import NotFoundError
from o2o.domain.identity import Actor
from o2o.domain.obligations import Obligation, PaymentInstruction
from o2o.domain.statements import Statement
from o2o.store.repositories import StoredAgreement
from o2o.store.uow import UnitOfWork


def concerns(actor: Actor, *parties: str) -> bool:
    """Whether something between `parties` concerns the caller (the hub's admin: everything)."""
    return actor.operator is None or actor.operator in parties


def visible_agreements(uow: UnitOfWork, actor: Actor) -> list[StoredAgreement]:
    """The agreements the caller is a party to (every agreement for the hub's admin), by id."""
    return [a for a in uow.agreements.all() if concerns(actor, a.party_a, a.party_b)]


def visible_agreement_ids(uow: UnitOfWork, actor: Actor) -> set[str]:
    return {a.id for a in visible_agreements(uow, actor)}


def agreement_for(uow: UnitOfWork, actor: Actor, agreement_id: str) -> StoredAgreement:
    """The agreement, if the caller is a party to it; else as unknown as a missing one."""
    found = uow.agreements.find(agreement_id)
    if found is None or not concerns(actor, found.party_a, found.party_b):
        # The repository's own message for an id it does not hold, whatever the reason here.
        raise NotFoundError(f"unknown agreement {agreement_id!r} (load it with `o2o agreement load`)")
    return found


def statement_for(uow: UnitOfWork, actor: Actor, statement_id: str) -> Statement:
    """The statement, if its agreement is the caller's; else `unknown statement`."""
    try:
        st = uow.cycles.statement(statement_id)
    except NotFoundError:
        raise NotFoundError(f"unknown statement {statement_id!r}") from None
    if st.agreement_id not in visible_agreement_ids(uow, actor):
        raise NotFoundError(f"unknown statement {statement_id!r}")
    return st


def dispute_for(uow: UnitOfWork, actor: Actor, dispute_id: str) -> Dispute:
    """The dispute, if it is between the caller and its counterparty; else `unknown dispute`."""
    d = uow.cycles.dispute(dispute_id)
    if not concerns(actor, d.provider, d.customer):
        raise NotFoundError(f"unknown dispute {dispute_id!r}")
    return d


def obligation_visible(actor: Actor, ob: Obligation) -> bool:
    return concerns(actor, ob.debtor, ob.creditor)


def payment_visible(actor: Actor, pay: PaymentInstruction) -> bool:
    return concerns(actor, pay.payer, pay.payee)


def payment_for(uow: UnitOfWork, actor: Actor, payment_id: str) -> PaymentInstruction:
    """The payment instruction, if the caller pays or receives it; else `unknown payment instruction`."""
    pay = uow.cycles.payment(payment_id)
    if not payment_visible(actor, pay):
        raise NotFoundError(f"unknown payment instruction {payment_id!r}")
    return pay


def counterparty_for(uow: UnitOfWork, actor: Actor, counterparty: str) -> str:
    """An operator the caller has an agreement with (the books of other pairs are not the caller's)."""
    me = actor.operator
    known = {a.party_b if a.party_a == me else a.party_a for a in visible_agreements(uow, actor)}
    if me is None:
        known = {a.party_a for a in uow.agreements.all()} | {a.party_b for a in uow.agreements.all()}
    if counterparty not in known or counterparty == me:
        raise NotFoundError(f"unknown operator {counterparty!r} (add it with `o2o operator add`)")
    return counterparty
