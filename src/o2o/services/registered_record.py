"""The registered record: the figures of obligations, set-offs and payment instructions as the ledger holds
them, and the check that the store still equals them before money moves on it.

Invariants:
- every obligation is registered by the hub with all its figures, `obligation.created` when it is made and
  `obligation.changed` on every change, in the transaction that writes the row: its latest entry is its truth;
- a netting round's set-offs and payment instructions are registered with their figures in its
  `netting.round` entry; a payment's confirmation in its `payment.confirmed` entry;
- a check reads the latest entries of the subjects it needs in one query (not one per obligation), re-hashes
  each and verifies its signature (a payload edited in the database is not a registration), and compares
  figure by figure: amounts as numbers (1290.4 equals 1290.40), everything else as text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from o2o.domain.errors import RecordMismatchError
from o2o.domain.obligations import Obligation, PaymentInstruction, SetOff
from o2o.ledger.entries import LedgerEntry, entry_hash, entry_message
from o2o.ledger.keys import PublicKeyRing, Signer
from o2o.services.cycle_common import register
from o2o.services.ledger import ledger_of
from o2o.store.uow import UnitOfWork

OBLIGATION_KINDS = ("obligation.created", "obligation.changed")
ROUND_KIND = "netting.round"
AMOUNT_FIELDS = frozenset({"amount", "remaining"})
Figures = dict[str, str | None]


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One difference between the store and the ledger: what, which id, which figure, both values.

    `store` is None when the store lacks what was registered; `registered` is None when it was never
    registered; `reason` replaces the default wording when the difference is not a pair of values.
    """

    what: str
    subject: str
    field: str
    store: str | None
    registered: str | None
    reason: str = ""

    @property
    def message(self) -> str:
        head = f"{self.what} {self.subject}"
        if self.reason:
            return f"{head}: {self.reason}"
        if self.store is None:
            return f"{head}: registered ({self.field} {self.registered}) but missing from the store"
        if self.registered is None:
            return f"{head}: in the store ({self.field} {self.store}) but never registered"
        return f"{head}: {self.field} is {self.store} in the store, {self.registered} registered"

    def to_dict(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "subject": self.subject,
            "field": self.field,
            "store": self.store,
            "registered": self.registered,
            "message": self.message,
        }


def figure_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def obligation_figures(ob: Obligation) -> Figures:
    """What is registered of an obligation (and compared with its row): every figure money depends on."""
    return {
        "id": ob.id,
        "statement": ob.source,
        "debtor": ob.debtor,
        "creditor": ob.creditor,
        "amount": figure_text(ob.amount),
        "remaining": figure_text(ob.remaining),
        "currency": ob.currency,
        "due_date": figure_text(ob.due_date),
        "status": ob.status.value,
        "dispute": ob.dispute_id,
    }


def setoff_figures(setoff: SetOff) -> Figures:
    return {"obligation": setoff.obligation_id, "amount": figure_text(setoff.amount)}


def payment_figures(pay: PaymentInstruction) -> Figures:
    return {
        "id": pay.id,
        "round": pay.round_id,
        "payer": pay.payer,
        "payee": pay.payee,
        "amount": figure_text(pay.amount),
        "currency": pay.currency,
    }


def register_obligations(uow: UnitOfWork, hub: Signer, kind: str, obligations: Iterable[Obligation]) -> None:
    """Register each obligation's figures as they now are (`obligation.created` or `obligation.changed`)."""
    if kind not in OBLIGATION_KINDS:
        raise ValueError(f"not an obligation registration: {kind}")
    for ob in obligations:
        register(uow, hub, kind, ob.id, obligation_figures(ob))


def latest_entries(
    uow: UnitOfWork, kinds: Sequence[str], subjects: Sequence[str] | None = None
) -> dict[str, LedgerEntry]:
    """The latest entry of `kinds` per subject (of `subjects` only, if given), in one query."""
    return uow.ledger_store.latest_by_subject(kinds, subjects)


