"""Reconciling roaming usage: the home operator's own records of its roamers against the visited
operator's TAP file (`o2o recon roaming HOME.csv VISITED.tap --grammar DIR --out DIR`).

Both sides are split by service (MOC, MTC, SMS MO, SMS MT, GPRS) and each service is matched record by
record by the reconciliation engine (`o2o.reconcile.match_files`), keyed by the IMSI: the engine pairs
records whose two numbers agree, so both numbers of a record are its IMSI; then start time within the
tolerance, preferring pairs that agree on duration. The detail files of each service go to
`OUT/<service>/`. Beside it, the aggregate comparison per TADIG pair, month and service is the BWRP
discrepancy service's (`o2o.roaming.discrepancy.compare_usage`): the home operator's outbound usage (own)
against the visited operator's inbound usage from the TAP file (partner), in minutes, SMS and MB.

The home file is a CSV with `imsi`, `start_time` (ISO-8601 with a UTC offset) and `service`, and
optionally `duration_s`, `volume` (bytes), `record_id`, `home` and `visited` (TADIG codes: rows of other
networks than the TAP file's are left out and counted). Units: minutes are seconds / 60 rounded half-even
to 6 places per TADIG pair, month and service; a MB is 1,048,576 bytes (exact).
"""

from __future__ import annotations

import csv
import decimal
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from o2o.domain.errors import ImportRefusedError, ValidationError

SERVICES = ("MOC", "MTC", "SMS MO", "SMS MT", "GPRS")
UNITS = {"MOC": "min", "MTC": "min", "SMS MO": "SMS", "SMS MT": "SMS", "GPRS": "MB"}
_SERVICE_NAMES = {
    "moc": "MOC",
    "mtc": "MTC",
    "sms mo": "SMS MO",
    "sms mt": "SMS MT",
    "gprs": "GPRS",
    "data": "GPRS",
}
_MATCH_COLUMNS = ("record_id", "a_number", "b_number", "start_time", "duration_s")
_MINUTE_PLACES = Decimal("0.000001")
_MB = 1 << 20


@dataclass(frozen=True, slots=True)
class RoamingMatchOptions:
    grammar: Path
    rap: Path | None = None
    accept_audit_mismatch: bool = False
    time_tolerance_s: int = 5
    duration_tolerance_s: int = 1
    memory_limit: str = "1500MB"


@dataclass(slots=True)
class _Totals:
    """Usage of one (home TADIG, visited TADIG, month, service): records, seconds, bytes."""

    records: int = 0
    seconds: int = 0
    volume: int = 0

    def usage(self, service: str) -> Decimal:
        unit = UNITS[service]
        if unit == "min":
            return (Decimal(self.seconds) / 60).quantize(_MINUTE_PLACES, rounding=decimal.ROUND_HALF_EVEN)
        if unit == "MB":
            return Decimal(self.volume) / _MB  # a power of two: exact
        return Decimal(self.records)


@dataclass(slots=True)
class _Side:
    """One side's records split by service into the engine's input files, and its totals."""

    folder: Path
    name: str
    files: dict[str, IO[str]] = field(default_factory=dict)
    writers: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    totals: dict[tuple[str, str, str, str], _Totals] = field(default_factory=dict)

    def add(self, service: str, home: str, visited: str, row: tuple[str, str, int, int | None, int]) -> None:
        """A record: (record id, IMSI, start epoch, duration, volume)."""
        record_id, imsi, start, duration, volume = row
        if UNITS[service] == "SMS":
            duration = 0  # a short message has no duration to agree on (either side may leave it out)
        writer = self.writers.get(service)
        if writer is None:
            fh = (self.folder / f"{self.name}-{_slug(service)}.csv").open("w", newline="", encoding="utf-8")
            self.files[service] = fh
            writer = self.writers[service] = csv.writer(fh)
            writer.writerow(_MATCH_COLUMNS)
        when = datetime.fromtimestamp(start, UTC)
        writer.writerow(
            (record_id, imsi, imsi, when.strftime("%Y-%m-%dT%H:%M:%SZ"), "" if duration is None else duration)
        )
        self.counts[service] = self.counts.get(service, 0) + 1
        key = (home, visited, when.strftime("%Y%m"), service)
        totals = self.totals.get(key)
        if totals is None:
            totals = self.totals[key] = _Totals()
        totals.records += 1
        totals.seconds += duration or 0
        totals.volume += volume

    def path(self, service: str) -> Path:
        return self.folder / f"{self.name}-{_slug(service)}.csv"

    def close(self) -> None:
        for fh in self.files.values():
            fh.close()


def _slug(service: str) -> str:
    return service.lower().replace(" ", "-")


def _tap_service(event: Any) -> str | None:
    """The roaming service of a TAP event (None for an event that is no usage)."""
    from o2o.tap3.events import EventKind, UsageKind

    if event.usage is UsageKind.DATA:
        return "GPRS"
    if event.kind is EventKind.MOC:
        return "SMS MO" if event.usage is UsageKind.SMS else "MOC"
    if event.kind is EventKind.MTC:
        return "SMS MT" if event.usage is UsageKind.SMS else "MTC"
    return None


