"""What the synthetic network generator is asked for: size, seed and the rate of each discrepancy cause.

Invariants (checked by `SynthOptions.check`): every rate is a probability in [0, 1]; the per-record
categories (missing on either side, 1 s and larger duration differences) sum to at most 1; the largest
time gap the generator plants between the two records of one call (`clock_skew_s`, the clock offset
difference plus both sides' jitter) stays inside the 5 s matching tolerance, so `truth.json` holds under
the reconciliation's semantics. `outage_days` (at most `MAX_OUTAGE_DAYS`) plants one whole-day gap in
the customer's records of the busiest service direction, so that a default network has a dispute to act on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from o2o.domain.errors import ValidationError
from o2o.domain.periods import Period

USAGE_KINDS = ("voice", "sms", "data")
ALL_KINDS = (*USAGE_KINDS, "recurring")
MAX_OPERATORS = 40
MATCH_TOLERANCE_S = 5
# Fewer calls than this per service direction would leave files that are empty by chance.
MIN_CALLS_PER_SERVICE = 20
MAX_OUTAGE_DAYS = 7


@dataclass(frozen=True, slots=True)
class SynthOptions:
    """Options of `o2o generate`; rates are per record (per call for the duration classes)."""

    operators: int = 8
    period: Period = field(default_factory=lambda: Period(2026, 10))
    cdrs: int = 100_000
    seed: int = 1
    services: tuple[str, ...] = ALL_KINDS
    one_way: bool = False
    missing_provider: float = 0.01
    missing_customer: float = 0.01
    partial: float = 0.02
    mismatch: float = 0.01
    redial: float = 0.01
    duplicate: float = 0.005
    format_mix: float = 0.2
    clock_skew_s: int = 4
    jitter_s: int = 1
    rate_change: float = 0.5
    stale_deck: float = 0.5
    offset_files: float = 0.25
    chunk_calls: int = 100_000
    # Absolute tolerance of every agreement, in USD-like units scaled to its currency (0: relative 1% only).
    # Small, so that the planted outage (a day of one direction's traffic, ~3%) goes over it and over the
    # 1% relative tolerance, while the symmetric per-record noise of a 50k-call network (under 1 unit a
    # line, measured on seed 1) stays inside.
    tolerance_absolute: int = 5
    # Days of the busiest service direction whose records the customer's switch lost (0: none).
    outage_days: int = 1

    def check(self) -> SynthOptions:
        """Return self when the options make a consistent network, else raise a ValidationError."""
        if not 2 <= self.operators <= MAX_OPERATORS:
            raise ValidationError(f"--operators {self.operators}: between 2 and {MAX_OPERATORS}")
        self._check_counts()
        unknown = [k for k in self.services if k not in ALL_KINDS]
        if unknown or not self.services:
            raise ValidationError(f"--services {','.join(self.services)}: choose from {', '.join(ALL_KINDS)}")
        for name, value in self.rates().items():
            if not 0.0 <= value <= 1.0:
                raise ValidationError(f"--{name.replace('_', '-')} {value}: a rate between 0 and 1")
        if self.missing_provider + self.missing_customer + self.partial + self.mismatch > 1.0:
            raise ValidationError("missing, partial and mismatch rates together exceed 1")
        if self.redial > 0.5:
            raise ValidationError(f"--redial {self.redial}: at most 0.5 (each redial is two calls)")
        if self.jitter_s < 0 or 2 * self.jitter_s > self.clock_skew_s:
            raise ValidationError(f"--jitter {self.jitter_s}: between 0 and half of --clock-skew")
        if not 0 <= self.clock_skew_s <= MATCH_TOLERANCE_S - 1:
            raise ValidationError(
                f"--clock-skew {self.clock_skew_s}: between 0 and {MATCH_TOLERANCE_S - 1} s "
                f"(inside the {MATCH_TOLERANCE_S} s matching tolerance)"
            )
        if self.chunk_calls < 1_000:
            raise ValidationError(f"chunk size {self.chunk_calls}: at least 1000")
        return self

    def _check_counts(self) -> None:
        if self.cdrs < 1:
            raise ValidationError(f"--cdrs {self.cdrs}: must be positive")
        if self.seed < 0:
            raise ValidationError(f"--seed {self.seed}: must not be negative")
        if not 0 <= self.outage_days <= MAX_OUTAGE_DAYS:
            raise ValidationError(f"--outage-days {self.outage_days}: between 0 and {MAX_OUTAGE_DAYS}")
        if self.tolerance_absolute < 0:
            raise ValidationError(f"--tolerance-absolute {self.tolerance_absolute}: must not be negative")

    def rates(self) -> dict[str, float]:
        return {
            "missing_provider": self.missing_provider,
            "missing_customer": self.missing_customer,
            "partial": self.partial,
            "mismatch": self.mismatch,
            "redial": self.redial,
            "duplicate": self.duplicate,
            "format_mix": self.format_mix,
            "rate_change": self.rate_change,
            "stale_deck": self.stale_deck,
            "offset_files": self.offset_files,
        }

    def usage_kinds(self) -> tuple[str, ...]:
        return tuple(k for k in USAGE_KINDS if k in self.services)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["period"] = str(self.period)
        data["services"] = list(self.services)
        return data
