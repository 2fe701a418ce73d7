"""Reconciling our books with a partner's extract: planted differences found exactly, summing to the gap."""

from __future__ import annotations

import textwrap
from datetime import date, timedelta
from decimal import Decimal
from itertools import permutations

from hypothesis import given, settings
from hypothesis import strategies as st

from o2o.accounts import postings
from o2o.accounts.book_reconciliation import (
    BookLine,
    DifferenceKind,
    least_cost_pairs,
    our_lines,
    reconcile_books,
    their_lines,
)
from o2o.accounts.journal import Posting, Transfer
from o2o.accounts.partner_extract import parse_extract

AS_OF = date(2026, 3, 31)


def book(items: list[Posting]) -> list[Transfer]:
    fields = Posting.__dataclass_fields__
    return [Transfer(id=i, **{n: getattr(p, n) for n in fields}) for i, p in enumerate(items, start=1)]


def inv(doc: str, svc: str, provider: str, customer: str, amount: str, day: date) -> Posting:
    return postings.invoice(
        statement_id=doc, service=svc, provider=provider, customer=customer, amount=Decimal(amount),
        currency="EUR", booking_date=day, value_date=day, due_date=day + timedelta(days=15), actor="HUB",
    )  # fmt: skip


def alfa_books() -> list[Transfer]:
    pay = postings.payment
    return book(
        [
            postings.opening_balance(creditor="ALFA", debtor="BETA", amount=Decimal(1000), currency="EUR",
                                     date=date(2025, 12, 31), actor="HUB", document="OB-2025"),
            inv("ST-2026-01", "voice", "ALFA", "BETA", "2500.40", date(2026, 1, 31)),
            inv("ST-2026-01", "sms", "BETA", "ALFA", "800.15", date(2026, 1, 31)),
            pay(payment_id="PAY-77", payer="BETA", payee="ALFA", amount=Decimal("1700.25"), currency="EUR",
                date=date(2026, 2, 15), actor="BETA"),
            inv("ST-2026-02", "voice", "ALFA", "BETA", "1200.00", date(2026, 2, 28)),
            inv("ST-2026-02", "sms", "BETA", "ALFA", "300.00", date(2026, 2, 28)),
            pay(payment_id="PAY-78", payer="BETA", payee="ALFA", amount=Decimal("500"), currency="EUR",
                date=date(2026, 3, 31), actor="BETA"),
        ]
    )  # fmt: skip


# BETA's books of its account with ALFA (their debit: ALFA owes BETA more). Planted differences:
# the February sms invoice is missing, the February voice invoice is 1210.00 instead of 1200.00,
# PAY-78 is booked on 1 April, PAY-77 a day late (no effect on the gap), and INV-B-55 is theirs only.
BETA_EXTRACT = textwrap.dedent(
    """\
    date,document,description,debit,credit,currency
    2025-12-31,OB-2025,opening balance,,1000.00,EUR
    2026-01-31,ST-2026-01,voice from ALFA,,2500.40,EUR
    2026-01-31,ST-2026-01,sms to ALFA,800.15,,EUR
    2026-02-16,PAY-77,payment received,1700.25,,EUR
    2026-02-28,ST-2026-02,voice from ALFA,,1210.00,EUR
    2026-03-20,INV-B-55,colocation March,42.00,,EUR
    2026-04-01,PAY-78,payment received,500.00,,EUR
    """
)


