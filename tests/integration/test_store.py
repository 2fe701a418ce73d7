"""The store on SQLite and PostgreSQL: migrations, repositories, unit of work, optimistic locking."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

from o2o.domain.errors import AlreadyExistsError, ConcurrencyError, NotFoundError
from o2o.domain.operators import NumberingPlan, Operator
from o2o.store.database import make_engine, migrate
from o2o.store.schema import agreements
from o2o.store.types import ExactDecimal, UtcDateTime
from o2o.store.uow import UnitOfWork
from o2o.store.versioning import update_versioned


@pytest.fixture
def engine(store_url: str):  # type: ignore[no-untyped-def]
    eng = make_engine(store_url)
    migrate(eng)
    return eng


def op(op_id: str, cc: str = "44") -> Operator:
    return Operator(op_id, f"{op_id} Telecom", "EUR", NumberingPlan(cc))


def test_migrations_are_idempotent(engine) -> None:  # type: ignore[no-untyped-def]
    migrate(engine)
    with UnitOfWork(engine) as uow:
        assert uow.operators.all() == []


def test_unit_of_work_commits_only_when_asked(engine) -> None:  # type: ignore[no-untyped-def]
    with UnitOfWork(engine) as uow:
        uow.operators.add(op("ALFA"))
    with UnitOfWork(engine) as uow:
        assert uow.operators.find("ALFA") is None
        uow.operators.add(op("ALFA"))
        uow.commit()
    with UnitOfWork(engine) as uow:
        assert uow.operators.get("ALFA") == op("ALFA")


def test_error_inside_unit_of_work_rolls_back(engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AlreadyExistsError), UnitOfWork(engine) as uow:
        uow.operators.add(op("BETA"))
        uow.operators.add(op("BETA"))
        uow.commit()
    with UnitOfWork(engine) as uow:
        assert uow.operators.all() == []
        with pytest.raises(NotFoundError, match="unknown operator 'BETA'"):
            uow.operators.get("BETA")


def test_optimistic_lock_rejects_the_second_writer(engine) -> None:  # type: ignore[no-untyped-def]
    with UnitOfWork(engine) as uow:
        uow.operators.add(op("ALFA"))
        uow.operators.add(op("BETA", "49"))
        uow.connection.execute(
            insert(agreements).values(
                id="AG",
                name="AG",
                currency="EUR",
                party_a="ALFA",
                party_b="BETA",
                document="{}",
                sha256="0" * 64,
                source_name="ag.toml",
                loaded_at=datetime.now(UTC),
                revision=1,
            )
        )
        uow.commit()
    with UnitOfWork(engine) as first:
        seen = first.agreements.get("AG").version
        update_versioned(first.connection, agreements, "AG", seen, name="first")
        first.commit()
    with UnitOfWork(engine) as second, pytest.raises(ConcurrencyError, match="changed by someone else"):
        update_versioned(second.connection, agreements, "AG", seen, name="second")
    with UnitOfWork(engine) as uow:
        stored = uow.agreements.get("AG")
        assert (stored.name, stored.version) == ("first", seen + 1)


def test_exact_decimals_and_utc_times_round_trip(engine) -> None:  # type: ignore[no-untyped-def]
    meta = MetaData()
    probe = Table(
        "decimal_probe",
        meta,
        Column("id", Integer, primary_key=True),
        Column("amount", ExactDecimal()),
        Column("at", UtcDateTime()),
        Column("note", String(10)),
    )
    meta.create_all(engine)
    values = [Decimal("0.1"), Decimal("12345678901234567890.123456"), Decimal("-0.000001"), Decimal("100.50")]
    when = datetime(2026, 10, 1, 12, 0, 5, tzinfo=UTC)
    with engine.begin() as conn:
        for i, v in enumerate(values):
            conn.execute(insert(probe).values(id=i, amount=v, at=when, note="x"))
    with engine.connect() as conn:
        got = [r.amount for r in conn.execute(select(probe).order_by(probe.c.id))]
        at = conn.execute(select(probe.c.at)).scalars().first()
    assert got == values
    assert all(isinstance(v, Decimal) for v in got)
    assert at == when
    meta.drop_all(engine)


def test_recreate_empties_a_database_whose_rows_refer_to_operators(engine) -> None:  # type: ignore[no-untyped-def]
    """`demo --fresh` empties the database by downgrading every migration and upgrading again. On SQLite a
    downgrade rebuilds `operators` (batch mode) while agreements refer to it: foreign keys are off for
    that, and on again for every connection afterwards."""

    from o2o.store.database import recreate

    with UnitOfWork(engine) as uow:
        uow.operators.add(op("ALFA"))
        uow.operators.add(op("BRAVO"))
        uow.commit()
    with engine.begin() as conn:
        conn.execute(
            insert(agreements).values(
                id="ALFA-BRAVO", name="ALFA-BRAVO", currency="EUR", party_a="ALFA", party_b="BRAVO",
                document="{}", sha256="0" * 64, source_name="a.toml",
                loaded_at=datetime(2026, 11, 1, tzinfo=UTC), revision=1,
            )
        )  # fmt: skip
    recreate(engine)
    with UnitOfWork(engine) as uow:
        assert uow.operators.find("ALFA") is None
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
