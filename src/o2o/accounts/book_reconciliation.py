"""Reconciling our books with a partner's extract: match lines, list differences, explain the gap.

Both sides become `BookLine`s signed from *our* side (the partner's credit is our debit). Lines are
matched per currency in passes, each greedy and deterministic (ours in date, id order; the partner's
candidate nearest in date, then amount, then line number):
1. same document, same amount, dates within the tolerance;
2. same document and direction, dates within the tolerance, different amount;
3. same document, same amount, dates further apart;
4. same amount, dates within the tolerance, different document references.
The closing-balance gap as of `as_of` is our balance minus the partner's (mirrored to our side). Each
line counts in its side's balance only if dated on or before `as_of`, so each match or unmatched line
contributes (ours counted) - (theirs counted); the contributions add up exactly to the gap, which is
checked before the result is returned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from o2o.accounts.journal import Transfer, TransferKind
from o2o.accounts.partner_extract import ExtractLine

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class BookLine:
    """A line of either side's books, amount signed from our side (+ the partner owes us more)."""

    ref: str  # "T123" for our transfer 123, "line 7" for the partner's extract line 7
    day: date
    document: str
    description: str
    amount: Decimal
    currency: str

    def counted(self, as_of: date) -> Decimal:
        return self.amount if self.day <= as_of else ZERO


class DifferenceKind(StrEnum):
    MISSING_AT_PARTNER = "missing_at_partner"  # in our books only
    MISSING_IN_OURS = "missing_in_ours"  # in the partner's books only
    AMOUNT = "amount"  # same document, different amount
    DATE = "date"  # same document and amount, different date
    AMOUNT_AND_DATE = "amount_and_date"
    REFERENCE = "reference"  # same amount and date, different document reference


@dataclass(frozen=True, slots=True)
class Difference:
    kind: DifferenceKind
    currency: str
    ours: BookLine | None
    theirs: BookLine | None
    contribution: Decimal  # this difference's share of the closing-balance gap

    @property
    def document(self) -> str:
        line = self.ours or self.theirs
        return line.document if line is not None else ""

    @property
    def amount_difference(self) -> Decimal:
        return (self.ours.amount if self.ours else ZERO) - (self.theirs.amount if self.theirs else ZERO)

    @property
    def days_apart(self) -> int | None:
        if self.ours is None or self.theirs is None:
            return None
        return (self.theirs.day - self.ours.day).days


@dataclass(frozen=True, slots=True)
class CurrencyReconciliation:
    currency: str
    our_balance: Decimal  # our side: + the partner owes us
    their_balance: Decimal  # the partner's side as in their books: + we owe the partner
    matched: tuple[tuple[BookLine, BookLine], ...]
    differences: tuple[Difference, ...]

    @property
    def gap(self) -> Decimal:
        """Our balance minus the partner's mirrored to our side; zero when the books agree."""
        return self.our_balance + self.their_balance


def our_lines(transfers: Iterable[Transfer], owner: str, as_of: date) -> list[BookLine]:
    """Our transfers as book lines; a transfer and its reversal, both on or before `as_of`, cancel out."""
    items = list(transfers)
    cancelled: set[int] = set()
    for t in items:
        if t.kind == TransferKind.REVERSAL and t.reverses is not None and t.value_date <= as_of:
            cancelled.update((t.id, t.reverses))
    by_id = {t.id: t for t in items}
    for tid in list(cancelled):  # an original dated after as_of keeps its reversal visible
        if tid in by_id and by_id[tid].value_date > as_of:
            cancelled.discard(tid)
            cancelled.discard(by_id[tid].reverses or -1)
    return [
        BookLine(f"T{t.id}", t.value_date, t.document, t.description, t.signed_for(owner), t.currency)
        for t in items
        if t.id not in cancelled
    ]


def their_lines(lines: Iterable[ExtractLine]) -> list[BookLine]:
    return [
        BookLine(f"line {x.line}", x.day, x.document, x.description, x.signed_ours, x.currency) for x in lines
    ]


def reconcile_books(
    ours: Iterable[BookLine], theirs: Iterable[BookLine], as_of: date, tolerance_days: int = 5
) -> list[CurrencyReconciliation]:
    """Match both sides' lines per currency and explain each currency's closing-balance gap."""
    horizon = as_of + timedelta(days=tolerance_days)
    mine = [x for x in ours if x.day <= horizon]
    other = [x for x in theirs if x.day <= horizon]
    currencies = sorted({x.currency for x in mine} | {x.currency for x in other})
    return [
        _reconcile_currency(
            cur,
            [x for x in mine if x.currency == cur],
            [x for x in other if x.currency == cur],
            as_of,
            tolerance_days,
        )
        for cur in currencies
    ]


