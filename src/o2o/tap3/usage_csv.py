"""A TAP batch's call events as a usage CSV (the columns `o2o usage import` reads), streamed.

`tap_to_usage_csv` reads the batch once (`reader.TapBatch`), writes the events of one kind of usage
(voice, SMS or data) as rows, and sums the whole batch: what it holds by kind, the charge and tax in
the batch's currency, the events a RAP file returned, and the audit control totals' mismatches. A row is
`record_id` (the file's sequence number and the event's position, `31707:3`), `a_number` the chargeable
subscriber (IMSI, else MSISDN), `b_number` the other party (called number of an MOC, calling number of an
MTC), `start_time` in UTC, `duration_s`, `volume` (bytes both ways for data, 1 per SMS) and `route` (the
event's kind and service code).
"""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from o2o.tap3.events import EventKind, TapEvent, UsageKind, text
from o2o.tap3.grammar import Grammar
from o2o.tap3.rap import Returns
from o2o.tap3.reader import TapBatch

CSV_COLUMNS = ("record_id", "a_number", "b_number", "start_time", "duration_s", "volume", "route")
_SHORT = {EventKind.MOC: "MOC", EventKind.MTC: "MTC", EventKind.GPRS: "GPRS", EventKind.SUPPL: "SS"}


@dataclass(slots=True)
class TapSummary:
    """What a TAP batch held and what was taken from it."""

    path: Path
    kind: str
    sender: str = ""
    recipient: str = ""
    file_sequence: str = ""
    currency: str = ""
    decimal_places: int = 0
    local_currency: str | None = None
    exchange_rates: dict[int, Decimal] = field(default_factory=dict)
    events: int = 0
    by_usage: dict[str, int] = field(default_factory=dict)
    rows: int = 0  # events written as usage rows
    returned: int = 0  # events a RAP file returned (not written)
    charge: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    rows_charge: Decimal = Decimal(0)  # of the events written as usage rows
    rows_tax: Decimal = Decimal(0)
    audit_mismatches: list[str] = field(default_factory=list)
    # What the declaration's stored records sum to per currency (`o2o.lake.usage_amounts`), once imported.
    declared: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "sender": self.sender,
            "recipient": self.recipient,
            "file_sequence": self.file_sequence,
            "currency": self.currency,
            "decimal_places": self.decimal_places,
            "local_currency": self.local_currency,
            "exchange_rates": {str(k): str(v) for k, v in self.exchange_rates.items()},
            "events": self.events,
            "by_usage": dict(self.by_usage),
            "rows": self.rows,
            "returned": self.returned,
            "charge": str(self.charge),
            "tax": str(self.tax),
            "rows_charge": str(self.rows_charge),
            "rows_tax": str(self.rows_tax),
            "audit_mismatches": list(self.audit_mismatches),
            "declared": list(self.declared),
        }


