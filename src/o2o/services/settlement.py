"""After signing: netting rounds over a period's obligations, payment confirmation, closing the period,
and the cycle's status.

A round nets every open obligation of the period (withheld ones, under dispute, stay out), records the
set-off per obligation and posts it to the books, and issues the payment instructions that remain. When
every instruction of a round is confirmed, each obligation's remainder is posted as paid and the cycles
of the period are settled. Rounds, instructions and obligations are the domain's typed values; each state
change goes through the value's own move (an illegal one is refused there).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from o2o.bootstrap import Workspace
from o2o.domain.agreements import SettledAgreement
from o2o.domain.cycle import Cycle, CycleState, DisputeState, PaymentStatus, parse_state
from o2o.domain.errors import InvalidTransitionError, NotFoundError, ValidationError
from o2o.domain.identity import Actor
from o2o.domain.money import ZERO, totals_by_currency
from o2o.domain.obligations import (
    NettingRound,
    Obligation,
    ObligationStatus,
    PaymentInstruction,
    SetOff,
)
from o2o.domain.periods import Period
from o2o.ledger.keys import HUB, Signer
from o2o.netting import DEFAULT_HUB, NettingMode, NettingResult
from o2o.services.accounts import post_payment, post_setoff
from o2o.services.cycle_common import hub_signer, missing_declarations, move_cycle, provenance, register
from o2o.services.registered_record import (
    check_obligations,
    check_payment,
    payment_figures,
    register_obligations,
    setoff_figures,
)
from o2o.services.registry_data import read_settled
from o2o.services.statements import withdraw_statement
from o2o.store.cycle_repository import CycleRepository
from o2o.store.repositories import now_utc
from o2o.store.uow import UnitOfWork

# The cycle states after signing: usage can no longer change, no statement is re-made.
_SIGNED_OR_LATER = (CycleState.SIGNED, CycleState.NETTED, CycleState.SETTLED, CycleState.CLOSED)


@dataclass(frozen=True, slots=True)
class RoundIssued:
    """A netting round run: the round (with its figures) and the payment instructions it issued."""

    round: NettingRound
    payments: tuple[PaymentInstruction, ...]


@dataclass(frozen=True, slots=True)
class PaymentConfirmed:
    """A payment instruction confirmed, and whether it was the last of its round (the round settled)."""

    payment: PaymentInstruction
    round_settled: bool


def note_declaration(
    uow: UnitOfWork, agreement: SettledAgreement, period: str, hub: Signer, *, cause: str
) -> None:
    """After an import (declaration `cause`): the cycle is `declared` once both parties declared every
    usage service; a re-declaration of an unsigned cycle sends it back to `declared` and withdraws its
    statement (and any signature on it), so nobody can sign figures the usage no longer supports."""
    repo = uow.cycles
    cycle = repo.ensure_cycle(agreement.id, period)
    state = cycle.state
    if state in _SIGNED_OR_LATER:
        raise InvalidTransitionError(
            f"cycle {cycle.id} is {state.value}: its statement is signed, usage can no longer change"
        )
    statement = repo.statement_of(agreement.id, period)
    if statement is not None:
        withdraw_statement(uow, repo, statement, cause, hub)
    declared = {(d.service, d.role) for d in uow.declarations.all(agreement.id, period)}
    complete = not missing_declarations(agreement, declared)
    if (state is CycleState.OPEN and complete) or state in (
        CycleState.RECONCILED,
        CycleState.AGREED,
        CycleState.DISPUTED,
    ):
        move_cycle(uow, cycle, CycleState.DECLARED, hub)


def figures_of(result: NettingResult, obligations: list[Obligation]) -> dict[str, Any]:
    """The round's headline figures per currency (amounts as strings), named so that they add up:
    gross_total − cleared_total = remaining_total (what set-off left), and remaining_total −
    reduced_by_settlement = money_moved (what the operators pay). Conservative mode pays the remaining
    obligations as they stand (no reduction); direct and clearing-house settle net positions, so a chain
    A→B→C is paid as A→C and the reduction is remaining_total − net_internal_debt. In clearing-house mode
    the operators pay the hub and the hub passes the same sum on (`hub_paid_out`); elsewhere it is 0."""
    out: dict[str, Any] = {"mode": result.mode.value, "currencies": {}}
    for cur in result.currencies:
        netted = [o for o in obligations if o.currency == cur.currency and o.status is ObligationStatus.OPEN]
        zero = cur.gross_total - cur.gross_total  # at the currency's scale
        moved = sum((p.amount for p in cur.payments if p.payer != DEFAULT_HUB), zero)
        out["currencies"][cur.currency] = {
            "obligations_count": len(netted),
            "gross_total": str(cur.gross_total),
            "cleared_total": str(cur.cleared_total),
            "remaining_total": str(cur.remaining_total),
            "reduced_by_settlement": str(cur.remaining_total - moved),
            "money_moved": str(moved),
            "hub_paid_out": str(sum((p.amount for p in cur.payments if p.payer == DEFAULT_HUB), zero)),
            "net_internal_debt": str(cur.net_internal_debt),
            "payments_count": len(cur.payments),
            "positions": {
                p.operator: {"payable": str(p.payable), "receivable": str(p.receivable), "net": str(p.net)}
                for p in cur.positions
            },
            "excluded": [asdict(e) | {"amount": str(e.amount)} for e in cur.excluded],
        }
    out["obligations"] = len(obligations)
    return out


def run_netting(ws: Workspace, period: str, mode: str = "clearing-house") -> RoundIssued:
    """Net the period's signed obligations; record set-offs and payment instructions; cycles → netted.
    Only open obligations are netted (a netted one is `netted` after its round), so a second round of
    the same period finds nothing new to net and is refused."""
    # Imported here: the engine loads NumPy, OR-Tools and HiGHS, which `o2o cycle status` never needs.
    from o2o.netting import net_obligations

    per = Period.parse(period)
    netting_mode = NettingMode.parse(mode)
    hub = hub_signer(ws)
    with ws.uow() as uow:
        repo = uow.cycles
        obligations = repo.obligations(str(per), statuses=(ObligationStatus.OPEN, ObligationStatus.WITHHELD))
        signed = [c for c in repo.cycles(str(per)) if c.state is CycleState.SIGNED]
        if not signed and not any(o.status is ObligationStatus.OPEN for o in obligations):
            raise InvalidTransitionError(f"period {per}: no signed statements with open obligations to net")
        # Money moves on these figures: each must still be what the ledger registered, or nothing is written.
        check_obligations(uow, obligations, f"netting of {per}")
        withheld = [o.id for o in obligations if o.status is ObligationStatus.WITHHELD]
        result = net_obligations([o.outstanding() for o in obligations], mode=netting_mode, withheld=withheld)
        # Numbered per period (RND-2026-10-1, -2, …) so that ids are predictable; a concurrent round
        # taking the same number fails on the key and changes nothing.
        round_id = f"RND-{per}-{len(repo.rounds(str(per))) + 1}"
        rnd = NettingRound(round_id, str(per), netting_mode.value, figures_of(result, obligations))
        repo.add_round(rnd)
        by_id = {o.id: o for o in obligations}
        changed: list[Obligation] = []
        setoffs: list[SetOff] = []
        issued: list[PaymentInstruction] = []
        for cur in result.currencies:
            for so in cur.setoffs:
                ob = by_id[so.obligation]
                setoffs.append(SetOff(round_id, so.obligation, so.amount))
                repo.add_setoff(setoffs[-1])
                changed.append(
                    repo.save_obligation(
                        ob.moved(ObligationStatus.NETTED, remaining=ob.remaining - so.amount)
                    )
                )
                post_setoff(
                    uow, round_id=round_id, obligation_id=so.obligation, debtor=ob.debtor,
                    creditor=ob.creditor, amount=so.amount, currency=ob.currency,
                    date=per.next.first_day, actor="HUB",
                )  # fmt: skip
            for i, pay in enumerate(cur.payments, start=1):
                issued.append(
                    PaymentInstruction(f"PAY-{round_id[4:]}-{cur.currency}-{i:03d}", round_id, pay.payer,
                                       pay.payee, pay.amount, cur.currency)
                )  # fmt: skip
                repo.add_payment(issued[-1])
        set_off = {so.obligation for cur in result.currencies for so in cur.setoffs}
        for ob in obligations:
            if ob.status is ObligationStatus.OPEN and ob.id not in set_off:
                changed.append(repo.save_obligation(ob.moved(ObligationStatus.NETTED)))
        for cycle in signed:
            move_cycle(uow, cycle, CycleState.NETTED, hub)
        register_obligations(uow, hub, "obligation.changed", changed)
        # The round's entry carries its set-offs and instructions with their figures: the registered record
        # that payment confirmation and `ledger verify --store` compare the store with.
        registered = {
            "setoffs": [setoff_figures(s) for s in setoffs],
            "payment_instructions": [payment_figures(p) for p in issued],
        }
        register(uow, hub, "netting.round", round_id, {**rnd.figures, **registered})
        if not issued:
            rnd = _settle_round(uow, repo, repo.round(round_id), hub)
        uow.commit()
    return RoundIssued(rnd, tuple(issued))


def list_payments(
    ws: Workspace, round_id: str | None = None, status: str | None = None
) -> list[PaymentInstruction]:
    """The payment instructions of every round or of `round_id`, in any status or in `status`; an unknown
    round or status is an error, not an empty list."""
    wanted = None if status is None else parse_state(PaymentStatus, status, "payment status")
    with ws.uow() as uow:
        repo = uow.cycles
        if round_id is not None:
            repo.round(round_id)
        return repo.payments(round_id, status=wanted)


def confirm_payment(
    ws: Workspace, payment_id: str, *, reference: str, confirmed_by: str, via: Actor | None = None
) -> PaymentConfirmed:
    """Confirm a payment instruction was paid, by the creditor who received it or the hub, with the bank's
    reference; the last one of a round settles the round. A second confirmation is refused. `via`: the
    hub's caller who confirmed it (named on the ledger)."""
    hub = hub_signer(ws)
    with ws.uow() as uow:
        repo = uow.cycles
        pay = repo.payment(payment_id)
        check_payment(uow, pay, f"confirming payment {payment_id}")
        reference = _check_confirmation(pay, reference, confirmed_by)
        pay = repo.save_payment(pay.confirmed(reference, confirmed_by, now_utc()))
        register(
            uow, hub, "payment.confirmed", payment_id,
            {"amount": str(pay.amount), "reference": reference, "confirmed_by": confirmed_by, **provenance(via)},
        )  # fmt: skip
        settled = not repo.payments(pay.round_id, status=PaymentStatus.PENDING)
        if settled:
            _settle_round(uow, repo, repo.round(pay.round_id), hub)
        uow.commit()
    return PaymentConfirmed(pay, settled)


