"""Reading and writing the settlement cycle's rows (never commits; the unit of work does)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from o2o.domain.cycle import CycleState, check_transition
from o2o.domain.errors import ConcurrencyError, NotFoundError
from o2o.store import cycle_tables as t
from o2o.store.repositories import now_utc
from o2o.store.versioning import update_versioned

Row = dict[str, Any]


def cycle_id(agreement_id: str, period: str) -> str:
    return f"{agreement_id}/{period}"


class CycleRepository:
    """The cycle aggregate and what hangs off it."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- cycles -------------------------------------------------------------------------------------
    def cycle(self, agreement_id: str, period: str) -> Row | None:
        q = select(t.cycles).where(t.cycles.c.id == cycle_id(agreement_id, period))
        row = self.conn.execute(q).mappings().first()
        return dict(row) if row else None

    def ensure_cycle(self, agreement_id: str, period: str) -> Row:
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

    def move(self, row: Row, target: CycleState) -> Row:
        """Move a cycle to `target` if legal, with optimistic locking on the version the caller read."""
        check_transition(CycleState(row["state"]), target, f"cycle {row['id']}")
        version = update_versioned(
            self.conn, t.cycles, row["id"], row["version"], state=target.value, updated_at=now_utc()
        )
        return {**row, "state": target.value, "version": version}

    def cycles(self, period: str | None = None) -> list[Row]:
        q = select(t.cycles).order_by(t.cycles.c.period, t.cycles.c.agreement_id)
        if period:
            q = q.where(t.cycles.c.period == period)
        return [dict(r) for r in self.conn.execute(q).mappings()]

    # --- statements ---------------------------------------------------------------------------------
    def add_statement(self, row: Row, lines: Iterable[Row]) -> None:
        self.conn.execute(insert(t.statements).values(**row, created_at=now_utc()))
        for line in lines:
            self.conn.execute(insert(t.statement_lines).values(statement_id=row["id"], **line))

    def statement(self, statement_id: str) -> Row:
        row = (
            self.conn.execute(select(t.statements).where(t.statements.c.id == statement_id))
            .mappings()
            .first()
        )
        if row is None:
            raise NotFoundError(f"unknown statement {statement_id!r}")
        return dict(row)

    def statement_of(self, agreement_id: str, period: str) -> Row | None:
        q = select(t.statements).where(t.statements.c.cycle_id == cycle_id(agreement_id, period))
        row = self.conn.execute(q).mappings().first()
        return dict(row) if row else None

    def delete_statement(self, statement_id: str) -> None:
        """Drop an unsigned statement (a re-declaration sends its cycle back to reconciliation)."""
        for table in (t.proposals,):
            ids = select(t.disputes.c.id).where(t.disputes.c.statement_id == statement_id)
            self.conn.execute(table.delete().where(table.c.dispute_id.in_(ids)))
        for table in (t.disputes, t.statement_lines, t.signatures):
            self.conn.execute(table.delete().where(table.c.statement_id == statement_id))
        self.conn.execute(t.statements.delete().where(t.statements.c.id == statement_id))

    def lines(self, statement_id: str) -> list[Row]:
        q = select(t.statement_lines).where(t.statement_lines.c.statement_id == statement_id)
        return [dict(r) for r in self.conn.execute(q.order_by(t.statement_lines.c.service)).mappings()]

    def update_statement(self, row: Row, **values: Any) -> None:
        update_versioned(self.conn, t.statements, row["id"], row["version"], **values)

    def update_line(self, statement_id: str, service: str, **values: Any) -> None:
        c = t.statement_lines.c
        self.conn.execute(
            update(t.statement_lines)
            .where(c.statement_id == statement_id, c.service == service)
            .values(**values)
        )

    def add_signature(self, statement_id: str, operator: str, key_id: str, signature: str) -> None:
        self.conn.execute(
            insert(t.signatures).values(
                statement_id=statement_id,
                operator=operator,
                key_id=key_id,
                signature=signature,
                signed_at=now_utc(),
            )
        )

    def signatures(self, statement_id: str) -> list[Row]:
        q = select(t.signatures).where(t.signatures.c.statement_id == statement_id)
        return [dict(r) for r in self.conn.execute(q).mappings()]

    # --- disputes -----------------------------------------------------------------------------------
    def add_dispute(self, row: Row) -> None:
        self.conn.execute(insert(t.disputes).values(**row, opened_at=now_utc()))

    def dispute(self, dispute_id: str) -> Row:
        row = self.conn.execute(select(t.disputes).where(t.disputes.c.id == dispute_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"unknown dispute {dispute_id!r}")
        return dict(row)

    def disputes(self, statement_id: str | None = None, state: str | None = None) -> list[Row]:
        q = select(t.disputes).order_by(t.disputes.c.id)
        if statement_id:
            q = q.where(t.disputes.c.statement_id == statement_id)
        if state:
            q = q.where(t.disputes.c.state == state)
        return [dict(r) for r in self.conn.execute(q).mappings()]

    def update_dispute(self, row: Row, **values: Any) -> None:
        update_versioned(self.conn, t.disputes, row["id"], row["version"], **values)

    def add_proposal(self, dispute_id: str, by: str, amount: Decimal, note: str) -> int:
        c = t.proposals.c
        self.conn.execute(
            update(t.proposals)
            .where(c.dispute_id == dispute_id, c.status == "pending")
            .values(status="superseded")
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
                status="pending",
                created_at=now_utc(),
            )
        )
        return number

    def proposals(self, dispute_id: str) -> list[Row]:
        q = select(t.proposals).where(t.proposals.c.dispute_id == dispute_id).order_by(t.proposals.c.seq)
        return [dict(r) for r in self.conn.execute(q).mappings()]

    def set_proposal_status(self, dispute_id: str, seq: int, status: str) -> None:
        c = t.proposals.c
        self.conn.execute(
            update(t.proposals).where(c.dispute_id == dispute_id, c.seq == seq).values(status=status)
        )

    # --- obligations --------------------------------------------------------------------------------
    def add_obligation(self, row: Row) -> None:
        self.conn.execute(insert(t.obligations).values(**row))

    def obligations(self, period: str | None = None, statuses: Iterable[str] = ()) -> list[Row]:
        q = select(t.obligations).order_by(t.obligations.c.id)
        if period:
            q = q.where(t.obligations.c.period == period)
        wanted = list(statuses)
        if wanted:
            q = q.where(t.obligations.c.status.in_(wanted))
        return [dict(r) for r in self.conn.execute(q).mappings()]

    def obligation_of_dispute(self, dispute_id: str) -> Row | None:
        q = select(t.obligations).where(t.obligations.c.dispute_id == dispute_id)
        row = self.conn.execute(q).mappings().first()
        return dict(row) if row else None

    def update_obligation(self, row: Row, **values: Any) -> None:
        update_versioned(self.conn, t.obligations, row["id"], row["version"], **values)

    # --- netting rounds and payments ----------------------------------------------------------------
    def add_round(self, round_id: str, period: str, mode: str, figures: dict[str, Any]) -> None:
        self.conn.execute(
            insert(t.rounds).values(
                id=round_id,
                period=period,
                mode=mode,
                state="issued",
                figures=json.dumps(figures, sort_keys=True),
                created_at=now_utc(),
            )
        )

    def round(self, round_id: str) -> Row:
        row = self.conn.execute(select(t.rounds).where(t.rounds.c.id == round_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"unknown netting round {round_id!r}")
        return dict(row)

    def rounds(self, period: str | None = None) -> list[Row]:
        q = select(t.rounds).order_by(t.rounds.c.created_at)
        if period:
            q = q.where(t.rounds.c.period == period)
        return [dict(r) for r in self.conn.execute(q).mappings()]

    def set_round_state(self, row: Row, state: str) -> None:
        update_versioned(self.conn, t.rounds, row["id"], row["version"], state=state)

    def add_setoff(self, round_id: str, obligation_id: str, amount: Decimal) -> None:
        self.conn.execute(
            insert(t.setoffs).values(round_id=round_id, obligation_id=obligation_id, amount=amount)
        )

    def setoffs(self, round_id: str) -> list[Row]:
        q = select(t.setoffs).where(t.setoffs.c.round_id == round_id).order_by(t.setoffs.c.obligation_id)
        return [dict(r) for r in self.conn.execute(q).mappings()]

    def add_payment(self, row: Row) -> None:
        self.conn.execute(insert(t.payments).values(**row, status="pending"))

    def payment(self, payment_id: str) -> Row:
        row = self.conn.execute(select(t.payments).where(t.payments.c.id == payment_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"unknown payment instruction {payment_id!r}")
        return dict(row)

    def payments(self, round_id: str | None = None, status: str | None = None) -> list[Row]:
        q = select(t.payments).order_by(t.payments.c.id)
        if round_id:
            q = q.where(t.payments.c.round_id == round_id)
        if status:
            q = q.where(t.payments.c.status == status)
        return [dict(r) for r in self.conn.execute(q).mappings()]

    def confirm_payment(self, row: Row, reference: str, confirmed_by: str) -> None:
        if row["status"] != "pending":
            raise ConcurrencyError(f"payment {row['id']} is already {row['status']}")
        update_versioned(
            self.conn, t.payments, row["id"], row["version"],
            status="confirmed", confirmed_at=now_utc(), reference=reference, confirmed_by=confirmed_by,
        )  # fmt: skip


def due_date(period_end: date, days: int) -> date:
    """The due date of a period's obligations: `days` after the period ends."""
    from datetime import timedelta

    return period_end + timedelta(days=days)
