"""Journal invariants: every transfer balances, both sides mirror, reversals restore, balances are sums."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from o2o.accounts import postings
from o2o.accounts.balances import balance, trial_balance, turnover
from o2o.accounts.journal import Account, Posting, Transfer, TransferKind
from o2o.accounts.statement import statement_of_account
from o2o.domain.errors import MoneyError, ValidationError

PARTIES = ["AAA", "BBB", "CCC", "DDD"]
START = date(2026, 1, 1)


def book(items: list[Posting], first_id: int = 1) -> list[Transfer]:
    return [Transfer(id=i, **_fields(p)) for i, p in enumerate(items, start=first_id)]


def _fields(p: Posting) -> dict[str, object]:
    return {name: getattr(p, name) for name in Posting.__dataclass_fields__}


@st.composite
def posting_lists(draw: st.DrawFn) -> list[Posting]:
    n = draw(st.integers(1, 40))
    out: list[Posting] = []
    for i in range(n):
        a, b = draw(st.lists(st.sampled_from(PARTIES), min_size=2, max_size=2, unique=True))
        cur = draw(st.sampled_from(["EUR", "JPY"]))
        cents = draw(st.integers(1, 10**9))
        amount = Decimal(cents) if cur == "JPY" else Decimal(cents).scaleb(-2)
        day = START + timedelta(days=draw(st.integers(0, 400)))
        kind = draw(st.sampled_from(["invoice", "payment", "setoff", "adjustment"]))
        if kind == "invoice":
            p = postings.invoice(
                statement_id=f"ST-{i}",
                service="voice",
                provider=a,
                customer=b,
                amount=amount,
                currency=cur,
                booking_date=day,
                value_date=day,
                due_date=day + timedelta(days=30),
                actor="HUB",
            )
        elif kind == "payment":
            p = postings.payment(
                payment_id=f"P-{i}", payer=a, payee=b, amount=amount, currency=cur, date=day, actor=a
            )
        elif kind == "setoff":
            p = postings.setoff(
                round_id=f"R-{i}",
                obligation_id=f"O-{i}",
                debtor=a,
                creditor=b,
                amount=amount,
                currency=cur,
                date=day,
                actor="HUB",
            )
        else:
            sign = draw(st.sampled_from([1, -1]))
            p = postings.dispute_adjustment(
                dispute_id=f"D-{i}",
                provider=a,
                customer=b,
                amount=sign * amount,
                currency=cur,
                date=day,
                actor="HUB",
            )
        out.append(p)
    return out


def accounts_of(transfers: list[Transfer]) -> set[Account]:
    found: set[Account] = set()
    for t in transfers:
        found.update((t.debit_account, t.credit_account))
    return found


@settings(max_examples=40, deadline=None)
@given(posting_lists(), st.integers(0, 420))
def test_every_transfer_balances_and_sides_mirror(items: list[Posting], offset: int) -> None:
    transfers = book(items)
    as_of = START + timedelta(days=offset)
    tb = trial_balance(transfers, as_of)
    for cur in ("EUR", "JPY"):
        assert sum((v for a, v in tb.items() if a.currency == cur), Decimal(0)) == 0
    for acc in accounts_of(transfers):
        mine = balance(transfers, acc, as_of)
        theirs = balance(transfers, acc.mirror, as_of)
        assert mine.amount == -theirs.amount
        assert mine.mirror == theirs
        assert mine.debit == theirs.credit and mine.credit == theirs.debit
        assert tb.get(acc, Decimal(0)) == mine.amount


@settings(max_examples=40, deadline=None)
@given(posting_lists(), st.integers(0, 420))
def test_balance_as_of_a_date_is_the_sum_of_transfers_up_to_it(items: list[Posting], offset: int) -> None:
    transfers = book(items)
    as_of = START + timedelta(days=offset)
    for acc in accounts_of(transfers):
        expected = Decimal(0)
        for t in transfers:
            if t.value_date > as_of or t.currency != acc.currency:
                continue
            if (t.debit_party, t.credit_party) == (acc.owner, acc.counterparty):
                expected += t.amount
            elif (t.credit_party, t.debit_party) == (acc.owner, acc.counterparty):
                expected -= t.amount
        assert balance(transfers, acc, as_of).amount == expected
        moved = turnover(transfers, acc, date.min, as_of)
        assert moved.net == expected


@settings(max_examples=40, deadline=None)
@given(posting_lists(), st.data())
def test_a_reversal_restores_every_balance(items: list[Posting], data: st.DataObject) -> None:
    transfers = book(items)
    chosen = data.draw(st.sets(st.sampled_from([t.id for t in transfers])))
    reversals = [
        postings.reversal(t, reason="wrong", actor="HUB", booking_date=date(2027, 6, 1))
        for t in transfers
        if t.id in chosen
    ]
    everything = transfers + book(reversals, first_id=len(transfers) + 1)
    kept = [t for t in transfers if t.id not in chosen]
    for day in (START, START + timedelta(days=200), START + timedelta(days=500)):
        for acc in accounts_of(transfers):
            assert balance(everything, acc, day) == balance(kept, acc, day)


@settings(max_examples=40, deadline=None)
@given(posting_lists(), st.integers(0, 400), st.integers(0, 200))
def test_statement_closing_is_opening_plus_turnover(items: list[Posting], start: int, length: int) -> None:
    transfers = book(items)
    a, b = transfers[0].debit_party, transfers[0].credit_party
    d0 = START + timedelta(days=start)
    d1 = d0 + timedelta(days=length)
    opening = {}
    for cur in ("EUR", "JPY"):
        opening[cur] = balance(transfers, Account(a, b, cur), d0 - timedelta(days=1)).amount
    in_range = [
        t for t in transfers if {t.debit_party, t.credit_party} == {a, b} and d0 <= t.value_date <= d1
    ]
    st_ab = statement_of_account(a, b, d0, d1, opening, in_range)
    for sec in st_ab.sections:
        assert sec.closing == sec.opening + sec.debit_turnover - sec.credit_turnover
        assert sec.closing == balance(transfers, Account(a, b, sec.currency), d1).amount
        dates = [(ln.value_date, ln.transfer_id) for ln in sec.lines]
        assert dates == sorted(dates)


def test_postings_sign_conventions() -> None:
    d = date(2026, 2, 1)
    inv = postings.invoice(
        statement_id="ST",
        service="voice",
        provider="AAA",
        customer="BBB",
        amount=Decimal("10"),
        currency="EUR",
        booking_date=d,
        value_date=d,
        due_date=None,
        actor="HUB",
    )
    pay = postings.payment(
        payment_id="P", payer="BBB", payee="AAA", amount=Decimal("4"), currency="EUR", date=d, actor="BBB"
    )
    credit_note = postings.dispute_adjustment(
        dispute_id="D",
        provider="AAA",
        customer="BBB",
        amount=Decimal("-1.5"),
        currency="EUR",
        date=d,
        actor="HUB",
    )
    opening = postings.opening_balance(
        creditor="BBB", debtor="AAA", amount=Decimal("0.5"), currency="EUR", date=d, actor="HUB"
    )
    transfers = book([inv, pay, credit_note, opening])
    # AAA is owed 10, paid 4, credit note 1.5, and owes 0.5 from before: 10 - 4 - 1.5 - 0.5 = 4.00
    assert balance(transfers, Account("AAA", "BBB", "EUR")).amount == Decimal("4.00")
    assert inv.amount == Decimal("10.00") and str(inv.amount) == "10.00"
    assert credit_note.debit_party == "BBB" and credit_note.amount == Decimal("1.50")
    assert inv.key == "invoice/ST/voice/AAA>BBB"


def test_bad_postings_are_refused() -> None:
    d = date(2026, 2, 1)
    with pytest.raises(MoneyError):
        postings.payment(
            payment_id="P",
            payer="A",
            payee="B",
            amount=1.5,
            currency="EUR",  # type: ignore[arg-type]
            date=d,
            actor="A",
        )
    with pytest.raises(MoneyError, match="minor unit"):
        postings.payment(
            payment_id="P", payer="A", payee="B", amount=Decimal("1.005"), currency="EUR", date=d, actor="A"
        )
    with pytest.raises(ValidationError, match="positive"):
        postings.payment(
            payment_id="P", payer="A", payee="B", amount=Decimal(0), currency="EUR", date=d, actor="A"
        )
    with pytest.raises(ValidationError, match="both A"):
        postings.payment(
            payment_id="P", payer="A", payee="A", amount=Decimal(1), currency="EUR", date=d, actor="A"
        )
    with pytest.raises(ValidationError, match="zero adjustment"):
        postings.dispute_adjustment(
            dispute_id="D", provider="A", customer="B", amount=Decimal(0), currency="EUR", date=d, actor="A"
        )
    inv = book(
        [
            postings.payment(
                payment_id="P", payer="A", payee="B", amount=Decimal(1), currency="EUR", date=d, actor="A"
            )
        ]
    )[0]
    rev = book([postings.reversal(inv, reason="typo", actor="A", booking_date=d)], first_id=2)[0]
    assert rev.kind == TransferKind.REVERSAL and rev.reverses == 1 and rev.debit_party == "B"
    with pytest.raises(ValidationError, match="itself a reversal"):
        postings.reversal(rev, reason="again", actor="A", booking_date=d)
    with pytest.raises(ValidationError, match="needs a reason"):
        postings.reversal(inv, reason=" ", actor="A", booking_date=d)