def _check_confirmation(pay: PaymentInstruction, reference: str, confirmed_by: str) -> str:
    """Only who received the money (the payee, the creditor) or the hub says it arrived, and says under
    which bank reference: the payer's word alone would let a debtor settle its own debt."""
    if confirmed_by not in (pay.payee, HUB):
        raise ValidationError(
            f"payment {pay.id}: confirmed as {confirmed_by}, who may not confirm it; only its payee "
            f"{pay.payee} (the creditor) or {HUB} may"
        )
    if not reference.strip():
        raise ValidationError(f"payment {pay.id}: --reference (the bank's reference) is required")
    return reference.strip()


def _settle_round(uow: UnitOfWork, repo: CycleRepository, rnd: NettingRound, hub: Signer) -> NettingRound:
    """Every instruction paid: each netted obligation's remainder is paid; the period's cycles settle."""
    per = Period.parse(rnd.period)
    netted = repo.obligations(rnd.period, statuses=(ObligationStatus.NETTED,))
    check_obligations(uow, netted, f"settling round {rnd.id}")
    settled = []
    for ob in netted:
        if ob.remaining > ZERO:
            post_payment(
                uow, payment_id=f"{rnd.id}/{ob.id}", payer=ob.debtor, payee=ob.creditor,
                amount=ob.remaining, currency=ob.currency, date=per.next.first_day, actor="HUB",
                description=f"settled through netting round {rnd.id} ({rnd.mode})",
            )  # fmt: skip
        settled.append(repo.save_obligation(ob.moved(ObligationStatus.SETTLED, remaining=ZERO)))
    register_obligations(uow, hub, "obligation.changed", settled)
    rnd = repo.save_round(rnd.settled())
    for cycle in repo.cycles(rnd.period):
        if cycle.state is CycleState.NETTED:
            move_cycle(uow, cycle, CycleState.SETTLED, hub)
    register(uow, hub, "netting.settled", rnd.id, {"period": rnd.period})
    return rnd


