"""Settlement periods: calendar months `YYYY-MM`, with their bounds in a time zone; and the calendar
dates a user types (`--as-of`, `--date`).

Text that is not a period or a date is refused here, naming it, so that a filter never silently matches
nothing (`2026-13` is not a month) and no command fails with a parser's traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from o2o.domain.errors import ValidationError

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_day(text: str, field: str) -> date:
    """A calendar date written `YYYY-MM-DD`, or a clear error naming `field` and the text."""
    # The pattern first: `date.fromisoformat` also reads `20260131` and `2026-W05-6`, which nobody means.
    if _DAY.match(text.strip()):
        try:
            return date.fromisoformat(text.strip())
        except ValueError:
            pass
    raise ValidationError(f"{field} {text!r} is not a date YYYY-MM-DD")


def zone(name: str) -> ZoneInfo:
    """An IANA time zone, or a clear error."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"unknown time zone {name!r}") from None


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A calendar month."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Period:
        m = _PERIOD.match(text.strip())
        if not m:
            raise ValidationError(f"period {text!r} is not YYYY-MM")
        return cls(int(m.group(1)), int(m.group(2)))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def next(self) -> Period:
        return Period(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def days(self) -> int:
        return (self.next.first_day - self.first_day).days

    def day_list(self) -> list[date]:
        return [self.first_day + timedelta(days=i) for i in range(self.days)]

    def bounds_utc(self, tz: str = "UTC") -> tuple[datetime, datetime]:
        """[start, end) of the month in time zone `tz`, as aware UTC datetimes."""
        z = zone(tz)
        start = datetime.combine(self.first_day, datetime.min.time(), z).astimezone(UTC)
        end = datetime.combine(self.next.first_day, datetime.min.time(), z).astimezone(UTC)
        return start, end

    def bounds_epoch(self, tz: str = "UTC") -> tuple[int, int]:
        start, end = self.bounds_utc(tz)
        return int(start.timestamp()), int(end.timestamp())
