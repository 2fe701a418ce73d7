"""Signing reconciliation statements: each party signs the statement's canonical document with its key;
the signature is verified against the key registered on the ledger and registered itself. When both
parties have signed, the statement's obligations are created and its invoices posted to the books.

A party signs what it reviewed: the stored document must still hash to the stored digest, and a signer may
name the digest it reviewed (refused if the statement changed since). A re-declaration withdraws an unsigned
statement with its signatures and disputes; the ledger keeps the withdrawal, and signing it is refused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from o2o.bootstrap import Workspace
from o2o.domain.cycle import CycleState, DisputeState, parse_state
from o2o.domain.disputes import Dispute
from o2o.domain.errors import (
    ConcurrencyError,
    InvalidTransitionError,
    NotFoundError,
    SignatureError,
)
from o2o.domain.identity import Actor
from o2o.domain.money import ZERO, round_to_currency
from o2o.domain.obligations import Obligation, ObligationStatus, obligations_due
from o2o.domain.periods import Period
from o2o.domain.statements import Signature, Statement, StatementLine, StatementState
from o2o.ledger.keys import Signer
from o2o.services.accounts import post_dispute_adjustment, post_invoice
from o2o.services.cycle_common import hub_signer, move_cycle, register
from o2o.services.ledger import key_path, load_signer
from o2o.services.registered_record import register_obligations
from o2o.services.registry_data import read_settled
from o2o.store.cycle_repository import CycleRepository
from o2o.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class SignResult:
    statement_id: str
    operator: str
    signature: str
    complete: bool
    obligations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StatementView:
    """A statement with its lines, signatures and disputes, as `statement show` and `list` present it."""

    statement: Statement
    lines: tuple[StatementLine, ...]
    signatures: tuple[Signature, ...]
    disputes: tuple[Dispute, ...]

    def to_dict(self) -> dict[str, Any]:
        """As `statement show --json` shows it."""
        st = self.statement
        return {
            "id": st.id,
            "agreement": st.agreement_id,
            "period": st.period,
            "currency": st.currency,
            "state": st.state.value,
            "digest": st.digest,
            "document": json.loads(st.document),
            "lines": [{"statement_id": st.id, **asdict(line)} for line in self.lines],
            "signatures": [
                {"operator": s.operator, "key_id": s.key_id, "signature": s.signature}
                for s in self.signatures
            ],
            "disputes": [{"id": d.id, "state": d.state.value} for d in self.disputes],
            "evidence": json.loads(st.evidence),
        }

    def summary(self) -> dict[str, Any]:
        """As `statement list --json` shows it."""
        st = self.statement
        return {
            "id": st.id,
            "agreement": st.agreement_id,
            "period": st.period,
            "state": st.state.value,
            "currency": st.currency,
            "digest": st.digest,
            "signatures": [s.operator for s in self.signatures],
            "disputes": [d.id for d in self.disputes],
        }


def _view(repo: CycleRepository, st: Statement, *, lines: bool = True) -> StatementView:
    return StatementView(
        st,
        tuple(repo.lines(st.id)) if lines else (),
        tuple(repo.signatures(st.id)),
        tuple(repo.disputes(st.id)),
    )


def show_statement(ws: Workspace, statement_id: str) -> StatementView:
    """The statement with its lines, signatures, disputes and evidence."""
    with ws.uow() as uow:
        repo = uow.cycles
        return _view(repo, _stored(uow, repo, statement_id))


def withdraw_statement(
    uow: UnitOfWork, repo: CycleRepository, st: Statement, cause: str, hub: Signer
) -> None:
    """A re-declaration changed the usage under an unsigned statement: the statement goes, with its lines,
    signatures, disputes and proposals, in the caller's transaction; the ledger keeps what was withdrawn."""
    signatures = [
        {"operator": s.operator, "key_id": s.key_id, "signature": s.signature} for s in repo.signatures(st.id)
    ]
    disputes = [d.id for d in repo.disputes(st.id)]
    repo.delete_statement(st.id)
    register(
        uow, hub, "statement.withdrawn", st.id,
        {"digest": st.digest, "signatures": signatures, "disputes": disputes, "declaration": cause},
    )  # fmt: skip


def sign_statement(
    ws: Workspace,
    statement_id: str,
    operator: str,
    passphrase: bytes | None = None,
    reviewed: str | None = None,
) -> SignResult:
    """`operator` signs the statement with its workspace key; the second signature completes it.
    `reviewed`: the digest the signer reviewed; refused unless it is the current statement's."""
    if not key_path(ws, operator).exists():
        raise NotFoundError(
            f"operator {operator} has no signing key here (make one: `o2o keys generate {operator}`)"
        )
    signer = load_signer(ws, operator, passphrase)
    hub = hub_signer(ws)
    # One transaction reads the statement, checks its digest and state, and stores the signature.
    with ws.uow() as uow:
        repo = uow.cycles
        st = _current_statement(uow, repo, statement_id, reviewed)
        _check_can_sign(repo, st, operator)
        signature = signer.sign(st.document.encode())
        result = _record_signature(uow, repo, st, operator, signer.key_id, signature, signer, hub, {})
        uow.commit()
    return result