def close_period(ws: Workspace, period: str, via: Actor | None = None) -> list[str]:
    """Close every settled cycle of the period; refuses while a cycle is not settled or a dispute is open.
    `via`: the hub's admin who closed it (named on the ledger)."""
    per = Period.parse(period)
    hub = hub_signer(ws)
    with ws.uow() as uow:
        repo = uow.cycles
        cycles = repo.cycles(str(per))
        if not cycles:
            raise NotFoundError(f"period {per} has no cycles")
        done = (CycleState.SETTLED, CycleState.CLOSED)
        waiting = [f"{c.id} ({c.state.value})" for c in cycles if c.state not in done]
        if waiting:
            raise InvalidTransitionError(f"period {per} cannot close: not settled: {', '.join(waiting)}")
        open_disputes = [d.id for d in repo.disputes(state=DisputeState.OPEN, period=str(per))]
        if open_disputes:
            raise InvalidTransitionError(
                f"period {per} cannot close: open disputes {', '.join(open_disputes)}"
            )
        closed = []
        for c in cycles:
            if c.state is CycleState.SETTLED:
                move_cycle(uow, c, CycleState.CLOSED, hub)
                closed.append(c.id)
        register(uow, hub, "period.closed", str(per), {"cycles": closed, **provenance(via)})
        uow.commit()
    return closed


