"""The store audit behind `o2o ledger verify --store`: what the database holds against what the ledger registered.

Checked, each difference a typed `Mismatch` (what, which id, which figure, store value, registered value):
- obligations: every row equals the figures of its latest `obligation.created`/`obligation.changed` entry,
  and every registered obligation still has its row;
- statements: each stored document hashes to the stored digest, that digest is the one last registered
  for the statement (`statement.reconciled`, `.reissued`, `.signed`, `.countersigned`), its lines say what
  its document says, and a registered statement has its row unless its last entry withdrew it;
- netting rounds: every set-off and payment instruction equals the figures its `netting.round` entry
  registered, none is missing and none was added; a payment is confirmed exactly when `payment.confirmed`
  was registered for it, with the registered bank reference.
Ledger reads are one query per kind of record (the latest entry per subject), not one per row. Entries are
taken as registered only if they re-hash and their signature verifies; the chain itself is the ledger
verification's job, which `ledger verify --store` runs first.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from o2o.bootstrap import Workspace
from o2o.domain.cycle import PaymentStatus
from o2o.domain.obligations import PaymentInstruction, SetOff
from o2o.domain.statements import Statement
from o2o.ledger.entries import LedgerEntry
from o2o.ledger.keys import PublicKeyRing
from o2o.services.ledger import ledger_of
from o2o.services.registered_record import (
    OBLIGATION_KINDS,
    ROUND_KIND,
    Mismatch,
    authentic,
    compare_figures,
    figure_text,
    forged,
    latest_entries,
    obligation_mismatches,
    payment_mismatches,
    registered_payments,
    registered_setoffs,
    same,
    setoff_figures,
)
from o2o.store.cycle_repository import CycleRepository
from o2o.store.uow import UnitOfWork

STATEMENT_KINDS = (
    "statement.reconciled",
    "statement.reissued",
    "statement.signed",
    "statement.countersigned",
    "statement.withdrawn",
)
WITHDRAWN = "statement.withdrawn"
LINE_FIGURES = (
    "provider",
    "customer",
    "provider_amount",
    "customer_amount",
    "agreed_amount",
    "disputed_amount",
)


@dataclass(frozen=True, slots=True)
class StoreAudit:
    """The findings of one audit, and how many records of each kind were checked."""

    findings: tuple[Mismatch, ...]
    checked: Mapping[str, int]

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": dict(self.checked),
            "findings": [f.to_dict() for f in self.findings],
        }


def audit_store(ws: Workspace) -> StoreAudit:
    """Compare the store's statements, obligations, set-offs and payments with the ledger's registrations."""
    with ws.uow() as uow:
        repo = uow.cycles
        keys = ledger_of(uow).keyring()
        checked: dict[str, int] = {}
        findings = [
            *_obligations(uow, repo, keys, checked),
            *_statements(uow, repo, keys, checked),
            *_rounds(uow, repo, keys, checked),
        ]
    return StoreAudit(tuple(findings), checked)


def _obligations(
    uow: UnitOfWork, repo: CycleRepository, keys: PublicKeyRing, checked: dict[str, int]
) -> list[Mismatch]:
    rows = repo.obligations()
    entries = latest_entries(uow, OBLIGATION_KINDS)
    checked["obligations"] = len(rows)
    found = obligation_mismatches(rows, entries, keys)
    stored = {o.id for o in rows}
    for subject, entry in sorted(entries.items()):
        if subject not in stored:
            found.append(
                Mismatch("obligation", subject, "amount", None, figure_text(entry.payload.get("amount")))
            )
    return found


def _statements(
    uow: UnitOfWork, repo: CycleRepository, keys: PublicKeyRing, checked: dict[str, int]
) -> list[Mismatch]:
    # Statements hang off cycles (one per agreement and period): a handful of rows, read per cycle.
    rows = [st for c in repo.cycles() if (st := repo.statement_of(c.agreement_id, c.period))]
    entries = latest_entries(uow, STATEMENT_KINDS)
    checked["statements"] = len(rows)
    found: list[Mismatch] = []
    for st in rows:
        found.extend(_statement(repo, st, entries.get(st.id), keys))
    stored = {st.id for st in rows}
    for subject, entry in sorted(entries.items()):
        if subject not in stored and entry.kind != WITHDRAWN:
            found.append(
                Mismatch("statement", subject, "digest", None, figure_text(entry.payload.get("digest")))
            )
    return found


def _statement(
    repo: CycleRepository, st: Statement, entry: LedgerEntry | None, keys: PublicKeyRing
) -> Iterator[Mismatch]:
    sid = st.id
    actual = hashlib.sha256(st.document.encode()).hexdigest()
    if actual != st.digest:
        yield Mismatch(
            "statement", sid, "digest", actual, st.digest,
            reason=f"its stored document hashes to {actual}, not to its stored digest {st.digest}",
        )  # fmt: skip
    if entry is None:
        yield Mismatch("statement", sid, "digest", st.digest, None)
    elif not authentic(entry, keys):
        yield forged("statement", sid, entry)
    elif entry.kind == WITHDRAWN:
        yield Mismatch(
            "statement", sid, "digest", st.digest, None,
            reason=f"is in the store although entry {entry.seq} registered its withdrawal",
        )  # fmt: skip
    elif entry.payload.get("digest") != st.digest:
        yield Mismatch("statement", sid, "digest", st.digest, figure_text(entry.payload.get("digest")))
    yield from _lines(repo, st)


def _lines(repo: CycleRepository, st: Statement) -> Iterator[Mismatch]:
    """The statement's line rows (obligations are made from them) say what its signed document says."""
    try:
        document = {line["service"]: line for line in json.loads(st.document)["lines"]}
    except (ValueError, KeyError, TypeError):
        yield Mismatch(
            "statement", st.id, "document", "unreadable", None, reason="its document is unreadable"
        )
        return
    for stored in repo.lines(st.id):
        written = document.get(stored.service, {})
        for field in LINE_FIGURES:
            value, in_document = figure_text(getattr(stored, field)), written.get(field)
            amount = "amount" if field.endswith("_amount") else field
            if not same(amount, value, in_document):
                yield Mismatch(
                    "statement", st.id, f"line {stored.service} {field}", value, figure_text(in_document),
                    reason=f"line {stored.service} {field} is {value} in the store, {in_document} in its document",
                )  # fmt: skip


