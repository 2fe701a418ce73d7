"""The cycle's typed values refuse illegal moves themselves (no database): obligations, payment
instructions, netting rounds, disputes, statements and cycles."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from o2o.domain.cycle import Cycle, CycleState, DisputeState, PaymentStatus
from o2o.domain.disputes import Dispute, Proposal, ProposalStatus, latest_pending
from o2o.domain.errors import InvalidTransitionError
from o2o.domain.obligations import NettingRound, Obligation, ObligationStatus, PaymentInstruction, RoundState
from o2o.domain.statements import Statement, StatementState

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def test_an_obligation_moves_open_netted_settled_and_withheld_to_open_or_cancelled() -> None:
    ob = Obligation("OBL-1", "BETA", "ALFA", Decimal("10.00"), "EUR", date(2026, 12, 1), "ST-1")
    assert (ob.status, ob.remaining) == (ObligationStatus.OPEN, Decimal("10.00"))
    netted = ob.moved(ObligationStatus.NETTED, remaining=Decimal("4.00"))
    assert netted.outstanding().amount == Decimal("4.00")
    assert netted.moved(ObligationStatus.SETTLED, remaining=Decimal(0)).status is ObligationStatus.SETTLED
    with pytest.raises(InvalidTransitionError, match="OBL-1 is open: cannot move to settled"):
        ob.moved(ObligationStatus.SETTLED)
    held = Obligation("OBL-2", "BETA", "ALFA", Decimal("3.00"), "EUR", status=ObligationStatus.WITHHELD)
    with pytest.raises(InvalidTransitionError, match="withheld: cannot move to netted"):
        held.moved(ObligationStatus.NETTED)
    cancelled = held.moved(ObligationStatus.CANCELLED, amount=Decimal(0), remaining=Decimal(0))
    with pytest.raises(InvalidTransitionError, match=r"nothing \(final\)"):
        cancelled.moved(ObligationStatus.OPEN)


def test_a_payment_is_confirmed_once_and_a_round_settles_once() -> None:
    pay = PaymentInstruction("PAY-1", "RND-1", "BETA", "ALFA", Decimal("5.00"), "EUR")
    done = pay.confirmed("BANK-1", "ALFA", NOW)
    assert (done.status, done.reference, done.confirmed_by) == (PaymentStatus.CONFIRMED, "BANK-1", "ALFA")
    with pytest.raises(InvalidTransitionError, match="PAY-1 is already confirmed"):
        done.confirmed("BANK-2", "HUB", NOW)
    rnd = NettingRound("RND-1", "2026-10", "conservative", {})
    assert rnd.settled().state is RoundState.SETTLED
    with pytest.raises(InvalidTransitionError, match="already settled"):
        rnd.settled().settled()


def _dispute(state: DisputeState = DisputeState.OPEN) -> Dispute:
    return Dispute(
        "DSP-1", "ST-1", "voice", "ALFA", "BETA", "EUR", Decimal("12.00"), Decimal("10.00"),
        Decimal("2.00"), date(2026, 11, 30), {}, state,
    )  # fmt: skip


def test_a_dispute_resolves_or_escalates_once_between_its_parties() -> None:
    d = _dispute()
    assert d.resolved(Decimal("11.00")).resolved_amount == Decimal("11.00")
    with pytest.raises(InvalidTransitionError, match="HUB is not a party"):
        d.open_to("HUB")
    escalated = d.escalated()
    with pytest.raises(InvalidTransitionError, match="escalated: no more proposals"):
        escalated.open_to("ALFA")
    with pytest.raises(InvalidTransitionError, match="escalated: cannot move to resolved"):
        escalated.resolved(Decimal("11.00"))
    own = [Proposal("DSP-1", 1, "ALFA", Decimal("12.00"), "")]
    with pytest.raises(InvalidTransitionError, match="cannot answer its own proposal"):
        latest_pending(d, own, "ALFA")
    assert latest_pending(d, own, "BETA").seq == 1
    answered = [Proposal("DSP-1", 1, "ALFA", Decimal("12.00"), "", ProposalStatus.REJECTED)]
    with pytest.raises(InvalidTransitionError, match="no pending proposal"):
        latest_pending(d, answered, "BETA")


def test_a_signed_statement_is_final_and_a_cycle_moves_only_as_its_table_says() -> None:
    st = Statement("ST-1", "AG/2026-10", "AG", "2026-10", "EUR", StatementState.DISPUTED, "d0", "{}", "{}")
    assert st.reissued("{ }", "d1", disputes_open=False).state is StatementState.AGREED
    signed = st.signed()
    with pytest.raises(InvalidTransitionError, match="already signed by both"):
        signed.signed()
    with pytest.raises(InvalidTransitionError, match="signed: it cannot be re-issued"):
        signed.reissued("{}", "d2", disputes_open=False)
    cycle = Cycle("AG/2026-10", "AG", "2026-10", CycleState.SIGNED)
    assert cycle.moved(CycleState.NETTED).state is CycleState.NETTED
    with pytest.raises(InvalidTransitionError, match="cycle AG/2026-10 is signed: cannot move to declared"):
        cycle.moved(CycleState.DECLARED)
