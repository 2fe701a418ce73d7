"""The dispute lifecycle: proposals and counter-proposals, acceptance, rejection, escalation at the deadline.

A proposal names the amount the proposer would accept for the whole service line, between the two
parties' figures, exact in the dispute's currency (a finer amount is refused, naming the field, so the
statement, the obligations and the books carry one figure); split-the-difference (the average, rounded to
the currency's minor unit by the agreement's rounding rule) is always offered. The other party accepts or
rejects the latest pending proposal, or counters with its own. A resolution before anyone signed
changes the statement's line; after a signature it releases the withheld obligation with what the
resolution adds to the undisputed part, and posts that adjustment to the books.

A party may also split the contested amount (`concede`): it gives up a part of it (exact in the currency,
less than the whole) and keeps contesting the rest. Its figure moves that far toward the other's; when the
party with the lower figure concedes, the undisputed part grows by it. Before anyone signed, the line and
the document take the new agreed and disputed amounts (re-issued); once both signed, the withheld obligation
shrinks by it and what the undisputed part gains is a payable obligation of its own, booked as an
adjustment. Between the two signatures the signed document cannot change and a split is refused.

Each dispute's history (opened, proposed, conceded, accepted, rejected, escalated) is read with its times
from the ledger entries about it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from o2o.bootstrap import Workspace
from o2o.domain.cycle import CycleState, DisputeState, parse_state
from o2o.domain.disputes import Dispute, Proposal, ProposalStatus, latest_pending
from o2o.domain.errors import InvalidTransitionError, ValidationError
from o2o.domain.identity import Actor
from o2o.domain.money import ZERO, Rounding, parse_amount, round_to_currency
from o2o.domain.obligations import Obligation, ObligationStatus
from o2o.domain.periods import Period
from o2o.domain.statements import LineOutcome
from o2o.ledger.keys import Signer
from o2o.services.accounts import post_dispute_adjustment
from o2o.services.cycle_common import (
    acting_signer,
    canonical,
    digest,
    hub_signer,
    move_cycle,
    provenance,
    register,
)
from o2o.services.registered_record import register_obligations
from o2o.services.registry_data import read_settled
from o2o.store.cycle_repository import CycleRepository
from o2o.store.uow import UnitOfWork

# The ledger's kinds of entries about a dispute, which make its history.
HISTORY_KINDS = (
    "dispute.opened", "dispute.proposed", "dispute.conceded", "dispute.accepted", "dispute.rejected",
    "dispute.escalated",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class DisputeView:
    """A dispute with the split-the-difference offer its agreement's rounding gives, its proposals (and
    parts conceded), and its history from the ledger (kind, time, who, what)."""

    dispute: Dispute
    split_offer: Decimal
    proposals: tuple[Proposal, ...] = ()
    history: tuple[dict[str, Any], ...] = ()

    def to_dict(self, *, detail: bool = False) -> dict[str, Any]:
        """As `dispute list --json` (and, with `detail`, `dispute show --json`) shows it."""
        d = self.dispute
        out: dict[str, Any] = {
            "id": d.id,
            "statement": d.statement_id,
            "service": d.service,
            "provider": d.provider,
            "customer": d.customer,
            "currency": d.currency,
            "provider_amount": d.provider_amount,
            "customer_amount": d.customer_amount,
            "contested_amount": d.contested_amount,
            "resolved_amount": d.resolved_amount,
            "split_offer": self.split_offer,
            "state": d.state.value,
            "deadline": d.deadline,
        }
        if detail:
            out["evidence"] = dict(d.evidence)
            out["proposals"] = [
                {"seq": p.seq, "by": p.by, "amount": p.amount, "note": p.note, "status": p.status.value,
                 "at": p.created_at}
                for p in self.proposals
            ]  # fmt: skip
            out["history"] = [dict(h) for h in self.history]
        return out


def split_amount(dispute: Dispute, mode: Rounding) -> Decimal:
    """Split the difference: the average of the two figures, to the currency's minor unit by `mode`."""
    avg = (dispute.provider_amount + dispute.customer_amount) / 2
    return round_to_currency(avg, dispute.currency, mode)


def _split_note(dispute: Dispute, mode: Rounding) -> str:
    return f"split the difference (average rounded {mode.value} to the {dispute.currency} minor unit)"


