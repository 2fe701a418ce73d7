"""A statement of account computed by hand, and its plain-data form with both parties' columns."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from o2o.accounts import postings
from o2o.accounts.journal import Posting, Transfer
from o2o.accounts.statement import StatementOfAccount, statement_dict, statement_of_account

D0, D1 = date(2026, 1, 1), date(2026, 3, 31)


def book(items: list[Posting]) -> list[Transfer]:
    fields = Posting.__dataclass_fields__
    return [Transfer(id=i, **{n: getattr(p, n) for n in fields}) for i, p in enumerate(items, start=1)]


def alfa_beta_books() -> list[Transfer]:
    """ALFA and BETA's first quarter of 2026 (plus the balance carried in and an April invoice)."""
    eur = "EUR"
    return book(
        [
            postings.opening_balance(
                creditor="ALFA", debtor="BETA", amount=Decimal("1000"), currency=eur,
                date=date(2025, 12, 31), actor="HUB", document="OB-2025",
            ),
            postings.invoice(
                statement_id="ST-2026-01", service="voice", provider="ALFA", customer="BETA",
                amount=Decimal("2500.40"), currency=eur, booking_date=date(2026, 2, 3),
                value_date=date(2026, 1, 31), due_date=date(2026, 2, 15), actor="HUB",
            ),
            postings.invoice(
                statement_id="ST-2026-01", service="sms", provider="BETA", customer="ALFA",
                amount=Decimal("800.15"), currency=eur, booking_date=date(2026, 2, 3),
                value_date=date(2026, 1, 31), due_date=date(2026, 2, 15), actor="HUB",
            ),
            postings.setoff(
                round_id="R-2026-01", obligation_id="O-1", debtor="BETA", creditor="ALFA",
                amount=Decimal("800.15"), currency=eur, date=date(2026, 2, 10), actor="HUB",
            ),
            postings.setoff(
                round_id="R-2026-01", obligation_id="O-2", debtor="ALFA", creditor="BETA",
                amount=Decimal("800.15"), currency=eur, date=date(2026, 2, 10), actor="HUB",
            ),
            postings.payment(
                payment_id="PAY-77", payer="BETA", payee="ALFA", amount=Decimal("1700.25"),
                currency=eur, date=date(2026, 2, 15), actor="BETA",
            ),
            postings.dispute_adjustment(
                dispute_id="D-9", provider="ALFA", customer="BETA", amount=Decimal("-100"),
                currency=eur, date=date(2026, 3, 5), actor="HUB",
            ),
            postings.invoice(
                statement_id="ST-2026-03", service="voice", provider="ALFA", customer="BETA",
                amount=Decimal("99.99"), currency=eur, booking_date=date(2026, 4, 3),
                value_date=date(2026, 4, 2), due_date=None, actor="HUB",
            ),
        ]
    )  # fmt: skip


def q1_statement() -> StatementOfAccount:
    transfers = alfa_beta_books()
    opening = {"EUR": Decimal("1000.00")}  # the balance carried in, before 1 January
    in_range = [t for t in transfers if D0 <= t.value_date <= D1]
    return statement_of_account("ALFA", "BETA", D0, D1, opening, in_range)


def test_hand_computed_statement_of_account() -> None:
    st = q1_statement()
    assert st.party_a == "ALFA"
    (sec,) = st.sections
    rows = [(ln.value_date, ln.document, ln.kind.value, str(ln.debit), str(ln.credit)) for ln in sec.lines]
    assert rows == [
        (date(2026, 1, 31), "ST-2026-01", "invoice", "2500.40", "0.00"),
        (date(2026, 1, 31), "ST-2026-01", "invoice", "0.00", "800.15"),
        (date(2026, 2, 10), "R-2026-01", "setoff", "0.00", "800.15"),
        (date(2026, 2, 10), "R-2026-01", "setoff", "800.15", "0.00"),
        (date(2026, 2, 15), "PAY-77", "payment", "0.00", "1700.25"),
        (date(2026, 3, 5), "D-9", "adjustment", "0.00", "100.00"),
    ]
    assert sec.opening == Decimal("1000.00")
    assert sec.debit_turnover == Decimal("3300.55")
    assert sec.credit_turnover == Decimal("3400.55")
    assert sec.closing == Decimal("900.00")
    assert sec.closing_side.value == "debit"


def test_statement_shows_both_sides_mirrored() -> None:
    data = statement_dict(q1_statement())
    (sec,) = data["sections"]  # type: ignore[misc]
    assert sec["opening"] == {
        "ALFA": {"debit": Decimal("1000.00"), "credit": Decimal("0.00")},
        "BETA": {"debit": Decimal("0.00"), "credit": Decimal("1000.00")},
    }
    assert sec["turnover"]["BETA"] == {"debit": Decimal("3400.55"), "credit": Decimal("3300.55")}
    assert sec["closing"]["BETA"] == {"debit": Decimal("0.00"), "credit": Decimal("900.00")}
    assert sec["closing_balance"] == "BETA owes ALFA 900.00 EUR"
    payment = sec["lines"][4]
    assert payment["ALFA"] == {"debit": Decimal("0.00"), "credit": Decimal("1700.25")}
    assert payment["BETA"] == {"debit": Decimal("1700.25"), "credit": Decimal("0.00")}
