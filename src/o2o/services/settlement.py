"""After signing: netting rounds over a period's obligations, payment confirmation, closing the period,
and the cycle's status.

A round nets every open obligation of the period (withheld ones, under dispute, stay out), records the
set-off per obligation and posts it to the books, and issues the payment instructions that remain. When
every instruction of a round is confirmed, each obligation's remainder is posted as paid and the cycles
of the period are settled.
"""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any

from o2o.bootstrap import Workspace
from o2o.domain.agreements import Agreement
from o2o.domain.cycle import CycleState, PaymentStatus, parse_state
from o2o.domain.errors import InvalidTransitionError, NotFoundError, ValidationError
from o2o.domain.money import ZERO, totals_by_currency
from o2o.domain.obligations import Obligation
from o2o.domain.periods import Period
from o2o.ledger.keys import HUB, Signer
from o2o.netting import DEFAULT_HUB, NettingMode, NettingResult
from o2o.services.accounts import post_payment, post_setoff
from o2o.services.cycle_common import hub_signer, missing_declarations, move_cycle, register
from o2o.services.registered_record import (
    check_obligations,
    check_payment,
    payment_figures,
    register_obligations,
)
from o2o.services.registry_data import read_agreement
from o2o.services.statements import withdraw_statement
from o2o.store.cycle_repository import CycleRepository
from o2o.store.uow import UnitOfWork


