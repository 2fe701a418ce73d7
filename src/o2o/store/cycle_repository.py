"""Reading and writing the settlement cycle (never commits; the unit of work does).

Cycles, statements with their lines and signatures, disputes and their proposals, obligations, netting rounds, set-offs and payment instructions come and go as the domain's typed
values; their states are enums everywhere but here, where each is mapped to and from its column. An update
is optimistically locked on the version the value was read at and returns the value at its new version.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import fields, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from o2o.domain.cycle import Cycle, CycleState, DisputeState, PaymentStatus
from o2o.domain.disputes import Dispute, Proposal, ProposalStatus
from o2o.domain.errors import NotFoundError
from o2o.domain.obligations import (
    NettingRound,
    Obligation,
    ObligationStatus,
    PaymentInstruction,
    RoundState,
    SetOff,
)
from o2o.domain.statements import LineOutcome, Signature, Statement, StatementLine, StatementState
from o2o.store import cycle_tables as t
from o2o.store.repositories import now_utc
from o2o.store.versioning import update_versioned


def cycle_id(agreement_id: str, period: str) -> str:
    return f"{agreement_id}/{period}"


class CycleRepository:
    """The cycle aggregate and what hangs off it."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- cycles -------------------------------------------------------------------------------------
    def cycle(self, agreement_id: str, period: str) -> Cycle | None:
        q = select(t.cycles).where(t.cycles.c.id == cycle_id(agreement_id, period))
        row = self.conn.execute(q).mappings().first()
        return _cycle(row) if row else None

    def ensure_cycle(self, agreement_id: str, period: str) -> Cycle:
        row = self.cycle(agreement_id, period)
        if row is None:
            self.conn.execute(
                insert(t.cycles).values(
                    id=cycle_id(agreement_id, period),
                    agreement_id=agreement_id,
                    period=period,
                    state=CycleState.OPEN.value,
                    updated_at=now_utc(),
                )
            )
            row = self.cycle(agreement_id, period)
        if row is None:
            raise NotFoundError(f"cycle {agreement_id} {period} could not be opened")
        return row

    def move(self, cycle: Cycle, target: CycleState) -> Cycle:
        """Move a cycle to `target` if legal, with optimistic locking on the version the caller read."""
        moved = cycle.moved(target)
        version = update_versioned(
            self.conn, t.cycles, cycle.id, cycle.version, state=target.value, updated_at=now_utc()
        )
        return replace(moved, version=version)

    def cycles(self, period: str | None = None) -> list[Cycle]:
        q = select(t.cycles).order_by(t.cycles.c.period, t.cycles.c.agreement_id)
        if period:
            q = q.where(t.cycles.c.period == period)
        return [_cycle(r) for r in self.conn.execute(q).mappings()]

    # --- statements ---------------------------------------------------------------------------------
    def add_statement(self, st: Statement, lines: Iterable[StatementLine]) -> None:
        # Rows as parameters of a bare INSERT (compiled once, then cached), the lines in one executemany:
        # building `.values(...)` per row cost more than sending it.
        self.conn.execute(
            insert(t.statements),
            {
                "id": st.id, "cycle_id": st.cycle_id, "agreement_id": st.agreement_id, "period": st.period,
                "currency": st.currency, "state": st.state.value, "digest": st.digest,
                "document": st.document, "evidence": st.evidence, "created_at": now_utc(),
            },
        )  # fmt: skip
        rows = [{"statement_id": st.id, **_line_columns(line)} for line in lines]
        if rows:
            self.conn.execute(insert(t.statement_lines), rows)

    def statement(self, statement_id: str) -> Statement:
        row = (
            self.conn.execute(select(t.statements).where(t.statements.c.id == statement_id))
            .mappings()
            .first()
        )
        if row is None:
            raise NotFoundError(f"unknown statement {statement_id!r}")
        return _statement(row)

    def statement_of(self, agreement_id: str, period: str) -> Statement | None:
        q = select(t.statements).where(t.statements.c.cycle_id == cycle_id(agreement_id, period))
        row = self.conn.execute(q).mappings().first()
        return _statement(row) if row else None

    def delete_statement(self, statement_id: str) -> None:
        """Drop an unsigned statement (a re-declaration sends its cycle back to reconciliation)."""
        for table in (t.proposals,):
            ids = select(t.disputes.c.id).where(t.disputes.c.statement_id == statement_id)
            self.conn.execute(table.delete().where(table.c.dispute_id.in_(ids)))
        for table in (t.disputes, t.statement_lines, t.signatures):
            self.conn.execute(table.delete().where(table.c.statement_id == statement_id))
        self.conn.execute(t.statements.delete().where(t.statements.c.id == statement_id))

    def lines(self, statement_id: str) -> list[StatementLine]:
        q = select(t.statement_lines).where(t.statement_lines.c.statement_id == statement_id)
        rows = self.conn.execute(q.order_by(t.statement_lines.c.service)).mappings()
        return [
            StatementLine(r["service"], r["provider"], r["customer"], Decimal(r["provider_amount"]),
                          Decimal(r["customer_amount"]), Decimal(r["agreed_amount"]),
                          Decimal(r["disputed_amount"]), LineOutcome(r["outcome"]))
            for r in rows
        ]  # fmt: skip

    def save_statement(self, st: Statement) -> Statement:
        """Store a statement's state, document and digest, locked on the version it was read at (saved
        unchanged, it only takes the next version: a concurrent change of it then fails)."""
        version = update_versioned(
            self.conn,
            t.statements,
            st.id,
            st.version,
            state=st.state.value,
            document=st.document,
            digest=st.digest,
        )
        return replace(st, version=version)

    def save_line(self, statement_id: str, line: StatementLine) -> None:
        c = t.statement_lines.c
        self.conn.execute(
            update(t.statement_lines)
            .where(c.statement_id == statement_id, c.service == line.service)
            .values(**_line_columns(line))
        )

    def add_signature(self, sig: Signature) -> None:
        self.conn.execute(
            insert(t.signatures).values(
                statement_id=sig.statement_id,
                operator=sig.operator,
                key_id=sig.key_id,
                signature=sig.signature,
                signed_at=now_utc(),
            )
        )

    def signatures(self, statement_id: str) -> list[Signature]:
        q = select(t.signatures).where(t.signatures.c.statement_id == statement_id)
        return [
            Signature(r["statement_id"], r["operator"], r["key_id"], r["signature"], r["signed_at"])
            for r in self.conn.execute(q).mappings()
        ]

    # --- disputes -----------------------------------------------------------------------------------
    def add_dispute(self, d: Dispute) -> None:
        self.conn.execute(
            insert(t.disputes),
            {
                "id": d.id, "statement_id": d.statement_id, "service": d.service, "provider": d.provider,
                "customer": d.customer, "currency": d.currency, "provider_amount": d.provider_amount,
                "customer_amount": d.customer_amount, "contested_amount": d.contested_amount,
                "resolved_amount": d.resolved_amount, "state": d.state.value,
                "evidence": json.dumps(d.evidence, sort_keys=True), "deadline": d.deadline,
                "opened_at": now_utc(),
            },
        )  # fmt: skip

    def dispute(self, dispute_id: str) -> Dispute:
        row = self.conn.execute(select(t.disputes).where(t.disputes.c.id == dispute_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"unknown dispute {dispute_id!r}")
        return _dispute(row)

    def disputes(
        self, statement_id: str | None = None, state: DisputeState | None = None, period: str | None = None
    ) -> list[Dispute]:
        """The disputes of a statement, in a state, of a period (found through their statement's period)."""
        q = select(t.disputes).order_by(t.disputes.c.id)
        if statement_id:
            q = q.where(t.disputes.c.statement_id == statement_id)
        if period:
            of_period = select(t.statements.c.id).where(t.statements.c.period == period)
            q = q.where(t.disputes.c.statement_id.in_(of_period))
        if state is not None:
            q = q.where(t.disputes.c.state == state.value)
        return [_dispute(r) for r in self.conn.execute(q).mappings()]

    def save_dispute(self, d: Dispute) -> Dispute:
        """Store a dispute's state, resolved amount and its parties' figures (narrowed by a part conceded),
        locked on the version it was read at."""
        version = update_versioned(
            self.conn, t.disputes, d.id, d.version, state=d.state.value, resolved_amount=d.resolved_amount,
            provider_amount=d.provider_amount, customer_amount=d.customer_amount,
            contested_amount=d.contested_amount,
        )  # fmt: skip
        return replace(d, version=version)

    def add_concession(self, dispute_id: str, by: str, amount: Decimal, note: str) -> int:
        """Record that `by` gave up `amount` of a dispute's contested amount: the next row of its timeline
        (status `conceded`; the pending proposals stay as they are)."""
        c = t.proposals.c
        seq = self.conn.execute(select(func.coalesce(func.max(c.seq), 0)).where(c.dispute_id == dispute_id))
        number = int(seq.scalar_one()) + 1
        self.conn.execute(
            insert(t.proposals).values(
                dispute_id=dispute_id, seq=number, by_operator=by, amount=amount, note=note,
                status=ProposalStatus.CONCEDED.value, created_at=now_utc(),
            )
        )  # fmt: skip
        return number

    def add_proposal(self, dispute_id: str, by: str, amount: Decimal, note: str) -> int:
        """Add the next proposal of a dispute; the pending one it answers is superseded."""
        c = t.proposals.c
        self.conn.execute(
            update(t.proposals)
            .where(c.dispute_id == dispute_id, c.status == ProposalStatus.PENDING.value)
            .values(status=ProposalStatus.SUPERSEDED.value)
        )
        seq = self.conn.execute(select(func.coalesce(func.max(c.seq), 0)).where(c.dispute_id == dispute_id))
        number = int(seq.scalar_one()) + 1
        self.conn.execute(
            insert(t.proposals).values(
                dispute_id=dispute_id,
                seq=number,
                by_operator=by,
                amount=amount,
                note=note,
                status=ProposalStatus.PENDING.value,
                created_at=now_utc(),
            )
        )
        return number

    def proposals(self, dispute_id: str) -> list[Proposal]:
        q = select(t.proposals).where(t.proposals.c.dispute_id == dispute_id).order_by(t.proposals.c.seq)
        return [
            Proposal(r["dispute_id"], r["seq"], r["by_operator"], Decimal(r["amount"]), r["note"],
                     ProposalStatus(r["status"]), r["created_at"])
            for r in self.conn.execute(q).mappings()
        ]  # fmt: skip

    def set_proposal_status(self, proposal: Proposal, status: ProposalStatus) -> Proposal:
        c = t.proposals.c
        self.conn.execute(
            update(t.proposals)
            .where(c.dispute_id == proposal.dispute_id, c.seq == proposal.seq)
            .values(status=status.value)
        )
        return replace(proposal, status=status)

    # --- obligations --------------------------------------------------------------------------------
    def add_obligation(self, ob: Obligation) -> None:
        self.conn.execute(
            insert(t.obligations).values(
                id=ob.id, statement_id=ob.source, period=ob.period, debtor=ob.debtor, creditor=ob.creditor,
                amount=ob.amount, remaining=ob.remaining, currency=ob.currency, due_date=ob.due_date,
                status=ob.status.value, dispute_id=ob.dispute_id,
            )
        )  # fmt: skip

    def obligations(
        self, period: str | None = None, statuses: Iterable[ObligationStatus] = ()
    ) -> list[Obligation]:
        q = select(t.obligations).order_by(t.obligations.c.id)
        if period:
            q = q.where(t.obligations.c.period == period)
        wanted = [s.value for s in statuses]
        if wanted:
            q = q.where(t.obligations.c.status.in_(wanted))
        return [_obligation(r) for r in self.conn.execute(q).mappings()]

    def obligation_of_dispute(self, dispute_id: str) -> Obligation | None:
        q = select(t.obligations).where(t.obligations.c.dispute_id == dispute_id)
        row = self.conn.execute(q).mappings().first()
        return _obligation(row) if row else None

    def save_obligation(self, ob: Obligation) -> Obligation:
        """Store an obligation's new amount, remainder and status (locked on the version it was read at)."""
        version = update_versioned(
            self.conn, t.obligations, ob.id, ob.version,
            amount=ob.amount, remaining=ob.remaining, status=ob.status.value,
        )  # fmt: skip
        return replace(ob, version=version)

    # --- netting rounds and payments ----------------------------------------------------------------
    def add_round(self, rnd: NettingRound) -> None:
        self.conn.execute(
            insert(t.rounds).values(
                id=rnd.id,
                period=rnd.period,
                mode=rnd.mode,
                state=rnd.state.value,
                figures=json.dumps(rnd.figures, sort_keys=True),
                created_at=now_utc(),
            )
        )

    def round(self, round_id: str) -> NettingRound:
        row = self.conn.execute(select(t.rounds).where(t.rounds.c.id == round_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"unknown netting round {round_id!r}")
        return _round(row)

    def rounds(self, period: str | None = None) -> list[NettingRound]:
        q = select(t.rounds).order_by(t.rounds.c.created_at)
        if period:
            q = q.where(t.rounds.c.period == period)
        return [_round(r) for r in self.conn.execute(q).mappings()]

    def save_round(self, rnd: NettingRound) -> NettingRound:
        version = update_versioned(self.conn, t.rounds, rnd.id, rnd.version, state=rnd.state.value)
        return replace(rnd, version=version)

    def add_setoff(self, setoff: SetOff) -> None:
        self.conn.execute(
            insert(t.setoffs).values(
                round_id=setoff.round_id, obligation_id=setoff.obligation_id, amount=setoff.amount
            )
        )

    def setoffs(self, round_id: str) -> list[SetOff]:
        q = select(t.setoffs).where(t.setoffs.c.round_id == round_id).order_by(t.setoffs.c.obligation_id)
        rows = self.conn.execute(q).mappings()
        return [SetOff(r["round_id"], r["obligation_id"], Decimal(r["amount"])) for r in rows]

    def add_payment(self, pay: PaymentInstruction) -> None:
        self.conn.execute(
            insert(t.payments).values(
                id=pay.id, round_id=pay.round_id, payer=pay.payer, payee=pay.payee, amount=pay.amount,
                currency=pay.currency, status=pay.status.value,
            )
        )  # fmt: skip

    def payment(self, payment_id: str) -> PaymentInstruction:
        row = self.conn.execute(select(t.payments).where(t.payments.c.id == payment_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"unknown payment instruction {payment_id!r}")
        return _payment(row)

    def payments(
        self, round_id: str | None = None, status: PaymentStatus | None = None
    ) -> list[PaymentInstruction]:
        q = select(t.payments).order_by(t.payments.c.id)
        if round_id:
            q = q.where(t.payments.c.round_id == round_id)
        if status is not None:
            q = q.where(t.payments.c.status == status.value)
        return [_payment(r) for r in self.conn.execute(q).mappings()]

    def save_payment(self, pay: PaymentInstruction) -> PaymentInstruction:
        """Store a payment's confirmation (locked on the version it was read at)."""
        version = update_versioned(
            self.conn, t.payments, pay.id, pay.version, status=pay.status.value,
            confirmed_at=pay.confirmed_at, reference=pay.reference, confirmed_by=pay.confirmed_by,
        )  # fmt: skip
        return replace(pay, version=version)


# --- rows to domain values: the one place a state column is read as text --------------------------------
def _cycle(r: Any) -> Cycle:
    return Cycle(r["id"], r["agreement_id"], r["period"], CycleState(r["state"]), r["version"])


def _statement(r: Any) -> Statement:
    return Statement(
        r["id"], r["cycle_id"], r["agreement_id"], r["period"], r["currency"], StatementState(r["state"]),
        r["digest"], r["document"], r["evidence"], r["created_at"], r["version"],
    )  # fmt: skip


def _line_columns(line: StatementLine) -> dict[str, Any]:
    # Field by field, not `asdict` (which deep-copies every value).
    columns = {f.name: getattr(line, f.name) for f in fields(line)}
    return {**columns, "outcome": line.outcome.value}


def _dispute(r: Any) -> Dispute:
    resolved = r["resolved_amount"]
    return Dispute(
        r["id"], r["statement_id"], r["service"], r["provider"], r["customer"], r["currency"],
        Decimal(r["provider_amount"]), Decimal(r["customer_amount"]), Decimal(r["contested_amount"]),
        r["deadline"], json.loads(r["evidence"]), DisputeState(r["state"]),
        None if resolved is None else Decimal(resolved), r["opened_at"], r["version"],
    )  # fmt: skip


def _obligation(r: Any) -> Obligation:
    return Obligation(
        r["id"], r["debtor"], r["creditor"], Decimal(r["amount"]), r["currency"], r["due_date"],
        r["statement_id"], remaining=Decimal(r["remaining"]), status=ObligationStatus(r["status"]),
        period=r["period"], dispute_id=r["dispute_id"], version=r["version"],
    )  # fmt: skip


def _round(r: Any) -> NettingRound:
    return NettingRound(
        r["id"], r["period"], r["mode"], json.loads(r["figures"]), RoundState(r["state"]), r["created_at"],
        r["version"],
    )  # fmt: skip


def _payment(r: Any) -> PaymentInstruction:
    return PaymentInstruction(
        r["id"], r["round_id"], r["payer"], r["payee"], Decimal(r["amount"]), r["currency"],
        PaymentStatus(r["status"]), r["confirmed_at"], r["reference"], r["confirmed_by"], r["version"],
    )  # fmt: skip
