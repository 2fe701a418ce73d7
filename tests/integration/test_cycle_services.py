"""The cycle's use cases called directly, below the CLI, on SQLite and PostgreSQL: each legal and illegal
transition they can reach, signing in one transaction (a statement re-issued between the read and the write
is refused), a netting round run twice, a payment confirmed twice.

The network is set up through the CLI as a user would (generate, load, keys, import, reconcile); every step
under test is a service call on the same workspace, and its result is checked as the typed value it returns.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

import cycle_steps
from o2o.bootstrap import Workspace, open_workspace
from o2o.config import Settings
from o2o.domain.cycle import CycleState, DisputeState, PaymentStatus
from o2o.domain.disputes import ProposalStatus
from o2o.domain.errors import InvalidTransitionError, ValidationError
from o2o.domain.obligations import Obligation, ObligationStatus, RoundState
from o2o.domain.statements import StatementState
from o2o.services import disputes as dsp
from o2o.services import settlement, statements


@pytest.fixture
def reconciled(db_cli: Any, tmp_path: Path) -> dict[str, Any]:
    """A generated two-operator network declared and reconciled at zero tolerance (some lines disputed)."""
    period, report, ag = cycle_steps.reconciled(db_cli, tmp_path, cdrs=400, seed=5)
    return {"period": period, "statement": report["statement"], "disputes": report["disputes"],
            "parties": list(ag["parties"]), "agreement": ag["id"]}  # fmt: skip


def _ws() -> Workspace:
    return open_workspace(Settings())


def _resolve(ws: Workspace, dispute_id: str) -> None:
    d = dsp.show_dispute(ws, dispute_id).dispute
    dsp.propose(ws, dispute_id, d.provider, None)
    dsp.accept(ws, dispute_id, d.customer)


def _signed(ws: Workspace, ctx: dict[str, Any]) -> None:
    for d_id in ctx["disputes"]:
        _resolve(ws, d_id)
    for op in ctx["parties"]:
        statements.sign_statement(ws, ctx["statement"], op)


def _cycle_state(ws: Workspace, period: str) -> str:
    (cycle,) = settlement.cycle_status(ws, period)
    return str(cycle["state"])


def test_signing_refuses_a_statement_reissued_between_the_read_and_the_write(
    reconciled: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other party's accepted proposal re-issues the statement while the signer's transaction has read
    it (its digest and state checked) and not yet stored the signature: the signature is refused, none is
    stored, and the re-issued statement is signed normally afterwards."""
    ws, ctx = _ws(), reconciled
    d_id, *others = ctx["disputes"]
    for other in others:
        _resolve(ws, other)
    d = dsp.show_dispute(ws, d_id).dispute
    dsp.propose(ws, d_id, d.provider, None)
    before = statements.show_statement(ws, ctx["statement"]).statement.digest
    checked = statements._check_can_sign
    reissued: list[str] = []

    def check_then_reissue(*args: Any) -> None:
        checked(*args)
        if not reissued:  # another unit of work commits the re-issue inside the signer's read-write window
            reissued.append(dsp.accept(ws, d_id, d.customer).dispute.state.value)

    monkeypatch.setattr(statements, "_check_can_sign", check_then_reissue)
    with pytest.raises(InvalidTransitionError, match="changed while it was being signed"):
        statements.sign_statement(ws, ctx["statement"], d.provider, reviewed=before)
    monkeypatch.undo()
    assert reissued == ["resolved"]
    shown = statements.show_statement(ws, ctx["statement"])
    assert shown.statement.digest != before and shown.signatures == ()
    assert shown.statement.state is StatementState.AGREED  # the last dispute resolved: re-issued agreed
    first = statements.sign_statement(ws, ctx["statement"], d.provider, reviewed=shown.statement.digest)
    assert first.complete is False


def test_signing_transitions_legal_and_illegal(reconciled: dict[str, Any]) -> None:
    ws, ctx = _ws(), reconciled
    provider, customer = ctx["parties"]
    st = ctx["statement"]
    assert _cycle_state(ws, ctx["period"]) == CycleState.DISPUTED.value
    with pytest.raises(InvalidTransitionError, match="not a party"):
        statements.sign_statement(ws, st, "HUB")
    with pytest.raises(InvalidTransitionError, match="has changed"):
        statements.sign_statement(ws, st, provider, reviewed="0" * 64)
    assert statements.sign_statement(ws, st, provider).complete is False
    with pytest.raises(InvalidTransitionError, match="already signed"):
        statements.sign_statement(ws, st, provider)
    done = statements.sign_statement(ws, st, customer)
    assert done.complete is True and done.obligations
    signed = statements.show_statement(ws, st)
    assert signed.statement.state is StatementState.SIGNED
    assert sorted(s.operator for s in signed.signatures) == sorted(ctx["parties"])
    (listed,) = statements.list_statements(ws, ctx["period"], "signed")
    assert listed.statement.id == st and listed.lines == ()
    assert statements.list_statements(ws, ctx["period"], "agreed") == []
    with pytest.raises(ValidationError, match="--state 'sent' is not one of: agreed, disputed, signed"):
        statements.list_statements(ws, ctx["period"], "sent")
    assert _cycle_state(ws, ctx["period"]) == CycleState.SIGNED.value
    with pytest.raises(InvalidTransitionError, match="already signed by both"):
        statements.sign_statement(ws, st, customer)