def _rounds(
    uow: UnitOfWork, repo: CycleRepository, keys: PublicKeyRing, checked: dict[str, int]
) -> list[Mismatch]:
    rounds = repo.rounds()
    entries = latest_entries(uow, [ROUND_KIND])
    confirmations = latest_entries(uow, ["payment.confirmed"])
    payments = repo.payments()
    checked["rounds"] = len(rounds)
    checked["payments"] = len(payments)
    found: list[Mismatch] = []
    for rnd in rounds:
        entry = entries.get(rnd.id)
        if entry is None:
            found.append(Mismatch("netting round", rnd.id, "mode", rnd.mode, None))
        elif not authentic(entry, keys):
            found.append(forged("netting round", rnd.id, entry))
        else:
            setoffs = repo.setoffs(rnd.id)
            checked["setoffs"] = checked.get("setoffs", 0) + len(setoffs)
            found.extend(_setoffs(rnd.id, setoffs, entry))
            found.extend(_unissued(rnd.id, payments, entry))
    stored = {r.id for r in rounds}
    found.extend(Mismatch("netting round", s, "mode", None, "registered") for s in entries if s not in stored)
    for pay in payments:
        found.extend(payment_mismatches(pay, entries.get(pay.round_id), keys))
        found.extend(_confirmation(pay, confirmations.get(pay.id), keys))
    return found


def _setoffs(round_id: str, setoffs: list[SetOff], entry: LedgerEntry) -> Iterator[Mismatch]:
    registered = {str(s.get("obligation")): s for s in registered_setoffs(entry)}
    for so in setoffs:
        subject = f"{round_id}/{so.obligation_id}"
        figures = registered.pop(so.obligation_id, None)
        if figures is None:
            yield Mismatch("set-off", subject, "amount", figure_text(so.amount), None)
        else:
            yield from compare_figures("set-off", subject, setoff_figures(so), figures)
    for obligation, figures in sorted(registered.items()):
        yield Mismatch(
            "set-off", f"{round_id}/{obligation}", "amount", None, figure_text(figures.get("amount"))
        )


def _unissued(round_id: str, payments: list[PaymentInstruction], entry: LedgerEntry) -> Iterator[Mismatch]:
    """Payment instructions the round registered that the store no longer holds."""
    stored = {p.id for p in payments if p.round_id == round_id}
    for figures in registered_payments(entry):
        if figures.get("id") not in stored:
            yield Mismatch(
                "payment", str(figures.get("id")), "amount", None, figure_text(figures.get("amount"))
            )


def _confirmation(
    pay: PaymentInstruction, entry: LedgerEntry | None, keys: PublicKeyRing
) -> Iterator[Mismatch]:
    """A payment is confirmed in the store exactly when its confirmation was registered."""
    if entry is None:
        if pay.status is not PaymentStatus.PENDING:
            yield Mismatch("payment", pay.id, "status", pay.status.value, PaymentStatus.PENDING.value)
        return
    if not authentic(entry, keys):
        yield forged("payment", pay.id, entry)
        return
    if pay.status is not PaymentStatus.CONFIRMED:
        yield Mismatch("payment", pay.id, "status", pay.status.value, PaymentStatus.CONFIRMED.value)
    if "reference" in entry.payload and not same(
        "reference", pay.reference or "", entry.payload["reference"]
    ):
        yield Mismatch("payment", pay.id, "reference", pay.reference, figure_text(entry.payload["reference"]))