def open_period(ws: Workspace, period: str, via: Actor | None = None) -> list[str]:
    """Open the period's cycle of every agreement (cycles also open on the first declaration).
    `via`: the hub's admin who opened it (named on the ledger)."""
    per = Period.parse(period)
    hub = hub_signer(ws)
    with ws.uow() as uow:
        repo = uow.cycles
        opened = [
            repo.ensure_cycle(a.id, str(per)).id
            for a in uow.agreements.all()
            if repo.cycle(a.id, str(per)) is None
        ]
        register(uow, hub, "period.opened", str(per), {"cycles": opened, **provenance(via)})
        uow.commit()
    return opened


def cycle_status(ws: Workspace, period: str | None = None) -> list[dict[str, Any]]:
    """Each cycle with who it is waiting for, its statement, disputes and obligations."""
    # A period that is not a month is an error: as text it would match no cycle and show nothing.
    period = None if period is None else str(Period.parse(period))
    with ws.uow() as uow:
        repo = uow.cycles
        # Every obligation read once, grouped by the statement it comes from.
        by_statement: dict[str, list[Obligation]] = {}
        for o in repo.obligations(period):
            by_statement.setdefault(o.source, []).append(o)
        return [_status(uow, repo, c, by_statement) for c in repo.cycles(period)]


def _status(
    uow: UnitOfWork, repo: CycleRepository, c: Cycle, by_statement: dict[str, list[Obligation]]
) -> dict[str, Any]:
    waiting: list[str] = []
    if c.state is CycleState.OPEN:
        agreement, _ = read_settled(uow, c.agreement_id)
        declared = {(d.service, d.role) for d in uow.declarations.all(agreement.id, c.period)}
        waiting = missing_declarations(agreement, declared)
    st = repo.statement_of(c.agreement_id, c.period)
    disputes = repo.disputes(st.id) if st else []
    obligations = by_statement.get(st.id, []) if st else []
    return {
        "cycle": c.id,
        "agreement": c.agreement_id,
        "period": c.period,
        "state": c.state.value,
        "waiting_for": waiting,
        "statement": st.id if st else None,
        "signatures": [s.operator for s in repo.signatures(st.id)] if st else [],
        "disputes_open": sum(1 for d in disputes if d.state is DisputeState.OPEN),
        "obligations": len(obligations),
        # Per currency (a statement's obligations share its currency; never summed across).
        "obligations_amount": {
            cur: str(total)
            for cur, total in totals_by_currency((o.currency, o.amount) for o in obligations).items()
        },
    }
