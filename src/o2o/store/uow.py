"""The unit of work: one transaction, the repositories bound to it, commit only when asked.

Leaving the block without `commit()` rolls everything back, so a failed use case writes nothing.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Connection, Engine

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

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._committed = False

    def __enter__(self) -> UnitOfWork:
        self.connection = self._engine.connect()
        self._tx = self.connection.begin()
        self.operators = OperatorRepository(self.connection)
        self.agreements = AgreementRepository(self.connection)
        self.declarations = DeclarationRepository(self.connection)
        self.events = EventRepository(self.connection)
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