def test_dispute_transitions_legal_and_illegal(reconciled: dict[str, Any]) -> None:
    ws, ctx = _ws(), reconciled
    d_id = ctx["disputes"][0]
    d = dsp.show_dispute(ws, d_id).dispute
    assert d.state is DisputeState.OPEN
    with pytest.raises(InvalidTransitionError, match="no pending proposal"):
        dsp.accept(ws, d_id, d.customer)
    with pytest.raises(InvalidTransitionError, match="not a party"):
        dsp.propose(ws, d_id, "HUB", None)
    first = dsp.propose(ws, d_id, d.provider, d.provider_amount)
    assert [(p.by, p.status) for p in first.proposals] == [(d.provider, ProposalStatus.PENDING)]
    with pytest.raises(InvalidTransitionError, match="own proposal"):
        dsp.accept(ws, d_id, d.provider)
    with pytest.raises(ValidationError, match="outside the two figures"):
        dsp.propose(ws, d_id, d.customer, "0.00")
    rejected = dsp.reject(ws, d_id, d.customer)
    assert [p.status for p in rejected.proposals] == [ProposalStatus.REJECTED]
    countered = dsp.propose(ws, d_id, d.customer, None)
    dsp.propose(ws, d_id, d.provider, countered.split_offer)  # a counter-proposal supersedes the pending one
    resolved = dsp.accept(ws, d_id, d.customer)
    statuses = [p.status for p in resolved.proposals]
    assert statuses == [ProposalStatus.REJECTED, ProposalStatus.SUPERSEDED, ProposalStatus.ACCEPTED]
    assert resolved.dispute.state is DisputeState.RESOLVED
    assert resolved.dispute.resolved_amount == resolved.split_offer
    with pytest.raises(InvalidTransitionError, match="resolved: no more proposals"):
        dsp.propose(ws, d_id, d.provider, None)


def _obligations(ws: Workspace, period: str) -> list[Obligation]:
    with ws.uow() as uow:
        return uow.cycles.obligations(period)


def test_a_netting_round_run_twice_nets_nothing_twice(reconciled: dict[str, Any]) -> None:
    """Signed with one dispute still open: the undisputed part is netted, the contested part withheld. A
    second round finds nothing new to net and is refused (no empty round, no set-off made twice); the
    dispute's resolution releases the withheld part and only then does a second round net it."""
    ws, ctx = _ws(), reconciled
    period = ctx["period"]
    with pytest.raises(InvalidTransitionError, match="no signed statements"):
        settlement.run_netting(ws, period)
    held, *others = ctx["disputes"]
    for d_id in others:
        _resolve(ws, d_id)
    for op in ctx["parties"]:
        statements.sign_statement(ws, ctx["statement"], op)
    withheld = [o for o in _obligations(ws, period) if o.status is ObligationStatus.WITHHELD]
    assert [o.dispute_id for o in withheld] == [held]
    first = settlement.run_netting(ws, period, "conservative")
    assert first.round.state is RoundState.ISSUED and first.payments
    assert _cycle_state(ws, period) == CycleState.NETTED.value
    statuses = {o.id: o.status for o in _obligations(ws, period)}
    assert statuses[withheld[0].id] is ObligationStatus.WITHHELD
    assert {s for i, s in statuses.items() if i != withheld[0].id} == {ObligationStatus.NETTED}
    with pytest.raises(InvalidTransitionError, match="no signed statements with open obligations"):
        settlement.run_netting(ws, period, "conservative")
    with ws.uow() as uow:
        assert [r.id for r in uow.cycles.rounds(period)] == [first.round.id]
    assert {p.id for p in settlement.list_payments(ws)} == {p.id for p in first.payments}

    _resolve(ws, held)
    (released,) = [o for o in _obligations(ws, period) if o.id == withheld[0].id]
    assert released.status in (ObligationStatus.OPEN, ObligationStatus.CANCELLED)
    if released.status is ObligationStatus.OPEN:
        second = settlement.run_netting(ws, period, "conservative")
        with ws.uow() as uow:
            netted = [s.obligation_id for r in uow.cycles.rounds(period) for s in uow.cycles.setoffs(r.id)]
        assert len(netted) == len(set(netted)), "an obligation set off in two rounds"
        assert second.round.id != first.round.id


