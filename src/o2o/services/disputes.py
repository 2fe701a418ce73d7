"""The dispute lifecycle: proposals and counter-proposals, acceptance, rejection, escalation at the deadline.

A proposal names the amount the proposer would accept for the whole service line, between the two
parties' figures, exact in the dispute's currency (a finer amount is refused, naming the field, so the
statement, the obligations and the books carry one figure); split-the-difference (the average, rounded to
the currency's minor unit by the agreement's rounding rule) is always offered. The other party accepts or
rejects the latest pending proposal, or counters with its own. A resolution before anyone signed
changes the statement's line; after a signature it releases the withheld obligation with what the
resolution adds to the undisputed part, and posts that adjustment to the books.
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
from o2o.domain.errors import ValidationError
from o2o.domain.identity import Actor
from o2o.domain.money import ZERO, Rounding, parse_amount, round_to_currency
from o2o.domain.obligations import ObligationStatus
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
from o2o.services.registry_data import read_agreement
from o2o.store.cycle_repository import CycleRepository
from o2o.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class DisputeView:
    """A dispute with the split-the-difference offer its agreement's rounding gives, and its proposals."""

    dispute: Dispute
    split_offer: Decimal
    proposals: tuple[Proposal, ...] = ()

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
                {"seq": p.seq, "by": p.by, "amount": p.amount, "note": p.note, "status": p.status.value}
                for p in self.proposals
            ]
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
    return read_agreement(uow, agreement_id)[0].rounding.mode


def list_disputes(ws: Workspace, state: str | None = None) -> list[DisputeView]:
    """Every dispute, or those in `state` (one of `DisputeState`: anything else is an error, not no rows)."""
    wanted = None if state is None else parse_state(DisputeState, state, "dispute state")
    with ws.uow() as uow:
        repo = uow.cycles
        return [DisputeView(d, split_amount(d, _rounding(uow, repo, d))) for d in repo.disputes(state=wanted)]


def _view(uow: UnitOfWork, repo: CycleRepository, dispute_id: str) -> DisputeView:
    d = repo.dispute(dispute_id)
    return DisputeView(d, split_amount(d, _rounding(uow, repo, d)), tuple(repo.proposals(dispute_id)))


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
    extra = round_to_currency(max(amount - signed_line.agreed_amount, ZERO), d.currency)
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
