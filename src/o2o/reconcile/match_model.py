"""Values of record matching: the options of one run, the classes of a record, and the run's summary.

Invariants: a summary's counts add up per side: ours = matched + only_ours + duplicates_ours, and
theirs = matched + only_theirs + duplicates_theirs; matched = exact + partial + duration_mismatch.
Time gaps and duration gaps are signed as theirs − ours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from o2o.domain.errors import ValidationError
from o2o.domain.operators import NumberingPlan

DEFAULT_TIME_TOLERANCE_S = 5
DEFAULT_DURATION_TOLERANCE_S = 1
DEFAULT_MEMORY_LIMIT = "1500MB"


class MatchClass(StrEnum):
    """The class of a record after matching."""

    EXACT = "exact"
    PARTIAL = "partial"
    DURATION_MISMATCH = "duration_mismatch"
    ONLY_OURS = "only_ours"
    ONLY_THEIRS = "only_theirs"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class MatchOptions:
    """How to match two usage files.

    `ours_plan`/`theirs_plan` say how each side writes numbers (None: no country, so a national number
    with a trunk prefix is kept as written and only `+` and `00` are removed); `correct_clock` subtracts
    the estimated clock offset (theirs − ours) from their start times before the final pass, estimated from
    pairs searched within `clock_window_s`.
    `memory_limit` and `temp_directory` bound DuckDB so that inputs larger than memory spill to disk.
    """

    time_tolerance_s: int = DEFAULT_TIME_TOLERANCE_S
    duration_tolerance_s: int = DEFAULT_DURATION_TOLERANCE_S
    ours_plan: NumberingPlan | None = None
    theirs_plan: NumberingPlan | None = None
    correct_clock: bool = False
    clock_window_s: int = 60
    memory_limit: str = DEFAULT_MEMORY_LIMIT
    temp_directory: Path | None = None
    threads: int | None = None
    max_rounds: int = 64

    def __post_init__(self) -> None:
        if self.time_tolerance_s < 0:
            raise ValidationError(f"time tolerance {self.time_tolerance_s} s must not be negative")
        if self.duration_tolerance_s < 0:
            raise ValidationError(f"duration tolerance {self.duration_tolerance_s} s must not be negative")
        if self.clock_window_s < 0:
            raise ValidationError(f"clock window {self.clock_window_s} s must not be negative")
        if self.max_rounds < 1:
            raise ValidationError("max_rounds must be at least 1")


@dataclass(frozen=True, slots=True)
class MatchSummary:
    """The counts of one matching run and where its detail files are."""

    ours: int
    theirs: int
    matched: int
    exact: int
    partial: int
    duration_mismatch: int
    only_ours: int
    only_theirs: int
    duplicates_ours: int
    duplicates_theirs: int
    clock_offset_s: int | None
    rounds: int = 0
    contested_components: int = 0
    out_dir: Path | None = None

    def __post_init__(self) -> None:
        # Checked, not asserted: a broken invariant is a bug the caller must see even under -O.
        if self.exact + self.partial + self.duration_mismatch != self.matched:
            raise ValueError("classes of matched pairs do not add up")
        if self.matched + self.only_ours + self.duplicates_ours != self.ours:
            raise ValueError("our records do not add up")
        if self.matched + self.only_theirs + self.duplicates_theirs != self.theirs:
            raise ValueError("their records do not add up")

    @classmethod
    def from_totals(
        cls,
        sides: tuple[int, int],
        totals: Sequence[Any],
        clock_offset_s: int | None,
        rounds: int,
        contested_components: int,
        out_dir: Path | None,
    ) -> MatchSummary:
        """The summary of a run from its sides' record counts and the row of `totals_query` (matched, exact,
        partial, duration mismatch, only ours, only theirs, duplicates ours, duplicates theirs)."""
        matched, exact, partial, mismatch, only_ours, only_theirs, dups_ours, dups_theirs = (
            int(v) for v in totals
        )
        return cls(
            ours=int(sides[0]),
            theirs=int(sides[1]),
            matched=matched,
            exact=exact,
            partial=partial,
            duration_mismatch=mismatch,
            only_ours=only_ours,
            only_theirs=only_theirs,
            duplicates_ours=dups_ours,
            duplicates_theirs=dups_theirs,
            clock_offset_s=clock_offset_s,
            rounds=rounds,
            contested_components=contested_components,
            out_dir=out_dir,
        )

    def as_report(self) -> dict[str, Any]:
        """The summary with exactly the keys the `recon match --json` command prints."""
        return {
            "ours": self.ours,
            "theirs": self.theirs,
            "matched": self.matched,
            "exact": self.exact,
            "partial": self.partial,
            "duration_mismatch": self.duration_mismatch,
            "only_ours": self.only_ours,
            "only_theirs": self.only_theirs,
            "duplicates_ours": self.duplicates_ours,
            "duplicates_theirs": self.duplicates_theirs,
            "clock_offset_s": self.clock_offset_s,
        }


def classify_duration_gap(gap: int | None, tolerance_s: int) -> MatchClass:
    """The class of a matched pair by its duration gap (an unknown duration is a mismatch)."""
    if gap is None:
        return MatchClass.DURATION_MISMATCH
    if gap == 0:
        return MatchClass.EXACT
    if abs(gap) <= tolerance_s:
        return MatchClass.PARTIAL
    return MatchClass.DURATION_MISMATCH