def _rounding(uow: UnitOfWork, repo: CycleRepository, dispute: Dispute) -> Rounding:
    """The rounding mode the dispute's agreement states (its amounts are rounded that way)."""
    agreement_id = repo.statement(dispute.statement_id).agreement_id
    return read_settled(uow, agreement_id)[0].rounding.mode


def list_disputes(ws: Workspace, state: str | None = None) -> list[DisputeView]:
    """Every dispute, or those in `state` (one of `DisputeState`: anything else is an error, not no rows)."""
    wanted = None if state is None else parse_state(DisputeState, state, "dispute state")
    with ws.uow() as uow:
        repo = uow.cycles
        return [DisputeView(d, split_amount(d, _rounding(uow, repo, d))) for d in repo.disputes(state=wanted)]


def _view(uow: UnitOfWork, repo: CycleRepository, dispute_id: str) -> DisputeView:
    d = repo.dispute(dispute_id)
    return DisputeView(
        d, split_amount(d, _rounding(uow, repo, d)), tuple(repo.proposals(dispute_id)), _history(uow, d.id)
    )


def _history(uow: UnitOfWork, dispute_id: str) -> tuple[dict[str, Any], ...]:
    """What happened to the dispute, in order: each ledger entry about it with its time (UTC, ISO 8601),
    the party that did it (`by_user`: the hub user who acted for it) and its figures."""
    out = []
    for e in uow.ledger_store.entries_of(HISTORY_KINDS, subject=dispute_id):
        facts = dict(e.payload)
        out.append(
            {"seq": e.seq, "kind": e.kind.split(".", 1)[1], "at": e.time, "by": facts.get("for") or e.actor,
             "proposal": facts.get("seq"), "amount": facts.get("amount"), "contested": facts.get("contested"),
             "by_user": facts.get("by_user")}
        )  # fmt: skip
    return tuple(out)


def show_dispute(ws: Workspace, dispute_id: str) -> DisputeView:
    """The dispute with its evidence and proposals."""
    with ws.uow() as uow:
        return _view(uow, uow.cycles, dispute_id)


def propose(
    ws: Workspace,
    dispute_id: str,
    operator: str,
    amount: Decimal | str | None,
    note: str = "",
    field: str = "amount",
    passphrase: bytes | None = None,
    via: Actor | None = None,
) -> DisputeView:
    """Propose an amount for the line (None: split the difference); `amount` is what the user entered
    for `field`, refused when finer than the dispute currency's minor unit. `via`: the hub's caller
    acting for `operator` (the hub registers the proposal naming it)."""
    signer = acting_signer(ws, operator, passphrase, via)
    with ws.uow() as uow:
        repo = uow.cycles
        d = repo.dispute(dispute_id).open_to(operator)
        if amount is None:
            mode = _rounding(uow, repo, d)
            value, note = split_amount(d, mode), note or _split_note(d, mode)
        else:
            value = parse_amount(amount, d.currency, field)
        low, high = sorted((d.provider_amount, d.customer_amount))
        if not low <= value <= high:
            raise ValidationError(f"{field}: proposal {value} is outside the two figures ({low} … {high})")
        seq = repo.add_proposal(dispute_id, operator, value, note)
        register(
            uow, signer, "dispute.proposed", dispute_id,
            {"seq": seq, "amount": str(value), **provenance(via)},
        )  # fmt: skip
        view = _view(uow, repo, dispute_id)
        uow.commit()
    return view