def authentic(entry: LedgerEntry, keys: PublicKeyRing) -> bool:
    """The entry re-hashes to its hash and its actor's registered key signed that hash."""
    return entry_hash(entry.body()) == entry.hash and keys.verify(
        entry.actor, entry.key_id, entry.signature, entry_message(entry.hash)
    )


def same(field: str, store: str | None, registered: Any) -> bool:
    """Two values of a figure are equal: amounts as numbers, the rest as text (None only equals None)."""
    if store is None or registered is None:
        return store is None and registered is None
    if field in AMOUNT_FIELDS:
        try:
            return Decimal(store) == Decimal(str(registered))
        except InvalidOperation:
            return False
    return store == str(registered)


def compare_figures(what: str, subject: str, store: Figures, registered: Mapping[str, Any]) -> list[Mismatch]:
    """Every figure of `store` that differs from its registered value."""
    return [
        Mismatch(what, subject, field, value, figure_text(registered.get(field)))
        for field, value in store.items()
        if not same(field, value, registered.get(field))
    ]


def forged(what: str, subject: str, entry: LedgerEntry) -> Mismatch:
    return Mismatch(
        what, subject, "entry", None, str(entry.seq),
        reason=f"its registered entry {entry.seq} does not verify (changed in the database after registration)",
    )  # fmt: skip


def obligation_mismatches(
    obligations: Iterable[Obligation], entries: Mapping[str, LedgerEntry], keys: PublicKeyRing
) -> list[Mismatch]:
    """Each stored obligation against its latest registered figures."""
    out: list[Mismatch] = []
    for ob in obligations:
        entry = entries.get(ob.id)
        if entry is None:
            out.append(Mismatch("obligation", ob.id, "amount", figure_text(ob.amount), None))
        elif not authentic(entry, keys):
            out.append(forged("obligation", ob.id, entry))
        else:
            out.extend(compare_figures("obligation", ob.id, obligation_figures(ob), entry.payload))
    return out


def refuse(action: str, mismatches: Sequence[Mismatch]) -> None:
    """Raise the one-line refusal naming the first difference, when there is any."""
    if not mismatches:
        return
    more = f" (and {len(mismatches) - 1} more differences)" if len(mismatches) > 1 else ""
    raise RecordMismatchError(
        f"{action} refused: {mismatches[0].message}{more}; `o2o ledger verify --store` lists them all"
    )


def check_obligations(uow: UnitOfWork, obligations: Sequence[Obligation], action: str) -> None:
    """Refuse `action` when an obligation it is about to use differs from its registered figures."""
    if not obligations:
        return
    entries = latest_entries(uow, OBLIGATION_KINDS, [o.id for o in obligations])
    refuse(action, obligation_mismatches(obligations, entries, ledger_of(uow).keyring()))


def payment_mismatches(
    pay: PaymentInstruction, round_entry: LedgerEntry | None, keys: PublicKeyRing
) -> list[Mismatch]:
    """A payment instruction against the figures its round registered for it."""
    figures = payment_figures(pay)
    if round_entry is None:
        return [Mismatch("payment", pay.id, "amount", figures["amount"], None)]
    if not authentic(round_entry, keys):
        return [forged("payment", pay.id, round_entry)]
    issued = {p.get("id"): p for p in registered_payments(round_entry)}
    registered = issued.get(pay.id)
    if registered is None:
        return [Mismatch("payment", pay.id, "amount", figures["amount"], None)]
    return compare_figures("payment", pay.id, figures, registered)


def check_payment(uow: UnitOfWork, pay: PaymentInstruction, action: str) -> None:
    """Refuse `action` when the payment instruction differs from what its round registered."""
    entry = latest_entries(uow, [ROUND_KIND], [pay.round_id]).get(pay.round_id)
    refuse(action, payment_mismatches(pay, entry, ledger_of(uow).keyring()))


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    """The objects of a registered list (anything else in it is no registration)."""
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def registered_setoffs(entry: LedgerEntry) -> list[Mapping[str, Any]]:
    return _dicts(entry.payload.get("setoffs"))


def registered_payments(entry: LedgerEntry) -> list[Mapping[str, Any]]:
    return _dicts(entry.payload.get("payment_instructions"))
