"""Splitting a dispute (`disputes.concede`): a party gives up part of the contested amount and keeps contesting
the rest — before anyone signed (the line and the document change), after both signed (the withheld obligation
shrinks and what the undisputed part gains is payable at once), refused between the two signatures; each step
in the dispute's history with its time, from the ledger.

The network is made through the CLI as a user would; the steps under test are the service calls."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import cycle_steps
from o2o.bootstrap import Workspace, open_workspace
from o2o.config import Settings
from o2o.domain.disputes import Dispute, ProposalStatus
from o2o.domain.errors import InvalidTransitionError, ValidationError
from o2o.domain.obligations import ObligationStatus
from o2o.services import disputes as dsp
from o2o.services import statements


@pytest.fixture
def reconciled(db_cli: Any, tmp_path: Path) -> dict[str, Any]:
    period, report, ag = cycle_steps.reconciled(db_cli, tmp_path, cdrs=400, seed=5)
    return {"period": period, "statement": report["statement"], "disputes": report["disputes"],
            "parties": list(ag["parties"]), "cli": db_cli}  # fmt: skip


def _store_agrees_with_the_ledger(ctx: dict[str, Any]) -> None:
    """`o2o ledger verify --store`: statements re-issued and obligations changed as registered."""
    r = ctx["cli"]("ledger", "verify", "--store")
    assert r.code == 0, (r.out, r.err)


def _sides(d: Dispute) -> tuple[str, str]:
    """(the party with the lower figure, the party with the higher one)."""
    return (d.customer, d.provider) if d.customer_amount < d.provider_amount else (d.provider, d.customer)


def _line(ws: Workspace, statement_id: str, service: str) -> Any:
    return next(x for x in statements.show_statement(ws, statement_id).lines if x.service == service)


def _part(d: Dispute) -> Decimal:
    """A part of the contested amount in whole minor units, about a third of it."""
    return (d.contested_amount / 3).quantize(Decimal("0.01"))


def test_a_split_before_signing_reissues_the_line_and_keeps_the_rest_contested(
    reconciled: dict[str, Any],
) -> None:
    ws = open_workspace(Settings())
    d_id, st_id = reconciled["disputes"][0], reconciled["statement"]
    d = dsp.show_dispute(ws, d_id).dispute
    low, high = _sides(d)
    before = statements.show_statement(ws, st_id).statement
    line = _line(ws, st_id, d.service)
    # the higher side proposes its own figure (pending), then the lower side gives up a part
    dsp.propose(ws, d_id, high, str(max(d.provider_amount, d.customer_amount)))
    part = _part(d)
    view = dsp.concede(ws, d_id, low, str(part), "the night calls are ours")
    after = view.dispute
    assert after.state.value == "open"
    assert after.contested_amount == d.contested_amount - part
    assert (
        min(after.provider_amount, after.customer_amount) == min(d.provider_amount, d.customer_amount) + part
    )
    assert max(after.provider_amount, after.customer_amount) == max(d.provider_amount, d.customer_amount)
    # the line: the undisputed part grew by the part, the disputed part shrank by it; the document re-issued
    now = _line(ws, st_id, d.service)
    assert now.agreed_amount == line.agreed_amount + part
    assert now.disputed_amount == line.disputed_amount - part
    st = statements.show_statement(ws, st_id).statement
    assert st.digest != before.digest
    doc_line = next(x for x in json.loads(st.document)["lines"] if x["service"] == d.service)
    assert Decimal(doc_line["agreed_amount"]) == now.agreed_amount
    # the part is in the timeline; the pending proposal (still within the figures) stays pending
    statuses = [(p.by, p.status) for p in view.proposals]
    assert statuses == [(high, ProposalStatus.PENDING), (low, ProposalStatus.CONCEDED)]
    kinds = [h["kind"] for h in view.history]
    assert kinds == ["opened", "proposed", "conceded"]
    conceded = view.history[-1]
    assert conceded["by"] == low and Decimal(str(conceded["amount"])) == part and conceded["at"]
    # the higher side splits too: its claim shrinks, the undisputed part does not move
    again = dsp.concede(ws, d_id, high, str(_part(after))).dispute
    assert again.contested_amount == after.contested_amount - _part(after)
    assert _line(ws, st_id, d.service).agreed_amount == now.agreed_amount
    # what is left is settled as usual: the split-the-difference offer lies within the narrowed figures
    offer = dsp.propose(ws, d_id, high, None).split_offer
    lo, hi = sorted((again.provider_amount, again.customer_amount))
    assert lo <= offer <= hi
    resolved = dsp.accept(ws, d_id, low).dispute
    assert resolved.resolved_amount == offer
    assert _line(ws, st_id, d.service).agreed_amount == offer
    assert [h["kind"] for h in dsp.show_dispute(ws, d_id).history][-1] == "accepted"
    _store_agrees_with_the_ledger(reconciled)


def test_a_split_is_refused_when_it_is_not_a_part(reconciled: dict[str, Any]) -> None:
    ws = open_workspace(Settings())
    d_id = reconciled["disputes"][0]
    d = dsp.show_dispute(ws, d_id).dispute
    low, _ = _sides(d)
    for amount, message in ((d.contested_amount, "less than the contested"), ("0", "more than 0"),
                            ("-1", "negative"), ("0.001", "amount")):  # fmt: skip
        with pytest.raises(ValidationError, match=message):
            dsp.concede(ws, d_id, low, str(amount))
    assert dsp.show_dispute(ws, d_id).dispute == d  # nothing changed


def test_a_split_after_both_signed_releases_the_part_and_the_resolution_adds_the_rest(
    reconciled: dict[str, Any],
) -> None:
    ws = open_workspace(Settings())
    d_id, st_id = reconciled["disputes"][0], reconciled["statement"]
    d = dsp.show_dispute(ws, d_id).dispute
    low, high = _sides(d)
    line = _line(ws, st_id, d.service)
    a, b = reconciled["parties"]
    statements.sign_statement(ws, st_id, a)
    # between the two signatures the signed document cannot change: refused, nothing done
    with pytest.raises(InvalidTransitionError, match=r"signed by \w+ only"):
        dsp.concede(ws, d_id, low, str(_part(d)))
    statements.sign_statement(ws, st_id, b)
    with ws.uow() as uow:
        withheld = uow.cycles.obligation_of_dispute(d_id)
    assert withheld is not None and withheld.status is ObligationStatus.WITHHELD
    part = _part(d)
    narrowed = dsp.concede(ws, d_id, low, str(part)).dispute
    with ws.uow() as uow:
        now = uow.cycles.obligation_of_dispute(d_id)
        released = [o for o in uow.cycles.obligations(reconciled["period"]) if o.id == f"{withheld.id}-c1"]
        booked = uow.accounts.by_key(f"adjustment/{d_id}-c1/{d.provider}>{d.customer}")
    assert now is not None and now.status is ObligationStatus.WITHHELD
    assert now.amount == narrowed.contested_amount == withheld.amount - part
    (rel,) = released
    assert rel.status is ObligationStatus.OPEN and rel.amount == part
    assert (rel.debtor, rel.creditor) == (withheld.debtor, withheld.creditor)
    (note,) = booked  # the part booked as a debit note on the customer
    assert note.amount == part and (note.debit_party, note.credit_party) == (d.provider, d.customer)
    # the higher side gives up a part of its claim: withheld shrinks, nothing more is payable
    dsp.concede(ws, d_id, high, str(_part(narrowed)))
    with ws.uow() as uow:
        shrunk = uow.cycles.obligation_of_dispute(d_id)
        period_obs = uow.cycles.obligations(reconciled["period"])
    conceded = [o.id for o in period_obs if o.id.startswith(withheld.id + "-c")]
    assert shrunk is not None and shrunk.amount == narrowed.contested_amount - _part(narrowed)
    assert conceded == [rel.id]
    # resolved at A: what is payable for the line adds up to A exactly (signed agreed + part + released rest)
    offer = dsp.propose(ws, d_id, high, None).split_offer
    dsp.accept(ws, d_id, low)
    with ws.uow() as uow:
        final = uow.cycles.obligation_of_dispute(d_id)
    assert final is not None and final.status is ObligationStatus.OPEN
    assert line.agreed_amount + part + final.amount == offer
    _store_agrees_with_the_ledger(reconciled)
