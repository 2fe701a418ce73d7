"""The unit of work: one transaction, every repository bound to it, commit only when asked.

A use case reads and writes through `uow.operators`, `.agreements`, `.declarations`, `.events`, `.cycles`,
`.accounts`, `.hub` (the hub's users and tokens), `.jobs`, `.webhooks`, `.ledger_store` and `.ledger` (the signed ledger over this transaction, made on first use so
that its appends keep their place in memory); it never builds a repository from the connection itself.
Leaving the block without `commit()` rolls everything back, so a failed use case writes nothing.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Connection, Engine

from o2o.ledger.chain import Ledger
from o2o.store.accounts_repository import AccountsRepository
from o2o.store.cycle_repository import CycleRepository
from o2o.store.hub_repository import HubRepository
from o2o.store.jobs_repository import JobRepository, WebhookRepository
from o2o.store.ledger_repository import SqlLedgerRepository
from o2o.store.repositories import (
    AgreementRepository,
    DeclarationRepository,
    EventRepository,
    OperatorRepository,
)


class UnitOfWork:
    """`with UnitOfWork(engine) as uow: …; uow.commit()`."""

    connection: Connection
    operators: OperatorRepository
    agreements: AgreementRepository
    declarations: DeclarationRepository
    events: EventRepository
    cycles: CycleRepository
    accounts: AccountsRepository
    ledger_store: SqlLedgerRepository
    hub: HubRepository
    jobs: JobRepository
    webhooks: WebhookRepository

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._committed = False
        self._ledger: Ledger | None = None

    @property
    def ledger(self) -> Ledger:
        """The ledger over this transaction (one per unit of work: its appends keep their place)."""
        if self._ledger is None:
            self._ledger = Ledger(self.ledger_store)
        return self._ledger

    def __enter__(self) -> UnitOfWork:
        self.connection = self._engine.connect()
        self._tx = self.connection.begin()
        self.operators = OperatorRepository(self.connection)
        self.agreements = AgreementRepository(self.connection)
        self.declarations = DeclarationRepository(self.connection)
        self.events = EventRepository(self.connection)
        self.cycles = CycleRepository(self.connection)
        self.accounts = AccountsRepository(self.connection)
        self.ledger_store = SqlLedgerRepository(self.connection)
        self.hub = HubRepository(self.connection)
        self.jobs = JobRepository(self.connection)
        self.webhooks = WebhookRepository(self.connection)
        self._ledger = None
        return self

    def commit(self) -> None:
        self._tx.commit()
        self._committed = True

    def rollback(self) -> None:
        if self._tx.is_active:
            self._tx.rollback()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.rollback()
        finally:
            self.connection.close()