def _integer(text: str, path: Path, line: int, column: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValidationError(f"{path}: line {line}: {column}: not a whole number ≥ 0: {text!r}")
    return int(text)


def _home_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    if not path.is_file():
        raise ImportRefusedError(f"{path}: no such file")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        columns = {c.strip().lower() for c in reader.fieldnames or ()}
        missing = [c for c in ("imsi", "start_time", "service") if c not in columns]
        if missing:
            raise ImportRefusedError(
                f"{path}: missing column(s) {', '.join(missing)} (imsi, start_time, service)"
            )
        for number, row in enumerate(reader, start=2):
            yield number, {k.strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}


def _read_home(path: Path, side: _Side, home_tadig: str, visited_tadig: str) -> int:
    """Add the home file's rows of the TAP file's networks to `side`; the count of other networks' rows."""
    others = 0
    for line, row in _home_rows(path):
        if row.get("visited", visited_tadig) != visited_tadig or row.get("home", home_tadig) != home_tadig:
            others += 1
            continue
        service = _SERVICE_NAMES.get(row["service"].lower().replace("-", " ").replace("_", " "))
        if service is None:
            raise ValidationError(
                f"{path}: line {line}: service: {row['service']!r} is not one of {', '.join(SERVICES)}"
            )
        imsi = row["imsi"]
        if not (6 <= len(imsi) <= 15 and imsi.isdigit()):
            raise ValidationError(f"{path}: line {line}: imsi: not an IMSI (6 to 15 digits): {imsi!r}")
        try:
            start = datetime.fromisoformat(row["start_time"])
        except ValueError:
            start = None
        if start is None or start.tzinfo is None:
            raise ValidationError(
                f"{path}: line {line}: start_time: not an ISO-8601 time with a UTC offset: {row['start_time']!r}"
            )
        duration = _integer(row.get("duration_s", ""), path, line, "duration_s")
        volume = _integer(row.get("volume", ""), path, line, "volume") or 0
        record_id = row.get("record_id") or str(line)
        side.add(
            service, home_tadig, visited_tadig, (record_id, imsi, int(start.timestamp()), duration, volume)
        )
    return others


def reconcile_roaming(home: Path, tap: Path, out: Path, options: RoamingMatchOptions) -> dict[str, Any]:
    """Match the home operator's records against the visited operator's TAP file, per service, and compare
    their usage per TADIG pair, month and service; the detail files go to `out`."""
    from o2o.reconcile import MatchOptions, match_files
    from o2o.roaming.discrepancy import UsageLine, UsageReport, compare_usage
    from o2o.tap3.grammar import load_grammar
    from o2o.tap3.rap import read_returns
    from o2o.tap3.usage_csv import TapSummary, read_events

    grammar = load_grammar(options.grammar)
    returns = read_returns(options.rap, grammar) if options.rap else None
    out.mkdir(parents=True, exist_ok=True)
    summary = TapSummary(tap, kind="")
    with tempfile.TemporaryDirectory(dir=out, prefix=".inputs-") as folder:
        theirs, ours = _Side(Path(folder), "tap"), _Side(Path(folder), "home")
        try:
            for event in read_events(tap, grammar, returns, summary):
                service = _tap_service(event)
                if service is None or event.returned or event.imsi is None or event.start_epoch is None:
                    continue
                row = (f"{summary.file_sequence}:{event.index}", event.imsi, event.start_epoch, event.duration_s,
                       (event.volume_in or 0) + (event.volume_out or 0))  # fmt: skip
                theirs.add(service, summary.recipient, summary.sender, row)
        finally:
            theirs.close()
        if summary.audit_mismatches and not options.accept_audit_mismatch:
            raise ImportRefusedError(
                f"{tap}: the audit control totals do not match the call events: "
                f"{'; '.join(summary.audit_mismatches)}; pass --accept-audit-mismatch to compare it anyway"
            )
        try:
            other_networks = _read_home(home, ours, summary.recipient, summary.sender)
        finally:
            ours.close()
        match_options = MatchOptions(
            time_tolerance_s=options.time_tolerance_s,
            duration_tolerance_s=options.duration_tolerance_s,
            memory_limit=options.memory_limit,
        )
        matching: dict[str, Any] = {}
        for service in SERVICES:
            if service not in ours.counts and service not in theirs.counts:
                continue
            for side in (ours, theirs):
                if service not in side.counts:
                    side.path(service).write_text(",".join(_MATCH_COLUMNS) + "\n", encoding="utf-8")
            target = out / _slug(service)
            target.mkdir(exist_ok=True)
            matching[service] = match_files(
                ours.path(service), theirs.path(service), match_options, target
            ).as_report()

    def lines(side: _Side) -> tuple[UsageLine, ...]:
        return tuple(
            UsageLine(month, home_tadig, visited, service, totals.usage(service), UNITS[service])
            for (home_tadig, visited, month, service), totals in sorted(side.totals.items())
        )

    report = compare_usage(UsageReport((), lines(ours)), UsageReport(lines(theirs), ()))
    return {
        "tap": summary.as_dict(),
        "home": {"rows": sum(ours.counts.values()), "other_networks": other_networks},
        "matching": matching,
        "discrepancy": [
            {
                "home": d.home,
                "visited": d.visitor,
                "year_month": d.year_month,
                "service": d.service,
                "unit": UNITS[d.service],
                "own": f"{d.own:f}",
                "partner": f"{d.partner:f}",
                "delta": f"{d.delta:f}",
                "delta_percent": f"{d.delta_percent:f}",
            }
            for d in report.outbound
        ],
        "only_home": _unpaired(ours, theirs),
        "only_tap": _unpaired(theirs, ours),
    }


def _unpaired(side: _Side, other: _Side) -> list[dict[str, str]]:
    """The (TADIG pair, month, service) keys only `side` has usage for (BWRP leaves them out of its
    details; they are listed here so that nothing goes unseen)."""
    return [
        {"home": h, "visited": v, "year_month": m, "service": s, "usage": f"{t.usage(s):f}", "unit": UNITS[s]}
        for (h, v, m, s), t in sorted(side.totals.items())
        if (h, v, m, s) not in other.totals
    ]