def test_planted_differences_are_found_exactly_and_sum_to_the_gap() -> None:
    lines, errors = parse_extract(BETA_EXTRACT)
    assert errors == []
    (rec,) = reconcile_books(our_lines(alfa_books(), "ALFA", AS_OF), their_lines(lines), AS_OF, 5)
    assert rec.our_balance == Decimal("1400.00")
    assert rec.their_balance == Decimal("-2168.00")  # in BETA's books: BETA owes ALFA 2168.00
    assert rec.gap == Decimal("-768.00")
    found = [(d.kind, d.document, d.contribution, d.days_apart) for d in rec.differences]
    assert found == [
        (DifferenceKind.DATE, "PAY-77", Decimal("0.00"), 1),
        (DifferenceKind.AMOUNT, "ST-2026-02", Decimal("-10.00"), 0),
        (DifferenceKind.MISSING_AT_PARTNER, "ST-2026-02", Decimal("-300.00"), None),
        (DifferenceKind.MISSING_IN_OURS, "INV-B-55", Decimal("42.00"), None),
        (DifferenceKind.DATE, "PAY-78", Decimal("-500.00"), 1),
    ]
    assert sum(d.contribution for d in rec.differences) == rec.gap
    assert len(rec.matched) == 3  # opening, both January invoices


def test_books_that_agree_have_no_differences() -> None:
    ours = our_lines(alfa_books(), "ALFA", AS_OF)
    mirrored = [
        BookLine(f"line {i}", x.day, x.document, "", x.amount, x.currency) for i, x in enumerate(ours)
    ]
    (rec,) = reconcile_books(ours, mirrored, AS_OF)
    assert rec.gap == 0 and rec.differences == () and len(rec.matched) == len(ours)


def test_a_reversed_transfer_and_its_reversal_cancel_out() -> None:
    books = alfa_books()
    wrong = books[3]  # PAY-77
    reversal = postings.reversal(wrong, reason="duplicate", actor="HUB", booking_date=date(2026, 3, 1))
    everything = [*books, Transfer(id=99, **{n: getattr(reversal, n) for n in Posting.__dataclass_fields__})]
    refs = [x.ref for x in our_lines(everything, "ALFA", AS_OF)]
    assert "T4" not in refs and "T99" not in refs and len(refs) == len(books) - 1


def test_malformed_extract_lines_are_reported_by_line() -> None:
    text = textwrap.dedent(
        """\
        date,document,description,debit,credit,currency
        2026-01-31,ST-1,ok,10.00,,EUR
        2026-02-30,ST-2,bad date,10.00,,EUR
        2026-02-01,ST-3,both sides,10.00,5.00,EUR
        2026-02-01,ST-4,float-ish,1.005,,EUR
        2026-02-01,ST-5,bad currency,1.00,,EUX
        2026-02-01,,no document,1.00,,EUR
        2026-02-01,ST-7,short
        2026-02-01,ST-8,negative,-3,,EUR
        """
    )
    lines, errors = parse_extract(text)
    assert [x.document for x in lines] == ["ST-1"]
    assert [e.line for e in errors] == [3, 4, 5, 6, 7, 8, 9]
    messages = [str(e) for e in errors]
    assert "line 3: date '2026-02-30' is not YYYY-MM-DD" in messages
    assert "more decimals than EUR" in messages[2]
    assert "unknown currency" in messages[3]
    assert "negative" in messages[6]
    _, header_errors = parse_extract("day,doc\n2026-01-01,x\n")
    assert "missing column(s) date, document" in str(header_errors[0])


amounts = st.integers(1, 10**7).map(lambda c: Decimal(c).scaleb(-2))
day_offsets = st.integers(-40, 40)


@st.composite
def book_pairs(draw: st.DrawFn) -> tuple[list[BookLine], list[BookLine]]:
    ours: list[BookLine] = []
    theirs: list[BookLine] = []
    for i in range(draw(st.integers(0, 25))):
        doc = draw(st.sampled_from([f"DOC-{i}", "DOC-SHARED", f"DOC-{i % 3}"]))
        day = AS_OF + timedelta(days=draw(day_offsets))
        amount = draw(amounts) * draw(st.sampled_from([1, -1]))
        fate = draw(st.sampled_from(["same", "ours", "theirs", "amount", "date"]))
        if fate != "theirs":
            ours.append(BookLine(f"T{i}", day, doc, "", amount, "EUR"))
        if fate != "ours":
            t_amount = amount + draw(amounts) if fate == "amount" else amount
            t_day = day + timedelta(days=draw(day_offsets)) if fate == "date" else day
            theirs.append(BookLine(f"line {i}", t_day, doc, "", t_amount, "EUR"))
    return ours, theirs