def submit_signature(
    ws: Workspace, statement_id: str, via: Actor, key_id: str, signature: str, reviewed: str | None = None
) -> SignResult:
    """The hub's caller sends its operator's signature, made on its own side over the statement's
    canonical document (the hub holds no operator's key): verified against the operator's valid key
    registered on the ledger, then stored and registered as `sign_statement` does, the hub signing the
    entry and naming the caller."""
    operator = via.acting_operator()
    hub = hub_signer(ws)
    with ws.uow() as uow:
        repo = uow.cycles
        st = _current_statement(uow, repo, statement_id, reviewed)
        _check_can_sign(repo, st, operator)
        active = uow.ledger.key_history().active(operator)
        if active is None or active.key_id != key_id.strip():
            valid = "no valid key" if active is None else f"valid key {active.key_id}"
            raise SignatureError(
                f"key_id: {key_id!r} is not the valid registered key of {operator} (it has {valid})"
            )
        sig = signature.strip().lower()
        if len(sig) != 128 or any(c not in "0123456789abcdef" for c in sig):
            raise SignatureError("signature: an Ed25519 signature is 128 hexadecimal characters")
        extra = {"key_id": active.key_id, **via.provenance()}
        result = _record_signature(uow, repo, st, operator, active.key_id, sig, hub, hub, extra)
        uow.commit()
    return result


def _record_signature(
    uow: UnitOfWork, repo: CycleRepository, st: Statement, operator: str, key_id: str, signature: str,
    registrar: Signer, hub: Signer, extra: dict[str, str],
) -> SignResult:  # fmt: skip
    """Verify `operator`'s signature over the stored document against its key on the ledger, store it and
    register it (by `registrar`: the operator itself, or the hub for a signature sent to it); the second
    signature completes the statement. In the caller's transaction."""
    message = st.document.encode()
    if not uow.ledger.keyring().verify(operator, key_id, signature, message):
        raise SignatureError(
            f"the signature of {operator} with key {key_id} does not verify against the key registered on "
            f"the ledger over statement {st.id} (digest {st.digest})"
        )
    st = _claim(repo, st)
    repo.add_signature(Signature(st.id, operator, key_id, signature))
    payload = {"digest": st.digest, "signature": signature, **extra}
    register(uow, registrar, "statement.signed", st.id, payload)
    complete = len(repo.signatures(st.id)) == 2
    created: list[str] = []
    if complete:
        created = _complete(uow, repo, st, hub)
    return SignResult(st.id, operator, signature, complete, tuple(created))


def _claim(repo: CycleRepository, st: Statement) -> Statement:
    """Take the statement at the version read (its first write): one re-issued, withdrawn or signed by the
    other party since the read has another version, and this signature is refused instead of stored."""
    try:
        return repo.save_statement(st)
    except ConcurrencyError:
        raise InvalidTransitionError(
            f"statement {st.id} changed while it was being signed (re-issued, withdrawn or signed by the "
            f"other party); review it again (`o2o statement show {st.id}`) and sign what it now says"
        ) from None


def _current_statement(
    uow: UnitOfWork, repo: CycleRepository, statement_id: str, reviewed: str | None
) -> Statement:
    """The statement as stored, if it exists, its document still hashes to its digest and (when the
    signer names one) that digest is the one reviewed."""
    st = _stored(uow, repo, statement_id)
    actual = hashlib.sha256(st.document.encode()).hexdigest()
    if actual != st.digest:
        raise SignatureError(
            f"statement {statement_id}: its stored document hashes to {actual}, not to its digest "
            f"{st.digest}; it cannot be signed"
        )
    if reviewed is not None and reviewed.strip().lower() != st.digest:
        raise InvalidTransitionError(
            f"statement {statement_id} has changed: its digest is {st.digest}, you reviewed "
            f"{reviewed.strip()}; review it again (`o2o statement show {statement_id}`)"
        )
    return st


def _stored(uow: UnitOfWork, repo: CycleRepository, statement_id: str) -> Statement:
    """The stored statement; one a re-declaration withdrew is named as withdrawn, with its cause."""
    try:
        return repo.statement(statement_id)
    except NotFoundError:
        withdrawn = [e for e in uow.events.all(statement_id) if e["kind"] == "statement.withdrawn"]
        if not withdrawn:
            raise
        cause = json.loads(withdrawn[-1]["payload"])["declaration"]
        raise NotFoundError(
            f"statement {statement_id} was withdrawn by declaration {cause}: reconcile the period again "
            "and review the new statement"
        ) from None


