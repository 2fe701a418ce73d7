"""Ageing of open balances per counterparty: not yet due, 1–30, 31–60, 61–90, over 90 days past due.

For one pair and currency, the documents that raise one party's claim (invoices, debit notes, opening
balances owed to it) are charges; those that lower it (payments, set-offs, credit notes) are credits.
A transfer and its reversal (both on or before the date) cancel out first. The side with the larger
total is the creditor; the other side's total is applied to the creditor's charges oldest due date
first (FIFO, as settlement practice does without explicit matching), and the charges left open are
aged by days past due (a charge without a due date is due on its value date). Invariant: the buckets
add up exactly to the pair's balance.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from o2o.accounts.journal import Transfer, TransferKind
from o2o.domain.money import from_minor

ZERO = Decimal(0)
BUCKETS = ("not_due", "1-30", "31-60", "61-90", "over_90")


def bucket_of(days_past_due: int) -> str:
    if days_past_due <= 0:
        return "not_due"
    if days_past_due <= 30:
        return "1-30"
    if days_past_due <= 60:
        return "31-60"
    if days_past_due <= 90:
        return "61-90"
    return "over_90"


@dataclass(frozen=True, slots=True)
class AgeingRow:
    """What `debtor` owes `creditor` in `currency` as of a date, by how long it is past due."""

    creditor: str
    debtor: str
    currency: str
    total: Decimal
    buckets: dict[str, Decimal]
    oldest_due: date | None


def _live(transfers: list[Transfer], as_of: date) -> list[Transfer]:
    """Transfers on or before `as_of`, without reversed pairs."""
    upto = [t for t in transfers if t.value_date <= as_of]
    cancelled: set[int] = set()
    for t in upto:
        if t.kind == TransferKind.REVERSAL and t.reverses is not None:
            cancelled.update((t.id, t.reverses))
    return [t for t in upto if t.id not in cancelled]


def age_pair(transfers: Iterable[Transfer], as_of: date) -> AgeingRow | None:
    """The ageing of one pair in one currency (all `transfers` between the same two parties, one currency).

    Returns None when the balance is zero.
    """
    live = _live(list(transfers), as_of)
    if not live:
        return None
    first = live[0]
    a, b = sorted((first.debit_party, first.credit_party))
    raising_a = [t for t in live if t.debit_party == a]
    raising_b = [t for t in live if t.debit_party == b]
    total_a = sum((t.amount for t in raising_a), ZERO)
    total_b = sum((t.amount for t in raising_b), ZERO)
    if total_a == total_b:
        return None
    creditor, debtor, charges, paid = (
        (a, b, raising_a, total_b) if total_a > total_b else (b, a, raising_b, total_a)
    )
    buckets = dict.fromkeys(BUCKETS, from_minor(0, first.currency))
    oldest: date | None = None
    for t in sorted(charges, key=lambda t: (t.due_date or t.value_date, t.value_date, t.id)):
        used = min(paid, t.amount)
        paid -= used
        open_part = t.amount - used
        if open_part == 0:
            continue
        due = t.due_date or t.value_date
        oldest = due if oldest is None else min(oldest, due)
        key = bucket_of((as_of - due).days)
        buckets[key] += open_part
    total = sum(buckets.values(), from_minor(0, first.currency))
    return AgeingRow(creditor, debtor, first.currency, total, buckets, oldest)


def age_books(transfers: Iterable[Transfer], as_of: date) -> list[AgeingRow]:
    """Ageing of every pair and currency found in `transfers`, sorted by creditor, debtor, currency."""
    groups: dict[tuple[str, str, str], list[Transfer]] = {}
    for t in transfers:
        lo, hi = sorted((t.debit_party, t.credit_party))
        groups.setdefault((lo, hi, t.currency), []).append(t)
    rows = [row for key in sorted(groups) if (row := age_pair(groups[key], as_of)) is not None]
    return sorted(rows, key=lambda r: (r.creditor, r.debtor, r.currency))