def _doc(line: BookLine) -> str:
    return " ".join(line.document.split()).casefold()


@dataclass(frozen=True, slots=True)
class _Pass:
    """One matching pass: lines may pair when their bucket keys are equal and `accept` holds."""

    bucket: Callable[[BookLine], object]
    accept: Callable[[BookLine, BookLine], bool]


def _passes(tol: int) -> list[_Pass]:
    def near(o: BookLine, t: BookLine) -> bool:
        return abs((o.day - t.day).days) <= tol

    def anywhere(o: BookLine, t: BookLine) -> bool:
        return True

    return [
        _Pass(lambda x: (_doc(x), x.amount), near),
        _Pass(lambda x: (_doc(x), x.amount > 0), near),
        _Pass(lambda x: (_doc(x), x.amount), anywhere),
        _Pass(lambda x: x.amount, near),
    ]


def _match(ours: list[BookLine], theirs: list[BookLine], tol: int) -> list[tuple[BookLine, BookLine]]:
    left = sorted(ours, key=lambda x: (x.day, x.ref))
    right = sorted(theirs, key=lambda x: (x.day, x.ref))
    pairs: list[tuple[BookLine, BookLine]] = []
    for step in _passes(tol):
        buckets: dict[object, list[BookLine]] = {}
        for t in right:
            buckets.setdefault(step.bucket(t), []).append(t)
        taken: set[int] = set()
        unmatched: list[BookLine] = []
        for o in left:
            best = _best(o, buckets.get(step.bucket(o), []), step, taken)
            if best is None:
                unmatched.append(o)
            else:
                taken.add(id(best))
                pairs.append((o, best))
        left = unmatched
        right = [t for t in right if id(t) not in taken]
    return pairs


def _reconcile_currency(
    currency: str, ours: list[BookLine], theirs: list[BookLine], as_of: date, tol: int
) -> CurrencyReconciliation:
    pairs = _match(ours, theirs, tol)
    paired = {id(o) for o, _ in pairs} | {id(t) for _, t in pairs}
    clean: list[tuple[BookLine, BookLine]] = []
    differences: list[Difference] = []
    for o, t in pairs:
        kind = _pair_kind(o, t)
        if kind is None:
            clean.append((o, t))
        else:
            differences.append(Difference(kind, currency, o, t, o.counted(as_of) - t.counted(as_of)))
    differences += [
        Difference(DifferenceKind.MISSING_AT_PARTNER, currency, o, None, o.amount)
        for o in ours
        if id(o) not in paired and o.day <= as_of
    ]
    differences += [
        Difference(DifferenceKind.MISSING_IN_OURS, currency, None, t, -t.amount)
        for t in theirs
        if id(t) not in paired and t.day <= as_of
    ]
    differences.sort(key=_difference_order)
    ours_balance = sum((x.counted(as_of) for x in ours), ZERO)
    theirs_mirrored = sum((x.counted(as_of) for x in theirs), ZERO)
    explained = sum((d.contribution for d in differences), ZERO)
    gap = ours_balance - theirs_mirrored
    if explained != gap:  # an invariant of the matching, not a user error
        raise RuntimeError(f"{currency}: differences add up to {explained} but the gap is {gap}")
    return CurrencyReconciliation(currency, ours_balance, -theirs_mirrored, tuple(clean), tuple(differences))


def _best(o: BookLine, candidates: list[BookLine], step: _Pass, taken: set[int]) -> BookLine | None:
    best: BookLine | None = None
    best_key: tuple[int, Decimal, str] | None = None
    for t in candidates:
        if id(t) in taken or not step.accept(o, t):
            continue
        key = (abs((o.day - t.day).days), abs(o.amount - t.amount), t.ref)
        if best_key is None or key < best_key:
            best, best_key = t, key
    return best


def _pair_kind(o: BookLine, t: BookLine) -> DifferenceKind | None:
    if _doc(o) != _doc(t):
        return DifferenceKind.REFERENCE
    if o.amount != t.amount:
        return DifferenceKind.AMOUNT if o.day == t.day else DifferenceKind.AMOUNT_AND_DATE
    return DifferenceKind.DATE if o.day != t.day else None


def _difference_order(d: Difference) -> tuple[date, str]:
    line = d.ours or d.theirs
    return (line.day, line.ref) if line else (date.min, "")