def _check_can_sign(repo: CycleRepository, st: Statement, operator: str) -> None:
    parties = json.loads(st.document)["parties"]
    if operator not in parties:
        raise InvalidTransitionError(f"{operator} is not a party to statement {st.id}")
    if st.state is StatementState.SIGNED:
        raise InvalidTransitionError(f"statement {st.id} is already signed by both parties")
    cycle = repo.cycle(st.agreement_id, st.period)
    if cycle is None or cycle.state not in (CycleState.AGREED, CycleState.DISPUTED):
        state = cycle.state.value if cycle else "missing"
        raise InvalidTransitionError(
            f"statement {st.id} cannot be signed: its cycle is {state} (only agreed or disputed)"
        )
    if any(s.operator == operator for s in repo.signatures(st.id)):
        raise InvalidTransitionError(f"{operator} has already signed statement {st.id}")


def _complete(uow: UnitOfWork, repo: CycleRepository, st: Statement, hub: Signer) -> list[str]:
    """Both signed: obligations per line (the contested part withheld while disputed), invoices posted."""
    agreement, _ = read_settled(uow, st.agreement_id)
    period = Period.parse(st.period)
    due = obligations_due(period, agreement.payment_days)
    booked = period.next.first_day
    created: list[Obligation] = []
    disputes = {d.service: d for d in repo.disputes(st.id)}
    for line in repo.lines(st.id):
        amount = round_to_currency(line.agreed_amount, st.currency)
        if amount > ZERO:
            ob_id = f"OBL-{st.agreement_id}-{st.period}-{line.service}"
            created.append(_add_obligation(repo, ob_id, st, line, amount, due, ObligationStatus.OPEN, None))
            post_invoice(
                uow, statement_id=st.id, service=line.service, provider=line.provider,
                customer=line.customer, amount=amount, currency=st.currency, booking_date=booked,
                value_date=booked, due_date=due, actor="HUB",
            )  # fmt: skip
        dispute = disputes.get(line.service)
        if dispute is not None:
            extra, status = _disputed_part(dispute, line, st.currency)
            if extra > ZERO or status is ObligationStatus.WITHHELD:
                ob_id = f"OBL-{st.agreement_id}-{st.period}-{line.service}-disputed"
                created.append(_add_obligation(repo, ob_id, st, line, extra, due, status, dispute.id))
            if status is ObligationStatus.OPEN and extra > ZERO:
                post_dispute_adjustment(
                    uow, dispute_id=dispute.id, provider=line.provider, customer=line.customer,
                    amount=extra, currency=st.currency, date=booked, actor="HUB", due_date=due,
                )  # fmt: skip
    # Each obligation is registered with its figures: the record that netting checks the store against.
    register_obligations(uow, hub, "obligation.created", created)
    repo.save_statement(st.signed())
    cycle = repo.cycle(st.agreement_id, st.period)
    if cycle is None:
        raise NotFoundError(f"no cycle for statement {st.id}")
    move_cycle(uow, cycle, CycleState.SIGNED, hub)
    ids = [o.id for o in created]
    register(uow, hub, "statement.countersigned", st.id, {"obligations": ids, "digest": st.digest})
    return ids


def _disputed_part(dispute: Dispute, line: StatementLine, currency: str) -> tuple[Decimal, ObligationStatus]:
    """The contested part of a line: withheld at its full size until resolved, else what the resolution
    added to the undisputed part."""
    if dispute.state is DisputeState.RESOLVED and dispute.resolved_amount is not None:
        extra = dispute.resolved_amount - line.agreed_amount
        return round_to_currency(max(extra, ZERO), currency), ObligationStatus.OPEN
    return round_to_currency(dispute.contested_amount, currency), ObligationStatus.WITHHELD


def _add_obligation(
    repo: CycleRepository, ob_id: str, st: Statement, line: StatementLine,
    amount: Decimal, due: date, status: ObligationStatus, dispute_id: str | None,
) -> Obligation:  # fmt: skip
    ob = Obligation(
        ob_id, line.customer, line.provider, amount, st.currency, due, st.id,
        status=status, period=st.period, dispute_id=dispute_id,
    )  # fmt: skip
    repo.add_obligation(ob)
    return ob


def list_statements(
    ws: Workspace, period: str | None = None, state: str | None = None
) -> list[StatementView]:
    """Every statement (of `period`; in `state`, one of `StatementState`), by agreement and period, with
    who has signed it (its lines are left out: `show_statement` has them)."""
    per = str(Period.parse(period)) if period else None
    wanted = None if state is None else parse_state(StatementState, state, "--state")
    with ws.uow() as uow:
        repo = uow.cycles
        found = [repo.statement_of(c.agreement_id, c.period) for c in repo.cycles(per)]
        return [
            _view(repo, st, lines=False)
            for st in found  # cycles come by period and agreement
            if st is not None and (wanted is None or st.state is wanted)
        ]
