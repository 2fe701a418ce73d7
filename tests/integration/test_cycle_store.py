"""Cycle transitions in the store: illegal moves are clear errors, two concurrent moves conflict."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert

from o2o.domain.cycle import CycleState
from o2o.domain.errors import ConcurrencyError, InvalidTransitionError
from o2o.domain.operators import NumberingPlan, Operator
from o2o.store.cycle_repository import CycleRepository
from o2o.store.database import make_engine, migrate
from o2o.store.schema import agreements
from o2o.store.uow import UnitOfWork


@pytest.fixture
def engine(store_url: str):  # type: ignore[no-untyped-def]
    eng = make_engine(store_url)
    migrate(eng)
    with UnitOfWork(eng) as uow:
        for op_id in ("ALFA", "BETA"):
            uow.operators.add(Operator(op_id, op_id, "EUR", NumberingPlan("44")))
        uow.connection.execute(
            insert(agreements).values(
                id="AG", name="AG", currency="EUR", party_a="ALFA", party_b="BETA", document="{}",
                sha256="0" * 64, source_name="ag.toml", loaded_at=datetime.now(UTC), revision=1,
            )
        )  # fmt: skip
        CycleRepository(uow.connection).ensure_cycle("AG", "2026-10")
        uow.commit()
    return eng


def test_illegal_transition_is_a_clear_error(engine) -> None:  # type: ignore[no-untyped-def]
    with UnitOfWork(engine) as uow:
        repo = CycleRepository(uow.connection)
        cycle = repo.cycle("AG", "2026-10")
        assert cycle is not None
        with pytest.raises(InvalidTransitionError, match="cycle AG/2026-10 is open: cannot move to signed"):
            repo.move(cycle, CycleState.SIGNED)


def test_two_concurrent_moves_conflict(engine) -> None:  # type: ignore[no-untyped-def]
    with UnitOfWork(engine) as first_reader, UnitOfWork(engine) as second_reader:
        first = CycleRepository(first_reader.connection).cycle("AG", "2026-10")
        second = CycleRepository(second_reader.connection).cycle("AG", "2026-10")
    assert first is not None and second is not None
    with UnitOfWork(engine) as uow:
        CycleRepository(uow.connection).move(first, CycleState.DECLARED)
        uow.commit()
    with UnitOfWork(engine) as uow, pytest.raises(ConcurrencyError, match="changed by someone else"):
        CycleRepository(uow.connection).move(second, CycleState.DECLARED)
    with UnitOfWork(engine) as uow:
        now = CycleRepository(uow.connection).cycle("AG", "2026-10")
        assert now is not None and (now.state, now.version) == (CycleState.DECLARED, first.version + 1)