def concede(
    ws: Workspace,
    dispute_id: str,
    operator: str,
    amount: Decimal | str,
    note: str = "",
    field: str = "amount",
    passphrase: bytes | None = None,
    via: Actor | None = None,
) -> DisputeView:
    """Split the contested amount: `operator` gives up `amount` of it and keeps contesting the rest (see the
    module's notes for what it changes). Pending proposals outside the narrowed figures are superseded."""
    signer = acting_signer(ws, operator, passphrase, via)
    hub = hub_signer(ws)
    with ws.uow() as uow:
        repo = uow.cycles
        d = repo.dispute(dispute_id).open_to(operator)
        value = parse_amount(amount, d.currency, field)
        st = repo.statement(d.statement_id)
        signed = repo.signatures(st.id)
        if len(signed) == 1:
            raise InvalidTransitionError(
                f"statement {st.id} is signed by {signed[0].operator} only: a part of dispute {d.id} can be "
                "conceded before the first signature or after the countersignature"
            )
        raises = d.concession_raises_payable(operator)
        narrowed = d.conceded(operator, value)
        seq = repo.add_concession(dispute_id, operator, value, note)
        low, high = sorted((narrowed.provider_amount, narrowed.customer_amount))
        for p in repo.proposals(dispute_id):
            if p.status is ProposalStatus.PENDING and not low <= p.amount <= high:
                repo.set_proposal_status(p, ProposalStatus.SUPERSEDED)
        narrowed = repo.save_dispute(narrowed)
        register(
            uow, signer, "dispute.conceded", dispute_id,
            {"seq": seq, "amount": str(value), "contested": str(narrowed.contested_amount), **provenance(via)},
        )  # fmt: skip
        if signed:
            _release_conceded(uow, repo, narrowed, value if raises else ZERO, seq, hub)
        else:
            _reissue_conceded(uow, repo, narrowed, value if raises else ZERO, value, hub)
        view = _view(uow, repo, dispute_id)
        uow.commit()
    return view


def _reissue_conceded(
    uow: UnitOfWork, repo: CycleRepository, d: Dispute, gained: Decimal, conceded: Decimal, hub: Signer
) -> None:
    """Nobody signed: the line's agreed amount grows by `gained`, its disputed amount shrinks by
    `conceded`, and the statement is re-issued over the new document."""
    st = repo.statement(d.statement_id)
    line = next(x for x in repo.lines(st.id) if x.service == d.service)
    changed = replace(
        line, agreed_amount=line.agreed_amount + gained, disputed_amount=line.disputed_amount - conceded
    )
    repo.save_line(st.id, changed)
    document = json.loads(st.document)
    for item in document["lines"]:
        if item["service"] == d.service:
            item.update(
                agreed_amount=str(changed.agreed_amount), disputed_amount=str(changed.disputed_amount)
            )
    repo.save_statement(st.reissued(canonical(document).decode(), digest(document), disputes_open=True))
    register(uow, hub, "statement.reissued", st.id, {"digest": digest(document), "dispute": d.id})


def _release_conceded(
    uow: UnitOfWork, repo: CycleRepository, d: Dispute, gained: Decimal, seq: int, hub: Signer
) -> None:
    """Both signed: the withheld obligation keeps only what is still contested; what the undisputed part
    gained is payable now (an obligation `…-cSEQ` and an adjustment booked)."""
    ob = repo.obligation_of_dispute(d.id)
    if ob is None or ob.status is not ObligationStatus.WITHHELD:
        raise InvalidTransitionError(f"dispute {d.id} has no withheld obligation to split")
    kept = round_to_currency(d.contested_amount, d.currency)
    changed = repo.save_obligation(replace(ob, amount=kept, remaining=kept))
    register_obligations(uow, hub, "obligation.changed", [changed])
    if gained > ZERO:
        released = Obligation(
            _conceded_id(ob.id, seq), ob.debtor, ob.creditor, gained, ob.currency, ob.due_date, ob.source,
            status=ObligationStatus.OPEN, period=ob.period,
        )  # fmt: skip
        repo.add_obligation(released)
        register_obligations(uow, hub, "obligation.created", [released])
        st = repo.statement(d.statement_id)
        post_dispute_adjustment(
            uow, dispute_id=f"{d.id}-c{seq}", provider=d.provider, customer=d.customer, amount=gained,
            currency=d.currency, date=Period.parse(st.period).next.first_day, actor="HUB", due_date=ob.due_date,
        )  # fmt: skip


def _conceded_id(withheld_id: str, seq: int) -> str:
    return f"{withheld_id}-c{seq}"


def _released_before(repo: CycleRepository, withheld: Obligation) -> Decimal:
    """What parts conceded after both signatures already made payable (their `…-cSEQ` obligations)."""
    prefix = f"{withheld.id}-c"
    found = repo.obligations(withheld.period)
    return sum((o.amount for o in found if o.id.startswith(prefix) and o.source == withheld.source), ZERO)