def note_declaration(uow: UnitOfWork, agreement: Agreement, period: str, hub: Signer, *, cause: str) -> None:
    """After an import (declaration `cause`): the cycle is `declared` once both parties declared every
    usage service; a re-declaration of an unsigned cycle sends it back to `declared` and withdraws its
    statement (and any signature on it), so nobody can sign figures the usage no longer supports."""
    repo = uow.cycles
    cycle = repo.ensure_cycle(agreement.id, period)
    state = CycleState(cycle["state"])
    if state in (CycleState.SIGNED, CycleState.NETTED, CycleState.SETTLED, CycleState.CLOSED):
        raise InvalidTransitionError(
            f"cycle {cycle['id']} is {state.value}: its statement is signed, usage can no longer change"
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


def _domain(rows: list[dict[str, Any]]) -> list[Obligation]:
    return [
        Obligation(
            r["id"],
            r["debtor"],
            r["creditor"],
            Decimal(r["remaining"]),
            r["currency"],
            r["due_date"],
            r["statement_id"],
        )
        for r in rows
    ]


def figures_of(result: NettingResult, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The round's headline figures per currency (amounts as strings), named so that they add up:
    gross_total − cleared_total = remaining_total (what set-off left), and remaining_total −
    reduced_by_settlement = money_moved (what the operators pay). Conservative mode pays the remaining
    obligations as they stand (no reduction); direct and clearing-house settle net positions, so a chain
    A→B→C is paid as A→C and the reduction is remaining_total − net_internal_debt. In clearing-house mode
    the operators pay the hub and the hub passes the same sum on (`hub_paid_out`); elsewhere it is 0."""
    out: dict[str, Any] = {"mode": result.mode.value, "currencies": {}}
    for cur in result.currencies:
        netted = [r for r in rows if r["currency"] == cur.currency and r["status"] == "open"]
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
    out["obligations"] = len(rows)
    return out


def run_netting(ws: Workspace, period: str, mode: str = "clearing-house") -> dict[str, Any]:
    """Net the period's signed obligations; record set-offs and payment instructions; cycles → netted."""
    # Imported here: the engine loads NumPy, OR-Tools and HiGHS, which `o2o cycle status` never needs.
    from o2o.netting import net_obligations

    per = Period.parse(period)
    netting_mode = NettingMode.parse(mode)
    hub = hub_signer(ws)
    with ws.uow() as uow:
        repo = uow.cycles
        rows = repo.obligations(str(per), statuses=("open", "withheld"))
        signed = [c for c in repo.cycles(str(per)) if c["state"] == CycleState.SIGNED.value]
        if not rows and not signed:
            raise InvalidTransitionError(f"period {per}: no signed statements with open obligations to net")
        # Money moves on these figures: each must still be what the ledger registered, or nothing is written.
        check_obligations(uow, rows, f"netting of {per}")
        withheld = [r["id"] for r in rows if r["status"] == "withheld"]
        result = net_obligations(_domain(rows), mode=netting_mode, withheld=withheld)
        # Numbered per period (RND-2026-10-1, -2, …) so that ids are predictable; a concurrent round
        # taking the same number fails on the key and changes nothing.
        round_id = f"RND-{per}-{len(repo.rounds(str(per))) + 1}"
        figures = figures_of(result, rows)
        repo.add_round(round_id, str(per), netting_mode.value, figures)
        by_id = {r["id"]: r for r in rows}
        changed: list[dict[str, Any]] = []
        issued: list[dict[str, Any]] = []
        for cur in result.currencies:
            for so in cur.setoffs:
                ob = by_id[so.obligation]
                repo.add_setoff(round_id, so.obligation, so.amount)
                remaining = Decimal(ob["remaining"]) - so.amount
                repo.update_obligation(ob, remaining=remaining, status="netted")
                changed.append({**ob, "remaining": remaining, "status": "netted"})
                post_setoff(
                    uow, round_id=round_id, obligation_id=so.obligation, debtor=ob["debtor"],
                    creditor=ob["creditor"], amount=so.amount, currency=ob["currency"],
                    date=per.next.first_day, actor="HUB",
                )  # fmt: skip
            for i, pay in enumerate(cur.payments, start=1):
                issued.append(
                    {"id": f"PAY-{round_id[4:]}-{cur.currency}-{i:03d}", "round_id": round_id, "payer": pay.payer,
                     "payee": pay.payee, "amount": pay.amount, "currency": cur.currency}
                )  # fmt: skip
                repo.add_payment(issued[-1])
        set_off = {so.obligation for cur in result.currencies for so in cur.setoffs}
        for ob in rows:
            if ob["status"] == "open" and ob["id"] not in set_off:
                repo.update_obligation(ob, status="netted")
                changed.append({**ob, "status": "netted"})
        for cycle in signed:
            move_cycle(uow, cycle, CycleState.NETTED, hub)
        register_obligations(uow, hub, "obligation.changed", changed)
        # The round's entry carries its set-offs and instructions with their figures: the registered record
        # that payment confirmation and `ledger verify --store` compare the store with.
        registered = {
            "setoffs": [{"obligation": so.obligation, "amount": str(so.amount)} for c in result.currencies
                        for so in c.setoffs],
            "payment_instructions": [payment_figures(p) for p in issued],
        }  # fmt: skip
        register(uow, hub, "netting.round", round_id, {**figures, **registered})
        if not repo.payments(round_id):
            _settle_round(uow, repo, round_id, hub)
        uow.commit()
    return {"round": round_id, **figures, "payments": list_payments(ws, round_id)}


_PAYMENT_FIELDS = (
    "id",
    "round_id",
    "payer",
    "payee",
    "amount",
    "currency",
    "status",
    "confirmed_by",
    "reference",
)


def list_payments(
    ws: Workspace, round_id: str | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    """The payment instructions of every round or of `round_id`, in any status or in `status`; an unknown
    round or status is an error, not an empty list."""
    wanted = None if status is None else parse_state(PaymentStatus, status, "payment status").value
    with ws.uow() as uow:
        repo = uow.cycles
        if round_id is not None:
            repo.round(round_id)
        rows = repo.payments(round_id, status=wanted)
    return [{k: r[k] for k in _PAYMENT_FIELDS} for r in rows]


def confirm_payment(ws: Workspace, payment_id: str, *, reference: str, confirmed_by: str) -> dict[str, Any]:
    """Confirm a payment instruction was paid, by the creditor who received it or the hub, with the bank's
    reference; the last one of a round settles the round."""
    hub = hub_signer(ws)
    with ws.uow() as uow:
        repo = uow.cycles
        pay = repo.payment(payment_id)
        check_payment(uow, pay, f"confirming payment {payment_id}")
        reference = _check_confirmation(pay, reference, confirmed_by)
        repo.confirm_payment(pay, reference, confirmed_by)
        register(
            uow, hub, "payment.confirmed", payment_id,
            {"amount": str(pay["amount"]), "reference": reference, "confirmed_by": confirmed_by},
        )  # fmt: skip
        settled = not repo.payments(pay["round_id"], status="pending")
        if settled:
            _settle_round(uow, repo, pay["round_id"], hub)
        uow.commit()
    return {"payment": payment_id, "round": pay["round_id"], "round_settled": settled,
            "confirmed_by": confirmed_by, "reference": reference}  # fmt: skip


def _check_confirmation(pay: dict[str, Any], reference: str, confirmed_by: str) -> str:
    """Only who received the money (the payee, the creditor) or the hub says it arrived, and says under
    which bank reference: the payer's word alone would let a debtor settle its own debt."""
    if confirmed_by not in (pay["payee"], HUB):
        raise ValidationError(
            f"payment {pay['id']}: --as {confirmed_by} may not confirm it; only its payee "
            f"{pay['payee']} (the creditor) or {HUB} may"
        )
    if not reference.strip():
        raise ValidationError(f"payment {pay['id']}: --reference (the bank's reference) is required")
    return reference.strip()


def _settle_round(uow: UnitOfWork, repo: CycleRepository, round_id: str, hub: Signer) -> None:
    """Every instruction paid: each netted obligation's remainder is paid; the period's cycles settle."""
    rnd = repo.round(round_id)
    per = Period.parse(rnd["period"])
    netted = repo.obligations(rnd["period"], statuses=("netted",))
    check_obligations(uow, netted, f"settling round {round_id}")
    for ob in netted:
        remaining = Decimal(ob["remaining"])
        if remaining > ZERO:
            post_payment(
                uow, payment_id=f"{round_id}/{ob['id']}", payer=ob["debtor"], payee=ob["creditor"],
                amount=remaining, currency=ob["currency"], date=per.next.first_day, actor="HUB",
                description=f"settled through netting round {round_id} ({rnd['mode']})",
            )  # fmt: skip
        repo.update_obligation(ob, remaining=ZERO, status="settled")
    register_obligations(
        uow, hub, "obligation.changed", ({**ob, "remaining": ZERO, "status": "settled"} for ob in netted)
    )
    repo.set_round_state(rnd, "settled")
    for cycle in repo.cycles(rnd["period"]):
        if cycle["state"] == CycleState.NETTED.value:
            move_cycle(uow, cycle, CycleState.SETTLED, hub)
    register(uow, hub, "netting.settled", round_id, {"period": rnd["period"]})


def close_period(ws: Workspace, period: str) -> list[str]:
    """Close every settled cycle of the period; refuses while a cycle is not settled or a dispute is open."""
    per = Period.parse(period)
    hub = hub_signer(ws)
    with ws.uow() as uow:
        repo = uow.cycles
        cycles = repo.cycles(str(per))
        if not cycles:
            raise NotFoundError(f"period {per} has no cycles")
        waiting = [f"{c['id']} ({c['state']})" for c in cycles if c["state"] not in ("settled", "closed")]
        if waiting:
            raise InvalidTransitionError(f"period {per} cannot close: not settled: {', '.join(waiting)}")
        open_disputes = [
            d["id"] for d in repo.disputes(state="open") if d["statement_id"].endswith(f"-{per}")
        ]
        if open_disputes:
            raise InvalidTransitionError(
                f"period {per} cannot close: open disputes {', '.join(open_disputes)}"
            )
        closed = []
        for c in cycles:
            if c["state"] == "settled":
                move_cycle(uow, c, CycleState.CLOSED, hub)
                closed.append(c["id"])
        register(uow, hub, "period.closed", str(per), {"cycles": closed})
        uow.commit()
    return closed


def open_period(ws: Workspace, period: str) -> list[str]:
    """Open the period's cycle of every agreement (cycles also open on the first declaration)."""
    per = Period.parse(period)
    hub = hub_signer(ws)
    with ws.uow() as uow:
        repo = uow.cycles
        opened = [
            repo.ensure_cycle(a.id, str(per))["id"]
            for a in uow.agreements.all()
            if repo.cycle(a.id, str(per)) is None
        ]
        register(uow, hub, "period.opened", str(per), {"cycles": opened})
        uow.commit()
    return opened


def cycle_status(ws: Workspace, period: str | None = None) -> list[dict[str, Any]]:
    """Each cycle with who it is waiting for, its statement, disputes and obligations."""
    # A period that is not a month is an error: as text it would match no cycle and show nothing.
    period = None if period is None else str(Period.parse(period))
    with ws.uow() as uow:
        repo = uow.cycles
        # Every obligation read once, grouped by the statement it comes from.
        by_statement: dict[str, list[dict[str, Any]]] = {}
        for o in repo.obligations(period):
            by_statement.setdefault(o["statement_id"], []).append(o)
        out = []
        for c in repo.cycles(period):
            waiting: list[str] = []
            if c["state"] == CycleState.OPEN.value:
                agreement, _ = read_agreement(uow, c["agreement_id"])
                declared = {(d.service, d.role) for d in uow.declarations.all(agreement.id, c["period"])}
                waiting = missing_declarations(agreement, declared)
            st = repo.statement_of(c["agreement_id"], c["period"])
            disputes = repo.disputes(st["id"]) if st else []
            obligations = by_statement.get(st["id"], []) if st else []
            out.append(
                {
                    "cycle": c["id"],
                    "agreement": c["agreement_id"],
                    "period": c["period"],
                    "state": c["state"],
                    "waiting_for": waiting,
                    "statement": st["id"] if st else None,
                    "signatures": [s["operator"] for s in repo.signatures(st["id"])] if st else [],
                    "disputes_open": sum(1 for d in disputes if d["state"] == "open"),
                    "obligations": len(obligations),
                    # Per currency (a statement's obligations share its currency; never summed across).
                    "obligations_amount": {
                        cur: str(total)
                        for cur, total in totals_by_currency(
                            (o["currency"], Decimal(o["amount"])) for o in obligations
                        ).items()
                    },
                }
            )
        return out