@settings(max_examples=150, deadline=None)
@given(book_pairs(), st.integers(0, 10))
def test_differences_always_add_up_to_the_gap(pair: tuple[list[BookLine], list[BookLine]], tol: int) -> None:
    ours, theirs = pair
    for rec in reconcile_books(ours, theirs, AS_OF, tol):
        counted_ours = sum((x.amount for x in ours if x.day <= AS_OF), Decimal(0))
        counted_theirs = sum((x.amount for x in theirs if x.day <= AS_OF), Decimal(0))
        assert rec.gap == counted_ours - counted_theirs
        assert sum((d.contribution for d in rec.differences), Decimal(0)) == rec.gap
        seen = [d.ours.ref for d in rec.differences if d.ours] + [o.ref for o, _ in rec.matched]
        assert len(seen) == len(set(seen))


# --- Several of our lines under one document number (a statement's invoice lines) ---------------------

FEB = date(2026, 2, 28)


def line(ref: str, amount: str, description: str, doc: str = "ST-2026-02", day: date = FEB) -> BookLine:
    return BookLine(ref, day, doc, description, Decimal(amount), "EUR")


def explained(ours: list[BookLine], theirs: list[BookLine]) -> list[tuple[str, str | None, str | None]]:
    (rec,) = reconcile_books(ours, theirs, AS_OF)
    assert sum((d.contribution for d in rec.differences), Decimal(0)) == rec.gap
    return [
        (d.kind.value, d.ours.ref if d.ours else None, d.theirs.ref if d.theirs else None)
        for d in rec.differences
    ]


STATEMENT = [  # ALFA's four invoice lines of one statement, three in the same direction
    line("T1", "450.00", "data provided by ALFA to BETA"),
    line("T2", "300.00", "sms provided by ALFA to BETA"),
    line("T3", "1200.00", "voice provided by ALFA to BETA"),
    line("T4", "-700.00", "voice provided by BETA to ALFA"),
]


def test_a_missing_line_and_a_changed_one_under_one_document_are_told_apart() -> None:
    theirs = [
        line("line 2", "300.00", "sms provided by ALFA to BETA"),
        line("line 3", "1210.00", "voice provided by ALFA to BETA"),
        line("line 4", "-700.00", "voice provided by BETA to ALFA"),
    ]
    assert explained(STATEMENT, theirs) == [("missing_at_partner", "T1", None), ("amount", "T3", "line 3")]


def test_the_partner_s_own_wording_leaves_the_closest_amounts_to_pair() -> None:
    # the partner describes its lines in its own words, drops sms and bills voice 10.00 more
    theirs = [
        line("line 2", "450.00", "Data traffic February"),
        line("line 3", "1210.00", "Voice traffic February"),
        line("line 4", "-700.00", "Voice termination February"),
    ]
    assert explained(STATEMENT, theirs) == [("missing_at_partner", "T2", None), ("amount", "T3", "line 3")]


def test_equal_amounts_under_one_document_are_told_apart_by_description() -> None:
    ours = [
        line("T1", "500.00", "voice provided by ALFA to BETA"),
        line("T2", "500.00", "sms provided by ALFA to BETA"),
    ]
    theirs = [line("line 2", "500.00", "SMS  provided by alfa to beta")]  # spacing and case do not count
    assert explained(ours, theirs) == [("missing_at_partner", "T1", None)]
    (rec,) = reconcile_books(ours, theirs, AS_OF)
    assert [(o.ref, t.ref) for o, t in rec.matched] == [("T2", "line 2")]


def test_two_changed_amounts_and_a_missing_line_at_once() -> None:
    theirs = [
        line("line 2", "290.00", "Sms"),
        line("line 3", "1210.00", "Voice"),
        line("line 4", "-700.00", "Voice in"),
    ]
    assert explained(STATEMENT, theirs) == [
        ("missing_at_partner", "T1", None),
        ("amount", "T2", "line 2"),
        ("amount", "T3", "line 3"),
    ]


