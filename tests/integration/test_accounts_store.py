"""The accounts journal on SQLite and PostgreSQL: postings, idempotent retries, reversals, exact balances."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from o2o.accounts.balances import balance as pure_balance
from o2o.accounts.journal import Account, Transfer, TransferKind
from o2o.accounts.statement import statement_of_account
from o2o.domain.errors import AlreadyExistsError, NotFoundError, ValidationError
from o2o.domain.operators import NumberingPlan, Operator
from o2o.services import accounts as acc
from o2o.store.database import make_engine, migrate
from o2o.store.uow import UnitOfWork

JAN31, FEB15 = date(2026, 1, 31), date(2026, 2, 15)


@pytest.fixture
def engine(store_url: str) -> Engine:
    eng = make_engine(store_url)
    migrate(eng)
    with UnitOfWork(eng) as uow:
        for op_id in ("ALFA", "BETA", "GAMA"):
            uow.operators.add(Operator(op_id, f"{op_id} Telecom", "EUR", NumberingPlan("44")))
        uow.commit()
    return eng


def invoice(uow: UnitOfWork, amount: str = "2500.40", statement_id: str = "ST-2026-01") -> Transfer:
    return acc.post_invoice(
        uow, statement_id=statement_id, service="voice", provider="ALFA", customer="BETA",
        amount=Decimal(amount), currency="EUR", booking_date=date(2026, 2, 3), value_date=JAN31,
        due_date=FEB15, actor="HUB",
    )  # fmt: skip


def test_postings_are_exact_and_mirror_on_both_sides(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        invoice(uow)
        acc.post_payment(uow, payment_id="PAY-1", payer="BETA", payee="ALFA", amount=Decimal("0.10"),
                         currency="EUR", date=FEB15, actor="BETA")  # fmt: skip
        acc.post_setoff(uow, round_id="R-1", obligation_id="O-1", debtor="BETA", creditor="ALFA",
                        amount=Decimal("0.20"), currency="EUR", date=FEB15, actor="HUB")  # fmt: skip
        acc.post_dispute_adjustment(
            uow, dispute_id="D-1", provider="ALFA", customer="BETA", amount=Decimal("-0.05"),
            currency="EUR", date=FEB15, actor="HUB",
        )  # fmt: skip
        uow.commit()
    with UnitOfWork(engine) as uow:
        repo = acc.books(uow)
        ab, ba = Account("ALFA", "BETA", "EUR"), Account("BETA", "ALFA", "EUR")
        assert repo.balance(ab, FEB15) == Decimal("2500.05")
        assert str(repo.balance(ab, FEB15)) == "2500.05"
        assert repo.balance(ba, FEB15) == Decimal("-2500.05")
        assert repo.balance(ab, JAN31 - timedelta(days=1)) == 0
        assert repo.balance(ab, JAN31) == Decimal("2500.40")
        kinds = [t.kind for t in repo.between("BETA", "ALFA")]
        assert kinds == [
            TransferKind.INVOICE,
            TransferKind.PAYMENT,
            TransferKind.SETOFF,
            TransferKind.ADJUSTMENT,
        ]
        events = uow.events.all()
        assert [e["kind"] for e in events] == [
            "accounts.invoice", "accounts.payment", "accounts.setoff", "accounts.adjustment",
        ]  # fmt: skip


def test_postings_do_not_commit(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        invoice(uow)
    with UnitOfWork(engine) as uow:
        assert acc.books(uow).between("ALFA", "BETA") == []


def test_a_retry_returns_the_booked_transfer_and_a_change_is_refused(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        first = invoice(uow)
        assert invoice(uow) == first
        with pytest.raises(AlreadyExistsError, match="reverse it first"):
            invoice(uow, amount="2600.00")
        uow.commit()
    with UnitOfWork(engine) as uow:
        assert len(acc.books(uow).between("ALFA", "BETA")) == 1


def test_reverse_then_post_again(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        wrong = invoice(uow)
        uow.commit()
    with UnitOfWork(engine) as uow:
        rev = acc.reverse(uow, wrong.id, "rated with the old deck", "HUB")
        fixed = invoice(uow, amount="2600.00")
        uow.commit()
    assert rev.reverses == wrong.id and rev.value_date == JAN31
    assert (rev.debit_party, rev.credit_party) == ("BETA", "ALFA")
    assert fixed.posting_no == 2
    with UnitOfWork(engine) as uow:
        assert acc.books(uow).balance(Account("ALFA", "BETA", "EUR"), JAN31) == Decimal("2600.00")
        with pytest.raises(ValidationError, match="already reversed"):
            acc.reverse(uow, wrong.id, "again", "HUB")
        with pytest.raises(ValidationError, match="itself a reversal"):
            acc.reverse(uow, rev.id, "undo", "HUB")
        with pytest.raises(NotFoundError, match="unknown transfer 999"):
            acc.reverse(uow, 999, "no such", "HUB")


def test_unknown_operator_and_bad_amounts_are_user_errors(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        with pytest.raises(NotFoundError, match="unknown operator 'ZETA'"):
            acc.post_payment(uow, payment_id="P", payer="ZETA", payee="ALFA", amount=Decimal(1),
                             currency="EUR", date=FEB15, actor="HUB")  # fmt: skip
        with pytest.raises(ValidationError, match="minor unit"):
            invoice(uow, amount="1.001")
        with pytest.raises(AlreadyExistsError):
            acc.post_opening_balance(uow, creditor="ALFA", debtor="BETA", amount=Decimal(5), currency="EUR",
                                     date=JAN31, actor="HUB")  # fmt: skip
            acc.post_opening_balance(uow, creditor="BETA", debtor="ALFA", amount=Decimal(7), currency="EUR",
                                     date=JAN31, actor="HUB")  # fmt: skip


def test_many_cent_amounts_sum_exactly_in_sql(engine: Engine) -> None:
    rng = random.Random(8)
    with UnitOfWork(engine) as uow:
        for i in range(150):
            payer, payee = rng.sample(["ALFA", "BETA", "GAMA"], 2)
            acc.post_payment(
                uow, payment_id=f"P{i}", payer=payer, payee=payee,
                amount=Decimal(rng.randint(1, 10**9)).scaleb(-2), currency=rng.choice(["EUR", "USD"]),
                date=date(2026, 1, 1) + timedelta(days=rng.randint(0, 365)), actor="HUB",
            )  # fmt: skip
        uow.commit()
    with UnitOfWork(engine) as uow:
        reversed_ids = set(rng.sample(range(1, 151), 20))
        for tid in sorted(reversed_ids):
            acc.reverse(uow, tid, "entered twice", "HUB")
        uow.commit()
    with UnitOfWork(engine) as uow:
        repo = acc.books(uow)
        everything = repo.journal()
        kept = [t for t in everything if t.id not in reversed_ids and t.reverses is None]
        assert len(everything) == 170 and len(kept) == 130
        for day in (date(2026, 3, 1), date(2026, 12, 31)):
            found = repo.all_balances(day)
            assert sum(found.values(), Decimal(0)) == 0
            for account, amount in found.items():
                assert amount == pure_balance(everything, account, day).amount
                assert amount == pure_balance(kept, account, day).amount  # reversals restore
                assert found[account.mirror] == -amount
        opening = repo.opening_between("ALFA", "BETA", date(2026, 4, 1))
        lines = repo.between("ALFA", "BETA", date(2026, 4, 1), date(2026, 9, 30))
        st = statement_of_account("ALFA", "BETA", date(2026, 4, 1), date(2026, 9, 30), opening, lines)
        for sec in st.sections:
            assert sec.closing == repo.balance(Account("ALFA", "BETA", sec.currency), date(2026, 9, 30))


def test_the_journal_is_append_only_in_the_database(engine: Engine) -> None:
    from sqlalchemy import delete, update
    from sqlalchemy.exc import DBAPIError

    from o2o.store.accounts_tables import account_transfers

    with UnitOfWork(engine) as uow:
        booked = invoice(uow)
        uow.commit()
    for statement in (
        update(account_transfers).where(account_transfers.c.id == booked.id).values(amount_minor=1),
        delete(account_transfers).where(account_transfers.c.id == booked.id),
    ):
        with pytest.raises(DBAPIError, match="append-only"), UnitOfWork(engine) as uow:
            uow.connection.execute(statement)
    with UnitOfWork(engine) as uow:
        assert acc.books(uow).get(booked.id) == booked


def test_concurrent_postings_of_one_document_book_it_once(engine: Engine) -> None:
    import threading

    from o2o.domain.errors import ConcurrencyError

    outcome: list[object] = []

    def other_writer() -> None:
        try:
            with UnitOfWork(engine) as uow2:
                outcome.append(invoice(uow2))
                uow2.commit()
        except ConcurrencyError as exc:
            outcome.append(exc)

    with UnitOfWork(engine) as uow1:
        first = invoice(uow1)
        thread = threading.Thread(target=other_writer)
        thread.start()
        thread.join(timeout=0.5)  # the other writer is now waiting behind our uncommitted row
        uow1.commit()
    thread.join(timeout=30)
    assert not thread.is_alive()
    # Either the other writer saw our committed row (a retry) or lost the race on the unique key.
    assert isinstance(outcome[0], ConcurrencyError) or outcome[0] == first
    with UnitOfWork(engine) as uow:
        assert len(acc.books(uow).between("ALFA", "BETA")) == 1
