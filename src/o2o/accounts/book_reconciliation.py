"""Reconciling our books with a partner's extract: match lines, list differences, explain the gap.

Both sides become `BookLine`s signed from *our* side (the partner's credit is our debit). Lines are
matched per currency in passes; within each pass's bucket the lines pair as an optimal assignment (the
most pairs the pass allows, then the least total cost), not first-come, so a statement's several lines
under one document number each find their own counterpart:
1. same document, same amount, dates within the tolerance (equal descriptions first, then nearest dates);
2. same document, direction and description, dates within the tolerance, different amount (closest
   amount, then nearest date): a line whose partner kept its description is found by it;
3. same document and direction, dates within the tolerance, different amount (closest amount, then
   equal description, then nearest date);
4. same document, same amount, dates further apart (equal descriptions first, then nearest dates);
5. same amount, dates within the tolerance, different document references (likewise).
Descriptions are compared with spacing and case ignored; a blank one never counts as equal.
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


def _said(line: BookLine) -> str | None:
    """The description as compared (spacing and case ignored); None when blank, which proves nothing."""
    return " ".join(line.description.split()).casefold() or None


def _same_words(o: BookLine, t: BookLine) -> bool:
    return _said(o) is not None and _said(o) == _said(t)


@dataclass(frozen=True, slots=True)
class _Pass:
    """One matching pass: lines may pair when their bucket keys are equal and `accept` holds; within a
    bucket the pairs are the most there can be, and among those the least total `cost` (compared
    component by component: the first decides, the next breaks its ties)."""

    bucket: Callable[[BookLine], object]
    accept: Callable[[BookLine, BookLine], bool]
    cost: Callable[[BookLine, BookLine], tuple[Decimal, ...]]


def _passes(tol: int) -> list[_Pass]:
    def days(o: BookLine, t: BookLine) -> Decimal:
        return Decimal(abs((o.day - t.day).days))

    def near(o: BookLine, t: BookLine) -> bool:
        return days(o, t) <= tol

    def anywhere(o: BookLine, t: BookLine) -> bool:
        return True

    def other_words(o: BookLine, t: BookLine) -> Decimal:
        return Decimal(0 if _same_words(o, t) else 1)

    def by_words(o: BookLine, t: BookLine) -> tuple[Decimal, ...]:
        return (other_words(o, t), days(o, t))

    def by_amount(o: BookLine, t: BookLine) -> tuple[Decimal, ...]:
        return (abs(o.amount - t.amount), other_words(o, t), days(o, t))

    return [
        _Pass(lambda x: (_doc(x), x.amount), near, by_words),
        _Pass(
            lambda x: (_doc(x), x.amount > 0, _said(x)),
            lambda o, t: near(o, t) and _same_words(o, t),
            by_amount,
        ),
        _Pass(lambda x: (_doc(x), x.amount > 0), near, by_amount),
        _Pass(lambda x: (_doc(x), x.amount), anywhere, by_words),
        _Pass(lambda x: x.amount, near, by_words),
    ]


def _match(ours: list[BookLine], theirs: list[BookLine], tol: int) -> list[tuple[BookLine, BookLine]]:
    left = sorted(ours, key=lambda x: (x.day, x.ref))
    right = sorted(theirs, key=lambda x: (x.day, x.ref))
    pairs: list[tuple[BookLine, BookLine]] = []
    for step in _passes(tol):
        buckets: dict[object, tuple[list[BookLine], list[BookLine]]] = {}
        for o in left:
            buckets.setdefault(step.bucket(o), ([], []))[0].append(o)
        for t in right:
            if step.bucket(t) in buckets:
                buckets[step.bucket(t)][1].append(t)
        found = [p for mine, other in buckets.values() if other for p in _pair_bucket(mine, other, step)]
        taken = {id(o) for o, _ in found} | {id(t) for _, t in found}
        pairs += found
        left = [o for o in left if id(o) not in taken]
        right = [t for t in right if id(t) not in taken]
    return pairs


def _pair_bucket(mine: list[BookLine], other: list[BookLine], step: _Pass) -> list[tuple[BookLine, BookLine]]:
    """The bucket's pairs as an optimal assignment: the most pairs `accept` allows, then the least cost."""
    allowed = {
        (i, j): step.cost(o, t) for i, o in enumerate(mine) for j, t in enumerate(other) if step.accept(o, t)
    }
    if len(allowed) <= 1:  # nothing to choose between (the usual case: one line each side)
        return [(mine[i], other[j]) for i, j in allowed]
    weighed = _lexicographic(allowed, min(len(mine), len(other)))
    forbidden = sum(weighed.values()) + 1  # dearer than any set of allowed pairs: pairs come first
    grid = [[weighed.get((i, j), forbidden) for j in range(len(other))] for i in range(len(mine))]
    chosen = least_cost_pairs(grid)
    return [(mine[i], other[j]) for i, j in chosen if (i, j) in weighed]