def test_a_kept_description_outweighs_a_closer_amount() -> None:
    ours = [
        line("T1", "100.00", "voice provided by ALFA to BETA"),
        line("T2", "200.00", "sms provided by ALFA to BETA"),
    ]
    # voice dropped, sms changed to 110.00: nearer voice's 100.00, but the description says sms
    assert explained(ours, [line("line 2", "110.00", "sms provided by ALFA to BETA")]) == [
        ("missing_at_partner", "T1", None),
        ("amount", "T2", "line 2"),
    ]
    # without a description to go by, the closest amount is all there is
    assert explained(ours, [line("line 2", "110.00", "")]) == [
        ("amount", "T1", "line 2"),
        ("missing_at_partner", "T2", None),
    ]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.integers(0, 60), min_size=1, max_size=7), min_size=1, max_size=7))
def test_least_cost_pairs_is_an_optimal_assignment(grid: list[list[int]]) -> None:
    width = min(len(row) for row in grid)
    grid = [row[:width] for row in grid]
    pairs = least_cost_pairs(grid)
    assert len(pairs) == min(len(grid), width)
    assert len({i for i, _ in pairs}) == len({j for _, j in pairs}) == len(pairs)
    rows, cols = (range(len(grid)), range(width))
    if len(grid) <= width:
        best = min(
            sum(grid[i][j] for i, j in zip(rows, p, strict=True)) for p in permutations(cols, len(grid))
        )
    else:
        best = min(sum(grid[i][j] for i, j in zip(p, cols, strict=True)) for p in permutations(rows, width))
    assert sum(grid[i][j] for i, j in pairs) == best


@st.composite
def statement_and_edit(draw: st.DrawFn) -> tuple[list[BookLine], int, int, Decimal]:
    """Our lines under few document numbers (equal amounts likely), each with its own description as a
    statement's lines have; the index of a line to drop, of another to change, and its new amount."""
    pool = st.sampled_from(["100.00", "250.00", "250.00", "999.99", "1200.00", "0.01"]).map(Decimal)
    ours = [
        BookLine(
            f"T{i}",
            AS_OF - timedelta(days=draw(st.integers(0, 60))),
            draw(st.sampled_from(["ST-1", "ST-1", "ST-2", "PAY-9"])),
            f"service {i} between ALFA and BETA",
            draw(pool) * draw(st.sampled_from([1, -1])),
            "EUR",
        )
        for i in range(draw(st.integers(2, 12)))
    ]
    dropped, changed = draw(st.permutations(range(len(ours))))[:2]
    old = ours[changed].amount
    new = draw(pool.filter(lambda a: a not in (abs(old), abs(ours[dropped].amount)))) * (1 if old > 0 else -1)
    return ours, dropped, changed, new


@settings(max_examples=200, deadline=None)
@given(statement_and_edit())
def test_the_dropped_line_and_the_changed_one_are_exactly_what_is_explained(
    case: tuple[list[BookLine], int, int, Decimal],
) -> None:
    ours, dropped, changed, new = case
    theirs = [
        BookLine(f"line {i}", x.day, x.document, x.description, new if i == changed else x.amount, x.currency)
        for i, x in enumerate(ours)
        if i != dropped
    ]
    (rec,) = reconcile_books(ours, theirs, AS_OF)
    found = sorted(
        (d.kind, d.ours.ref if d.ours else "", d.theirs.ref if d.theirs else "") for d in rec.differences
    )
    assert found == sorted(
        [
            (DifferenceKind.MISSING_AT_PARTNER, f"T{dropped}", ""),
            (DifferenceKind.AMOUNT, f"T{changed}", f"line {changed}"),
        ]
    )
    assert sorted((o.ref, t.ref) for o, t in rec.matched) == sorted(
        (f"T{i}", f"line {i}") for i in range(len(ours)) if i not in (dropped, changed)
    )
    assert rec.gap == ours[dropped].amount + ours[changed].amount - new