def test_a_payment_confirmed_twice_is_refused_and_only_the_payee_or_hub_confirms(
    reconciled: dict[str, Any],
) -> None:
    ws, ctx = _ws(), reconciled
    period = ctx["period"]
    _signed(ws, ctx)
    netting = settlement.run_netting(ws, period, "conservative")
    pays = [p.to_dict() for p in netting.payments]
    assert pays, "the conservative round leaves each pair's remainder to pay"
    pay, *rest = pays
    with pytest.raises(ValidationError, match="may not confirm it"):
        settlement.confirm_payment(ws, pay["id"], reference="B-1", confirmed_by=pay["payer"])
    with pytest.raises(ValidationError, match="reference"):
        settlement.confirm_payment(ws, pay["id"], reference=" ", confirmed_by=pay["payee"])
    done = settlement.confirm_payment(ws, pay["id"], reference="B-1", confirmed_by=pay["payee"])
    assert done.payment.status is PaymentStatus.CONFIRMED and done.payment.reference == "B-1"
    assert done.round_settled is (not rest)
    with pytest.raises(InvalidTransitionError, match="already confirmed"):
        settlement.confirm_payment(ws, pay["id"], reference="B-2", confirmed_by="HUB")
    (again,) = settlement.list_payments(ws, status="confirmed")
    assert (again.reference, again.confirmed_by) == ("B-1", pay["payee"])
    if rest:  # the round is not settled until its last instruction is confirmed
        with pytest.raises(InvalidTransitionError, match="not settled"):
            settlement.close_period(ws, period)
    for other in rest:
        settlement.confirm_payment(ws, other["id"], reference="B-3", confirmed_by="HUB")
    assert _cycle_state(ws, period) == CycleState.SETTLED.value
    assert settlement.close_period(ws, period) == [f"{ctx['agreement']}/{period}"]
    assert _cycle_state(ws, period) == CycleState.CLOSED.value


def test_overdue_disputes_escalate_once_and_take_no_more_proposals(reconciled: dict[str, Any]) -> None:
    ws, ctx = _ws(), reconciled
    first, *others = ctx["disputes"]
    _resolve(ws, first)
    deadline = dsp.show_dispute(ws, others[0]).dispute.deadline if others else None
    if deadline is not None:
        assert dsp.escalate_overdue(ws, deadline) == []  # due on its deadline, overdue the day after
    later = date(2099, 1, 1)
    assert dsp.escalate_overdue(ws, later) == sorted(others)
    assert dsp.escalate_overdue(ws, later) == []
    states = {v.dispute.id: v.dispute.state for v in dsp.list_disputes(ws)}
    assert states == {first: DisputeState.RESOLVED} | {d: DisputeState.ESCALATED for d in others}
    assert [v.dispute.id for v in dsp.list_disputes(ws, "escalated")] == sorted(others)
    for d_id in others:
        d = dsp.show_dispute(ws, d_id).dispute
        with pytest.raises(InvalidTransitionError, match="escalated: no more proposals"):
            dsp.propose(ws, d_id, d.provider, None)
    with pytest.raises(ValidationError, match="dispute state 'closed' is not one of"):
        dsp.list_disputes(ws, "closed")


def test_a_period_with_an_open_dispute_does_not_close(reconciled: dict[str, Any]) -> None:
    """Signed with one dispute open and every instruction paid: the cycle settles, and closing the period
    is refused naming the dispute, found through its statement's period."""
    ws, ctx = _ws(), reconciled
    period = ctx["period"]
    held, *others = ctx["disputes"]
    for d_id in others:
        _resolve(ws, d_id)
    for op in ctx["parties"]:
        statements.sign_statement(ws, ctx["statement"], op)
    issued = settlement.run_netting(ws, period, "conservative")
    for pay in issued.payments:
        settlement.confirm_payment(ws, pay.id, reference=f"B-{pay.id}", confirmed_by=pay.payee)
    assert _cycle_state(ws, period) == CycleState.SETTLED.value
    with pytest.raises(InvalidTransitionError, match=f"cannot close: open disputes {held}$"):
        settlement.close_period(ws, period)
    with ws.uow() as uow:
        assert [d.id for d in uow.cycles.disputes(state=DisputeState.OPEN, period=period)] == [held]
        assert uow.cycles.disputes(state=DisputeState.OPEN, period="2000-01") == []
