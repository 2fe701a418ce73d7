"""Ageing of open balances: FIFO allocation by due date, buckets computed by hand, buckets sum to balance."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from o2o.accounts import postings
from o2o.accounts.ageing import age_books, age_pair, bucket_of
from o2o.accounts.balances import balance
from o2o.accounts.journal import Account, Posting, Transfer

AS_OF = date(2026, 6, 30)


def book(items: list[Posting]) -> list[Transfer]:
    fields = Posting.__dataclass_fields__
    return [Transfer(id=i, **{n: getattr(p, n) for n in fields}) for i, p in enumerate(items, start=1)]


def inv(n: int, provider: str, customer: str, amount: str, due: date) -> Posting:
    day = due - timedelta(days=15)
    return postings.invoice(
        statement_id=f"ST-{n}", service="voice", provider=provider, customer=customer,
        amount=Decimal(amount), currency="EUR", booking_date=day, value_date=day, due_date=due, actor="HUB",
    )  # fmt: skip


def test_bucket_edges() -> None:
    assert [bucket_of(d) for d in (-5, 0, 1, 30, 31, 60, 61, 90, 91)] == [
        "not_due", "not_due", "1-30", "1-30", "31-60", "31-60", "61-90", "61-90", "over_90",
    ]  # fmt: skip


def test_hand_computed_ageing() -> None:
    items = [
        inv(1, "AAA", "BBB", "100", date(2026, 2, 28)),  # 122 days past due: paid first
        inv(2, "AAA", "BBB", "200", date(2026, 4, 30)),  # 61 days: half paid
        inv(3, "AAA", "BBB", "300", date(2026, 6, 15)),  # 15 days
        inv(4, "AAA", "BBB", "400", date(2026, 7, 15)),  # not yet due
        inv(5, "BBB", "AAA", "50", date(2026, 3, 1)),  # BBB's charge lowers AAA's claim
        inv(6, "AAA", "BBB", "999", date(2026, 1, 1)),  # reversed below: ignored
        postings.payment(payment_id="P-1", payer="BBB", payee="AAA", amount=Decimal(150), currency="EUR",
                         date=date(2026, 5, 10), actor="BBB"),
        inv(7, "AAA", "BBB", "77", date(2026, 8, 31)),  # dated after the ageing date: not counted
    ]  # fmt: skip
    transfers = book(items)
    wrong = transfers[5]
    rev = postings.reversal(wrong, reason="billed twice", actor="HUB", booking_date=date(2026, 2, 1))
    transfers.append(Transfer(id=50, **{n: getattr(rev, n) for n in Posting.__dataclass_fields__}))
    row = age_pair(transfers, AS_OF)
    assert row is not None
    assert (row.creditor, row.debtor, row.currency) == ("AAA", "BBB", "EUR")
    assert row.buckets == {
        "not_due": Decimal("400.00"),
        "1-30": Decimal("300.00"),
        "31-60": Decimal("0.00"),
        "61-90": Decimal("100.00"),
        "over_90": Decimal("0.00"),
    }
    assert row.total == Decimal("800.00") == balance(transfers, Account("AAA", "BBB", "EUR"), AS_OF).amount
    assert row.oldest_due == date(2026, 4, 30)


def test_a_settled_pair_has_no_ageing_row() -> None:
    items = [
        inv(1, "AAA", "BBB", "100", date(2026, 2, 28)),
        postings.payment(payment_id="P", payer="BBB", payee="AAA", amount=Decimal(100), currency="EUR",
                         date=date(2026, 3, 10), actor="BBB"),
    ]  # fmt: skip
    assert age_pair(book(items), AS_OF) is None


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["AAA", "BBB", "CCC"]),
            st.sampled_from(["AAA", "BBB", "CCC"]),
            st.integers(1, 10**6),
            st.integers(0, 300),
            st.booleans(),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_buckets_add_up_to_the_balance(rows: list[tuple[str, str, int, int, bool]]) -> None:
    items: list[Posting] = []
    start = date(2026, 1, 1)
    for i, (a, b, cents, offset, is_invoice) in enumerate(rows):
        if a == b:
            continue
        amount, day = Decimal(cents).scaleb(-2), start + timedelta(days=offset)
        if is_invoice:
            items.append(inv(i, a, b, str(amount), day + timedelta(days=15)))
        else:
            items.append(postings.payment(payment_id=f"P{i}", payer=a, payee=b, amount=amount,
                                          currency="EUR", date=day, actor=a))  # fmt: skip
    transfers = book(items)
    for row in age_books(transfers, AS_OF):
        owed = balance(transfers, Account(row.creditor, row.debtor, "EUR"), AS_OF).amount
        assert owed > 0
        assert row.total == owed == sum(row.buckets.values(), Decimal(0))
        assert all(v >= 0 for v in row.buckets.values())
