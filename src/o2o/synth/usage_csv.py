"""Usage CSV files as a declarer writes them: its number habits, its clock's zone, streamed in chunks.

Header `record_id,service,a_number,b_number,start_time,duration_s,volume,route`. Invariants: every
written number normalises back to its E.164 digits under the declarer's numbering plan
(`o2o.domain.numbers.normalise_number`): `+CC…`, the declarer's international prefix + `CC…`, or, for
numbers of the declarer's own country code only (and only when it has a trunk prefix), trunk prefix +
national number; separators are spaces or dashes. Times are whole seconds, ISO-8601 with `Z` or a
fixed `+HH:MM` offset. Voice rows leave `volume` empty; SMS rows have duration 0 and volume 1.
Strings are built with Arrow compute kernels and written by Arrow's CSV writer, chunk by chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from types import TracebackType

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from o2o.synth.countries import Country
from o2o.synth.side_records import SideRecords

HEADER = "record_id,service,a_number,b_number,start_time,duration_s,volume,route\n"
PLUS, INTL, NATIONAL = range(3)
SEPARATORS = ("", " ", "-")
_SCHEMA = pa.schema(
    [
        ("record_id", pa.int64()),
        ("service", pa.string()),
        ("a_number", pa.string()),
        ("b_number", pa.string()),
        ("start_time", pa.string()),
        ("duration_s", pa.int64()),
        ("volume", pa.int64()),
        ("route", pa.string()),
    ]
)


@dataclass(frozen=True, slots=True)
class NumberHabit:
    """How one declarer writes the numbers of one country: a usual form, and others at `mix`."""

    leads: tuple[str, str, str]  # "+CC", intl prefix + CC, trunk prefix ("" when not allowed)
    usual: int
    mix: float

    @classmethod
    def of(cls, declarer: Country, number: Country, mix: float, rng: np.random.Generator) -> NumberHabit:
        cc = number.country_code
        national_ok = declarer.country_code == cc and declarer.trunk_prefix != ""
        leads = ("+" + cc, declarer.international_prefix + cc, declarer.trunk_prefix if national_ok else "")
        usual = (NATIONAL if national_ok else INTL) if rng.random() < 0.5 else PLUS
        return cls(leads, usual, mix)

    def codes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Per number: lead * 3 + separator; the usual form has no separator."""
        allowed = [lead for lead in range(3) if self.leads[lead] or lead != NATIONAL]
        others = np.array(
            [lead * 3 + sep for lead in allowed for sep in range(3) if (lead, sep) != (self.usual, 0)]
        )
        codes = np.full(n, self.usual * 3, dtype=np.int64)
        mixed = np.flatnonzero(rng.random(n) < self.mix)
        codes[mixed] = others[rng.integers(0, len(others), len(mixed))]
        return codes

    def write(self, nsn: np.ndarray, codes: np.ndarray) -> pa.Array:
        text = pc.cast(pa.array(nsn), pa.string())
        plain = pc.binary_join_element_wise(
            pc.take(pa.array(list(self.leads)), pa.array(codes // 3)), text, ""
        )
        spaced = codes % 3 != 0
        rows = np.flatnonzero(spaced)
        if not len(rows):
            return plain
        # Only the few numbers written with separators take the slower slicing path.
        sub, idx = pc.take(text, pa.array(rows)), pa.array(codes[rows])
        lead = pc.take(pa.array([self.leads[c // 3] for c in range(9)]), idx)
        # Nationally written numbers keep the trunk prefix next to the number ("07712 345678").
        first = pc.take(pa.array(["" if c // 3 == NATIONAL else SEPARATORS[c % 3] for c in range(9)]), idx)
        second = pc.take(pa.array([SEPARATORS[c % 3] for c in range(9)]), idx)
        head, tail = pc.utf8_slice_codeunits(sub, 0, 4), pc.utf8_slice_codeunits(sub, 4)
        joined = pc.binary_join_element_wise(lead, first, head, second, tail, "")
        return pc.replace_with_mask(plain, pa.array(spaced), joined)


@lru_cache(maxsize=16)
def _clock_table(suffix: str) -> pa.Array:
    two = [f"{i:02d}" for i in range(60)]
    return pa.array([f"{h}:{m}:{sec}{suffix}" for h in two[:24] for m in two for sec in two], pa.string())


@dataclass(frozen=True, slots=True)
class FileStyle:
    """One declaration file's habits."""

    service: str
    record_base: int  # record ids are this plus the record's number in the file
    routes: tuple[str, ...]
    a_habit: NumberHabit
    b_habit: NumberHabit
    utc_offset: str | None  # None: times in UTC with "Z"
    utc_offset_s: int


class UsageCsvWriter:
    """Streams one declaration file; `write` one chunk of a side at a time, in order."""

    def __init__(self, path: Path, style: FileStyle, first_day: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.style = style
        self._first_day = first_day - 2
        self._days = pa.array(
            [
                (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=self._first_day + i)).strftime("%Y-%m-%dT")
                for i in range(40)
            ]
        )
        self._clock = _clock_table(style.utc_offset or "Z")
        self._sink = pa.OSFile(str(path), "wb")
        self._sink.write(HEADER.encode())
        options = pa_csv.WriteOptions(include_header=False, quoting_style="none")
        self._writer = pa_csv.CSVWriter(self._sink, _SCHEMA, write_options=options)
        self.rows = 0
        self.duplicates = 0
        self.reformatted = 0
        self.duration_total = 0
        self.volume_total = 0

    def write(self, side: SideRecords, rng: np.random.Generator) -> None:
        n = len(side)
        if n == 0:
            return
        s = self.style
        a_codes, b_codes = s.a_habit.codes(n, rng), s.b_habit.codes(n, rng)
        local = side.start + (s.utc_offset_s if s.utc_offset else 0)
        day, second = np.divmod(local, 86_400)
        start = pc.binary_join_element_wise(
            pc.take(self._days, pa.array(day - self._first_day)), pc.take(self._clock, pa.array(second)), ""
        )
        volume = pa.nulls(n, pa.int64()) if side.volume is None else pa.array(side.volume)
        route = pc.take(pa.array(s.routes), pa.array(rng.integers(0, len(s.routes), n)))
        table = pa.Table.from_arrays(
            [
                pa.array(side.record_no + s.record_base + 1),
                pa.repeat(pa.scalar(s.service), n),
                s.a_habit.write(side.a_nsn, a_codes),
                s.b_habit.write(side.b_nsn, b_codes),
                start,
                pa.array(side.duration),
                volume,
                route,
            ],
            schema=_SCHEMA,
        )
        self._writer.write_table(table)
        self.rows += n
        self.duplicates += int(side.dup.sum())
        self.reformatted += int(
            (a_codes != s.a_habit.usual * 3).sum() + (b_codes != s.b_habit.usual * 3).sum()
        )
        self.duration_total += int(side.duration.sum())
        self.volume_total += 0 if side.volume is None else int(side.volume.sum())

    def close(self) -> None:
        self._writer.close()
        self._sink.close()

    def __enter__(self) -> UsageCsvWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