def _lexicographic(
    costs: dict[tuple[int, int], tuple[Decimal, ...]], rows: int
) -> dict[tuple[int, int], int]:
    """One exact integer per pair whose sums over any `rows` pairs order as the cost tuples' sums do,
    first component first: each component weighs more than `rows` pairs' worth of all later ones.
    Python's integers do not overflow, so the weights may be as large as that takes."""
    keys = list(costs)
    combined = dict.fromkeys(keys, 0)
    bound = 0  # the largest combined cost of one pair so far
    for k in reversed(range(len(costs[keys[0]]))):
        column = [costs[key][k] for key in keys]
        places = max(0, *(-int(v.as_tuple().exponent) for v in column))
        scaled = [int(v.scaleb(places)) for v in column]
        weight = rows * bound + 1
        for key, value in zip(keys, scaled, strict=True):
            combined[key] += value * weight
        bound += max(scaled) * weight
    return combined


def least_cost_pairs(grid: list[list[int]]) -> list[tuple[int, int]]:
    """A least-cost assignment of the grid's rows to its columns (every row of the shorter side paired),
    by the Hungarian method with potentials (shortest augmenting paths), O(n²·m) for n ≤ m. Exact on
    integers; deterministic, so equal lines always pair the same way. Buckets are one document's lines
    left over by the exact passes, so n and m are small."""
    if not grid or not grid[0]:
        return []
    if len(grid) > len(grid[0]):
        flipped = least_cost_pairs([list(col) for col in zip(*grid, strict=True)])
        return [(i, j) for j, i in flipped]
    n, m = len(grid), len(grid[0])
    u, v = [0] * (n + 1), [0] * (m + 1)  # potentials: u[i] + v[j] <= grid[i-1][j-1]
    owner = [0] * (m + 1)  # owner[j]: the row (1-based) holding column j; column 0 is the root
    for row in range(1, n + 1):
        owner[0], free = row, 0
        dist, via = [0] * (m + 1), [0] * (m + 1)  # shortest reduced distance to a column, and from where
        reached, waiting = [0], list(range(1, m + 1))  # columns in the search tree, and not yet
        while owner[free] != 0:
            i = owner[free]
            costs, ui = grid[i - 1], u[i]
            for j in waiting:
                reduced = costs[j - 1] - ui - v[j]
                if free == 0 or reduced < dist[j]:  # from the root every column is reached at once
                    dist[j], via[j] = reduced, free
            nxt = min(waiting, key=dist.__getitem__)
            delta = dist[nxt]
            for j in reached:
                u[owner[j]] += delta
                v[j] -= delta
            for j in waiting:
                dist[j] -= delta
            waiting.remove(nxt)
            reached.append(nxt)
            free = nxt
        while free != 0:  # flip the augmenting path back to the root
            back = via[free]
            owner[free] = owner[back]
            free = back
    return [(owner[j] - 1, j - 1) for j in range(1, m + 1) if owner[j] != 0]


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


def _pair_kind(o: BookLine, t: BookLine) -> DifferenceKind | None:
    if _doc(o) != _doc(t):
        return DifferenceKind.REFERENCE
    if o.amount != t.amount:
        return DifferenceKind.AMOUNT if o.day == t.day else DifferenceKind.AMOUNT_AND_DATE
    return DifferenceKind.DATE if o.day != t.day else None


def _difference_order(d: Difference) -> tuple[date, str]:
    line = d.ours or d.theirs
    return (line.day, line.ref) if line else (date.min, "")