def reject(
    ws: Workspace, dispute_id: str, operator: str, passphrase: bytes | None = None, via: Actor | None = None
) -> DisputeView:
    signer = acting_signer(ws, operator, passphrase, via)
    with ws.uow() as uow:
        repo = uow.cycles
        d = repo.dispute(dispute_id).open_to(operator)
        latest = latest_pending(d, repo.proposals(dispute_id), operator)
        repo.set_proposal_status(latest, ProposalStatus.REJECTED)
        register(uow, signer, "dispute.rejected", dispute_id, {"seq": latest.seq, **provenance(via)})
        view = _view(uow, repo, dispute_id)
        uow.commit()
    return view


def accept(
    ws: Workspace, dispute_id: str, operator: str, passphrase: bytes | None = None, via: Actor | None = None
) -> DisputeView:
    """Accept the other party's latest proposal: the dispute is resolved at that amount."""
    signer = acting_signer(ws, operator, passphrase, via)
    hub = hub_signer(ws)
    with ws.uow() as uow:
        repo = uow.cycles
        d = repo.dispute(dispute_id).open_to(operator)
        latest = latest_pending(d, repo.proposals(dispute_id), operator)
        repo.set_proposal_status(latest, ProposalStatus.ACCEPTED)
        d = repo.save_dispute(d.resolved(latest.amount))
        register(
            uow, signer, "dispute.accepted", dispute_id,
            {"seq": latest.seq, "amount": str(latest.amount), **provenance(via)},
        )  # fmt: skip
        _apply_resolution(uow, repo, d, latest.amount, hub)
        view = _view(uow, repo, dispute_id)
        uow.commit()
    return view


def _apply_resolution(
    uow: UnitOfWork, repo: CycleRepository, d: Dispute, amount: Decimal, hub: Signer
) -> None:
    st = repo.statement(d.statement_id)
    if not repo.signatures(st.id):
        # Nobody signed yet: the line itself takes the resolved amount and the document is re-issued.
        line = next(x for x in repo.lines(st.id) if x.service == d.service)
        resolved = replace(line, agreed_amount=amount, disputed_amount=ZERO, outcome=LineOutcome.RESOLVED)
        repo.save_line(st.id, resolved)
        document = json.loads(st.document)
        for line in document["lines"]:
            if line["service"] == d.service:
                line.update(
                    agreed_amount=str(amount), disputed_amount="0", outcome=LineOutcome.RESOLVED.value
                )
        open_left = [x for x in repo.disputes(st.id, DisputeState.OPEN) if x.id != d.id]
        repo.save_statement(
            st.reissued(canonical(document).decode(), digest(document), disputes_open=bool(open_left))
        )
        if not open_left:
            cycle = repo.cycle(st.agreement_id, st.period)
            if cycle is not None and cycle.state is CycleState.DISPUTED:
                move_cycle(uow, cycle, CycleState.AGREED, hub)
        register(uow, hub, "statement.reissued", st.id, {"digest": digest(document), "dispute": d.id})
        return
    ob = repo.obligation_of_dispute(d.id)
    signed_line = next(x for x in repo.lines(st.id) if x.service == d.service)
    released = ZERO if ob is None else _released_before(repo, ob)
    extra = round_to_currency(max(amount - signed_line.agreed_amount - released, ZERO), d.currency)
    if ob is not None:
        status = ObligationStatus.OPEN if extra > ZERO else ObligationStatus.CANCELLED
        changed = repo.save_obligation(ob.moved(status, amount=extra, remaining=extra))
        register_obligations(uow, hub, "obligation.changed", [changed])
        if extra > ZERO:
            period = Period.parse(st.period)
            post_dispute_adjustment(
                uow, dispute_id=d.id, provider=d.provider, customer=d.customer, amount=extra,
                currency=d.currency, date=period.next.first_day, actor="HUB", due_date=ob.due_date,
            )  # fmt: skip
    register(uow, hub, "obligation.released", d.id, {"amount": str(extra)})


def escalate_overdue(ws: Workspace, as_of: date) -> list[str]:
    """Escalate every open dispute whose deadline has passed by `as_of`."""
    hub = hub_signer(ws)
    escalated = []
    with ws.uow() as uow:
        repo = uow.cycles
        for d in repo.disputes(state=DisputeState.OPEN):
            if d.deadline < as_of:
                repo.save_dispute(d.escalated())
                register(uow, hub, "dispute.escalated", d.id, {"deadline": d.deadline.isoformat()})
                escalated.append(d.id)
        uow.commit()
    return escalated
