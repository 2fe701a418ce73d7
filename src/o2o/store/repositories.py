"""Repositories of the foundation aggregates: they read and write rows, never commit."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from o2o.domain.agreements import Role, SettledAgreement
from o2o.domain.declarations import Declaration, DeclarationStatus, UsageTotals
from o2o.domain.errors import AlreadyExistsError, NotFoundError
from o2o.domain.operators import BankDetails, LegalData, NumberingPlan, Operator
from o2o.store import schema as s
from o2o.store.versioning import update_versioned


def now_utc() -> datetime:
    return datetime.now(UTC)


class OperatorRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, op: Operator) -> None:
        if self.find(op.id) is not None:
            raise AlreadyExistsError(f"operator {op.id} already exists")
        self.conn.execute(
            insert(s.operators).values(
                id=op.id,
                name=op.name,
                currency=op.currency,
                country_code=op.numbering.country_code,
                trunk_prefix=op.numbering.trunk_prefix,
                international_prefix=op.numbering.international_prefix,
                created_at=now_utc(),
                **_legal_columns(op.legal),
            )
        )

    def find(self, op_id: str) -> Operator | None:
        row = self.conn.execute(select(s.operators).where(s.operators.c.id == op_id)).mappings().first()
        return _operator(row) if row else None

    def get(self, op_id: str) -> Operator:
        op = self.find(op_id)
        if op is None:
            raise NotFoundError(f"unknown operator {op_id!r} (add it with `o2o operator add`)")
        return op

    def all(self) -> list[Operator]:
        rows = self.conn.execute(select(s.operators).order_by(s.operators.c.id)).mappings()
        return [_operator(r) for r in rows]


def _legal_columns(legal: LegalData | None) -> dict[str, str | None]:
    if legal is None:
        return dict.fromkeys(("legal_name", "address", "tax_id", "iban", "bic", "bank_name"))
    bank = legal.bank
    return {"legal_name": legal.legal_name, "address": legal.address, "tax_id": legal.tax_id,
            "iban": bank.iban, "bic": bank.bic, "bank_name": bank.bank_name}  # fmt: skip


def _operator(row: Any) -> Operator:
    plan = NumberingPlan(row["country_code"], row["trunk_prefix"], row["international_prefix"])
    legal = None
    if row["legal_name"] is not None:
        bank = BankDetails(row["iban"], row["bic"], row["bank_name"])
        legal = LegalData(row["legal_name"], row["address"], row["tax_id"], bank)
    return Operator(row["id"], row["name"], row["currency"], plan, legal)


@dataclass(frozen=True, slots=True)
class StoredAgreement:
    """An agreement as stored: its document (JSON), hash, revision and lock version."""

    id: str
    name: str
    currency: str
    party_a: str
    party_b: str
    document: str
    sha256: str
    source_name: str
    loaded_at: datetime
    revision: int
    version: int


class AgreementRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def save(
        self, agreement: SettledAgreement, document: str, sha256: str, source_name: str
    ) -> StoredAgreement:
        """Insert a new agreement or a new revision of an existing one (history kept)."""
        current = self.find(agreement.id)
        loaded = now_utc()
        a, b = agreement.operator_ids
        values = dict(
            name=agreement.name,
            currency=agreement.currency,
            party_a=a,
            party_b=b,
            document=document,
            sha256=sha256,
            source_name=source_name,
            loaded_at=loaded,
        )
        if current is None:
            revision = 1
            self.conn.execute(insert(s.agreements).values(id=agreement.id, revision=1, **values))
        else:
            revision = current.revision + 1
            update_versioned(
                self.conn, s.agreements, agreement.id, current.version, revision=revision, **values
            )
        self.conn.execute(
            insert(s.agreement_revisions).values(
                agreement_id=agreement.id,
                revision=revision,
                document=document,
                sha256=sha256,
                source_name=source_name,
                loaded_at=loaded,
            )
        )
        return self.get(agreement.id)

    def find(self, agreement_id: str) -> StoredAgreement | None:
        row = (
            self.conn.execute(select(s.agreements).where(s.agreements.c.id == agreement_id))
            .mappings()
            .first()
        )
        return StoredAgreement(**row) if row else None

    def get(self, agreement_id: str) -> StoredAgreement:
        found = self.find(agreement_id)
        if found is None:
            raise NotFoundError(f"unknown agreement {agreement_id!r} (load it with `o2o agreement load`)")
        return found

    def all(self) -> list[StoredAgreement]:
        rows = self.conn.execute(select(s.agreements).order_by(s.agreements.c.id)).mappings()
        return [StoredAgreement(**r) for r in rows]

    def revisions(self, agreement_id: str) -> int:
        q = select(func.count()).where(s.agreement_revisions.c.agreement_id == agreement_id)
        return int(self.conn.execute(q).scalar_one())


class DeclarationRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, d: Declaration) -> None:
        self.conn.execute(
            insert(s.declarations).values(
                id=d.id,
                agreement_id=d.agreement_id,
                service=d.service,
                period=d.period,
                declarer=d.declarer,
                role=d.role.value,
                sha256=d.sha256,
                source_name=d.source_name,
                lake_path=d.lake_path,
                rejects_path=d.rejects_path,
                rows=d.totals.rows,
                rejected=d.totals.rejected,
                duration_s=d.totals.duration_s,
                volume=d.totals.volume,
                status=d.status.value,
                supersedes=d.supersedes,
                created_at=d.created_at,
            )
        )

    def supersede(self, declaration_id: str) -> None:
        self.conn.execute(
            update(s.declarations)
            .where(s.declarations.c.id == declaration_id)
            .values(status=DeclarationStatus.SUPERSEDED.value)
        )

    def active(self, agreement_id: str, service: str, period: str, declarer: str) -> Declaration | None:
        c = s.declarations.c
        q = select(s.declarations).where(
            c.agreement_id == agreement_id,
            c.service == service,
            c.period == period,
            c.declarer == declarer,
            c.status == DeclarationStatus.ACTIVE.value,
        )
        row = self.conn.execute(q).mappings().first()
        return _declaration(row) if row else None

    def get(self, declaration_id: str) -> Declaration:
        row = (
            self.conn.execute(select(s.declarations).where(s.declarations.c.id == declaration_id))
            .mappings()
            .first()
        )
        if row is None:
            raise NotFoundError(f"unknown declaration {declaration_id!r}")
        return _declaration(row)

    def all(
        self,
        agreement_id: str | None = None,
        period: str | None = None,
        include_superseded: bool = False,
    ) -> list[Declaration]:
        c = s.declarations.c
        q = select(s.declarations)
        if agreement_id:
            q = q.where(c.agreement_id == agreement_id)
        if period:
            q = q.where(c.period == period)
        if not include_superseded:
            q = q.where(c.status == DeclarationStatus.ACTIVE.value)
        q = q.order_by(c.agreement_id, c.period, c.service, c.declarer, c.created_at)
        return [_declaration(r) for r in self.conn.execute(q).mappings()]

    def history(self, agreement_id: str, service: str, period: str, declarer: str) -> list[Declaration]:
        c = s.declarations.c
        q = (
            select(s.declarations)
            .where(
                c.agreement_id == agreement_id,
                c.service == service,
                c.period == period,
                c.declarer == declarer,
            )
            .order_by(c.created_at)
        )
        return [_declaration(r) for r in self.conn.execute(q).mappings()]

    def paths(self) -> set[str]:
        return {r[0] for r in self.conn.execute(select(s.declarations.c.lake_path))}


def _declaration(row: Any) -> Declaration:
    return Declaration(
        id=row["id"],
        agreement_id=row["agreement_id"],
        service=row["service"],
        period=row["period"],
        declarer=row["declarer"],
        role=Role(row["role"]),
        sha256=row["sha256"],
        source_name=row["source_name"],
        lake_path=row["lake_path"],
        rejects_path=row["rejects_path"],
        totals=UsageTotals(row["rows"], row["rejected"], row["duration_s"], row["volume"]),
        status=DeclarationStatus(row["status"]),
        created_at=row["created_at"],
        supersedes=row["supersedes"],
    )


class EventRepository:
    """Recorded events (every transition, with actor and time)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def record(self, kind: str, subject: str, actor: str, payload: dict[str, Any]) -> None:
        # The row as parameters of a bare INSERT: compiled once and cached (every fact records one).
        self.conn.execute(
            insert(s.events),
            {
                "time": now_utc(),
                "kind": kind,
                "subject": subject,
                "actor": actor,
                "payload": json.dumps(payload, sort_keys=True, default=str),
            },
        )

    def all(self, subject: str | None = None) -> list[dict[str, Any]]:
        q = select(s.events).order_by(s.events.c.id)
        if subject:
            q = q.where(s.events.c.subject == subject)
        return [dict(r) for r in self.conn.execute(q).mappings()]