def start_text(event: TapEvent) -> str:
    """The event's start as ISO-8601 UTC; when it could not be worked out, the local time as written and
    why, which the import then rejects with that text."""
    if event.start_epoch is not None:
        return datetime.fromtimestamp(event.start_epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if event.local_time is None:
        return ""
    return f"{event.local_time} ({'; '.join(event.problems) or 'no UTC offset'})"


def usage_row(event: TapEvent, file_sequence: str) -> tuple[str, ...]:
    volume = event.volume
    return (
        f"{file_sequence}:{event.index}",
        event.subscriber or "",
        event.other_number or "",
        start_text(event),
        "" if event.duration_s is None else str(event.duration_s),
        "" if volume is None else str(volume),
        f"{_SHORT.get(event.kind, 'other')} {event.service_code or ''}".strip(),
    )


def read_events(
    path: Path, grammar: Grammar, returns: Returns | None, summary: TapSummary
) -> Iterator[TapEvent]:
    """The batch's events, `summary` filled as they pass (its header once the first is read, its totals at
    the end)."""
    batch = TapBatch(path, grammar, returns)
    by_usage = summary.by_usage
    charge = tax = 0
    for event in batch.events():
        if summary.events == 0:
            _header(summary, batch)
        summary.events += 1
        by_usage[event.usage.value] = by_usage.get(event.usage.value, 0) + 1
        charge += event.charge_units
        tax += event.tax_units
        if event.returned:
            summary.returned += 1
        yield event
    _header(summary, batch)
    if batch.context is not None:
        summary.charge, summary.tax = batch.context.amount(charge), batch.context.amount(tax)
    summary.audit_mismatches = batch.audit_mismatches()


def _header(summary: TapSummary, batch: TapBatch) -> None:
    summary.kind = str(batch.kind)
    note = batch.notification
    if note is not None:  # a notification: a batch without events, its header only
        summary.sender, summary.recipient = text(note.get("sender", b"")), text(note.get("recipient", b""))
        summary.file_sequence = text(note.get("fileSequenceNumber", b""))
    ctx = batch.context
    if ctx is None:
        return
    summary.sender, summary.recipient, summary.file_sequence = ctx.sender, ctx.recipient, ctx.file_sequence
    summary.currency, summary.decimal_places = ctx.tap_currency, ctx.decimal_places
    summary.local_currency, summary.exchange_rates = ctx.local_currency, dict(ctx.exchange_rates)


# The amounts of each usage row (`tap_to_usage_csv(amounts=…)`), exact text: charge and tax with the batch's
# decimal places, in its currency; the exchange rate of the event's exchange rate code (empty: none).
AMOUNT_CSV_COLUMNS = ("record_id", "charge", "tax", "exchange_rate")


def tap_to_usage_csv(
    path: Path,
    grammar: Grammar,
    usage: UsageKind,
    out: Path,
    returns: Returns | None = None,
    amounts: Path | None = None,
) -> TapSummary:
    """Write the batch's events of kind `usage` (not returned) to the CSV `out`, and, with `amounts`, each
    row's charge, tax and exchange rate to that CSV (`AMOUNT_CSV_COLUMNS`, by record id); the batch's
    summary."""
    summary = TapSummary(path, kind="")
    charge = tax = 0
    with contextlib.ExitStack() as files:
        writer = csv.writer(files.enter_context(out.open("w", newline="", encoding="utf-8")))
        writer.writerow(CSV_COLUMNS)
        money = None
        if amounts is not None:
            money = csv.writer(files.enter_context(amounts.open("w", newline="", encoding="utf-8")))
            money.writerow(AMOUNT_CSV_COLUMNS)
        for event in read_events(path, grammar, returns, summary):
            if event.usage is usage and not event.returned:
                row = usage_row(event, summary.file_sequence)
                writer.writerow(row)
                summary.rows += 1
                charge += event.charge_units
                tax += event.tax_units
                if money is not None:
                    money.writerow((row[0], *_amount_texts(event, summary)))
    summary.rows_charge = Decimal(charge).scaleb(-summary.decimal_places)
    summary.rows_tax = Decimal(tax).scaleb(-summary.decimal_places)
    return summary


def _amount_texts(event: TapEvent, summary: TapSummary) -> tuple[str, str, str]:
    """The event's charge and tax (exact, with the batch's decimal places) and its exchange rate as text."""
    places = summary.decimal_places
    code = event.exchange_rate_code
    rate = summary.exchange_rates.get(code) if code is not None else None
    return (
        f"{Decimal(event.charge_units).scaleb(-places):f}",
        f"{Decimal(event.tax_units).scaleb(-places):f}",
        "" if rate is None else f"{rate:f}",
    )


def rate_places(rates: dict[int, Decimal]) -> int:
    """The most decimal places of the batch's exchange rates (what holds every one of them exactly)."""
    exponents = (r.as_tuple().exponent for r in rates.values())
    return max((-e for e in exponents if isinstance(e, int) and e < 0), default=0)


EVENT_COLUMNS = (
    "record_id", "event", "usage", "imsi", "msisdn", "other_number", "service_code", "local_time",
    "utc_offset", "start_time", "duration_s", "volume_in", "volume_out", "charge", "tax", "currency",
    "exchange_rate", "local_currency", "returned", "error_codes", "problems",
)  # fmt: skip


def tap_events_csv(path: Path, grammar: Grammar, out: Path, returns: Returns | None = None) -> TapSummary:
    """Every call event of the batch as one row of `EVENT_COLUMNS` (charge and tax exact, in the batch's
    currency; the exchange rate of the event's exchange rate code); the batch's summary."""
    summary = TapSummary(path, kind="")
    batch_rates: dict[int, Decimal] = {}
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(EVENT_COLUMNS)
        for event in read_events(path, grammar, returns, summary):
            batch_rates = summary.exchange_rates
            places = Decimal(1).scaleb(-summary.decimal_places)
            rate = batch_rates.get(event.exchange_rate_code) if event.exchange_rate_code is not None else None
            writer.writerow(
                (
                    f"{summary.file_sequence}:{event.index}", event.kind.value, event.usage.value,
                    event.imsi or "", event.msisdn or "", event.other_number or "", event.service_code or "",
                    event.local_time or "", event.utc_offset or "",
                    start_text(event) if event.start_epoch is not None else "",
                    _blank(event.duration_s), _blank(event.volume_in), _blank(event.volume_out),
                    f"{Decimal(event.charge_units).scaleb(-summary.decimal_places).quantize(places):f}",
                    f"{Decimal(event.tax_units).scaleb(-summary.decimal_places).quantize(places):f}",
                    summary.currency, "" if rate is None else f"{rate:f}", summary.local_currency or "",
                    "true" if event.returned else "false", " ".join(map(str, event.error_codes)),
                    "; ".join(event.problems),
                )
            )  # fmt: skip
    return summary


def _blank(value: int | None) -> str:
    return "" if value is None else str(value)
