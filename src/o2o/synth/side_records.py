"""One party's view of a chunk of calls: its own clock, its missing records, its duplicates, its ids.

Invariants: a side holds every call not missing on that side, stamped `start + switch offset + jitter`
(jitter in [-J, J]) with the side's duration (the customer's carries the planted difference); rows are
in the side's time order; record ids count up through the file; a duplicate is an identical copy of a
distinct row (never of a redial call) placed after it, and is flagged `dup`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from o2o.synth.traffic import EXACT, INT, MISMATCH, MISSING_CUSTOMER, MISSING_PROVIDER, PARTIAL, Calls


@dataclass(frozen=True, slots=True)
class SideRecords:
    """The rows one declarer writes for one chunk, in file order."""

    record_no: np.ndarray  # per-file record counter (duplicates repeat their original's)
    start: np.ndarray  # epoch seconds by the side's clock
    duration: np.ndarray
    volume: np.ndarray | None
    a_nsn: np.ndarray
    b_nsn: np.ndarray
    dest: np.ndarray
    dup: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.start)


@dataclass(slots=True)
class CallCounts:
    """What a chunk planted, in the reconciliation's terms (ours = provider, theirs = customer)."""

    matched: int = 0
    exact: int = 0
    partial: int = 0
    duration_mismatch: int = 0
    only_ours: int = 0
    only_theirs: int = 0
    redials: int = 0
    calls: int = 0

    def add(self, calls: Calls) -> None:
        cat = calls.category
        counts = np.bincount(cat, minlength=5)
        self.only_theirs += int(counts[MISSING_PROVIDER])
        self.only_ours += int(counts[MISSING_CUSTOMER])
        self.partial += int(counts[PARTIAL])
        self.duration_mismatch += int(counts[MISMATCH])
        self.exact += int(counts[EXACT])
        self.matched += int(counts[PARTIAL] + counts[MISMATCH] + counts[EXACT])
        self.redials += calls.redial_pairs
        self.calls += len(cat)


def side_records(
    calls: Calls,
    provider: bool,
    offset: int,
    jitter: int,
    duplicate_rate: float,
    first_record: int,
    rng: np.random.Generator,
) -> SideRecords:
    """The provider's (`provider=True`) or the customer's rows of `calls`."""
    keep = calls.category != (MISSING_PROVIDER if provider else MISSING_CUSTOMER)
    n = int(keep.sum())
    start = calls.start[keep] + offset
    if jitter:
        start = start + rng.integers(-jitter, jitter + 1, n)
    duration = calls.duration[keep] if provider else (calls.duration + calls.delta)[keep]
    order = np.argsort(start, kind="stable")
    cols = [start, duration, calls.a_nsn[keep], calls.b_nsn[keep], calls.dest[keep]]
    start, duration, a_nsn, b_nsn, dest = (c[order] for c in cols)
    volume = None if calls.volume is None else calls.volume[keep][order]
    redial = calls.redial[keep][order]
    record_no = np.arange(first_record, first_record + n, dtype=INT)
    picks = np.flatnonzero((rng.random(n) < duplicate_rate) & ~redial) if duplicate_rate else None
    dup = np.zeros(n, dtype=bool)
    if picks is not None and len(picks):
        # Originals first, then copies; a stable sort by time keeps each copy after its original.
        idx = np.concatenate([np.arange(n), picks])
        dup = np.concatenate([dup, np.ones(len(picks), dtype=bool)])
        order = np.argsort(start[idx], kind="stable")
        idx, dup = idx[order], dup[order]
        start, duration, a_nsn, b_nsn, dest = (c[idx] for c in (start, duration, a_nsn, b_nsn, dest))
        record_no = record_no[idx]
        volume = None if volume is None else volume[idx]
    return SideRecords(record_no, start, duration, volume, a_nsn, b_nsn, dest, dup)


def charged_seconds(duration: np.ndarray, first: int, step: int) -> np.ndarray:
    """Seconds billed under `first/next` increments (a call of d > 0 s pays at least `first`)."""
    over = np.maximum(duration - first, 0)
    billed = first + -(-over // step) * step
    return np.where(duration > 0, billed, 0)


def stale_deck_sums(
    side: SideRecords, since: int, first: int, step: int, destinations: int
) -> tuple[int, np.ndarray]:
    """Distinct records at or after `since` (by the side's clock) and their billed seconds per destination."""
    mask = ~side.dup & (side.start >= since)
    billed = charged_seconds(side.duration[mask], first, step)
    per_dest = np.bincount(side.dest[mask], weights=billed, minlength=destinations)
    return int(mask.sum()), np.rint(per_dest).astype(INT)
