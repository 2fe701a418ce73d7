"""Reading a TAP file: its header, its call events one at a time, its audit control totals.

`TapBatch(path, grammar).events()` walks the file with `ber.BerReader`: the batch's header parts are
decoded whole (they are small), the CallEventDetailList is never decoded at once: each call event's
bytes go to asn1tools on their own, so a file of any size runs in the memory of one event. The audit
control information comes last in the file; once `events()` is exhausted, `audit` holds it and
`found` the totals of the events read, and `audit_mismatches()` compares them (event count, TotalCharge
against the events' type-00 charges, TotalTaxValue against their taxes).

The outer tags are TAP 3's own (DataInterChange: TransferBatch [APPLICATION 1], Notification
[APPLICATION 2]; RAP's ReturnBatch [APPLICATION 534]); what lies inside is the grammar's to decode.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import asn1tools

from o2o.tap3.ber import BerReader, Header, Tap3FormatError
from o2o.tap3.events import BatchContext, BatchHeaderError, TapEvent, batch_context, call_event
from o2o.tap3.grammar import Grammar
from o2o.tap3.rap import RETURN_BATCH, Returns

_APPLICATION = 0x40
TRANSFER_BATCH, NOTIFICATION = 1, 2
_CONTROL, _ACCOUNTING, _NETWORK, _EVENTS, _AUDIT = 4, 5, 6, 3, 15


class BatchKind(StrEnum):
    TRANSFER = "transfer batch"
    NOTIFICATION = "notification"
    RETURN = "RAP return batch"


@dataclass(frozen=True, slots=True)
class AuditTotals:
    """A batch's AuditControlInfo totals (amounts in the batch's implied decimal units)."""

    total_charge: int | None
    total_tax: int | None
    total_discount: int | None
    event_count: int | None


@dataclass(slots=True)
class EventTotals:
    """What the events read add up to."""

    count: int = 0
    charge_units: int = 0
    tax_units: int = 0


def _is_application(header: Header, number: int) -> bool:
    return header.tag[0] & 0xC0 == _APPLICATION and header.number == number


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


class TapBatch:
    """One TAP file read through `grammar`; `kind` and `context` are known once `events()` has started."""

    def __init__(self, path: Path, grammar: Grammar, returns: Returns | None = None) -> None:
        self.path, self.grammar = path, grammar
        self.returns = returns  # a RAP file's returns: the events it names are marked returned
        self.kind: BatchKind | None = None
        self.context: BatchContext | None = None
        self.notification: Mapping[str, Any] | None = None
        self.audit: AuditTotals | None = None
        self.found = EventTotals()
        self._parts: dict[int, Any] = {}

    def _decode(self, type_name: str, data: bytes, what: str, offset: int) -> Any:
        try:
            return self.grammar.decode(type_name, data)
        except asn1tools.DecodeError as exc:
            raise Tap3FormatError(
                f"{self.path}: {what} at byte {offset} does not decode as {type_name} with the grammar in "
                f"{self.grammar.folder}: {_first_line(exc)}"
            ) from None

    def events(self) -> Iterator[TapEvent]:
        """The batch's call events in file order (none for a notification)."""
        try:
            yield from self._walk()
        except RecursionError:  # BER nested thousands deep: no TAP file is
            raise Tap3FormatError(f"{self.path}: corrupt BER: elements nested too deeply") from None

    def _walk(self) -> Iterator[TapEvent]:
        if not self.path.is_file():
            raise Tap3FormatError(f"{self.path}: no such file")
        with self.path.open("rb") as fh:
            reader = BerReader(fh, str(self.path))
            if reader.at_eof():
                raise Tap3FormatError(f"{self.path}: the file is empty")
            top = reader.peek_header()
            if _is_application(top, NOTIFICATION):
                self.kind = BatchKind.NOTIFICATION
                self.notification = self._decode("Notification", reader.element(), "the notification", 0)
            elif _is_application(top, TRANSFER_BATCH):
                self.kind = BatchKind.TRANSFER
                yield from self._transfer(reader)
            elif _is_application(top, RETURN_BATCH):
                self.kind = BatchKind.RETURN
                raise Tap3FormatError(
                    f"{self.path}: a RAP return batch, not a TAP transfer batch: give it with --rap beside "
                    "the TAP file whose events it returns"
                )
            else:
                raise Tap3FormatError(
                    f"{self.path}: not a TAP file: it starts with tag {top.tag.hex()}, not a TransferBatch "
                    "or Notification"
                )
            if not reader.at_eof():
                raise reader.error("data after the end of the batch")

    def _transfer(self, reader: BerReader) -> Iterator[TapEvent]:
        types = {_CONTROL: "BatchControlInfo", _ACCOUNTING: "AccountingInfo", _NETWORK: "NetworkInfo"}
        batch = reader.header()
        for child in reader.children(batch, "TransferBatch"):
            if child.tag[0] & 0xC0 != _APPLICATION:
                reader.skip()
            elif child.number in types:
                offset = reader.offset
                self._parts[child.number] = self._decode(
                    types[child.number], reader.element(), types[child.number], offset
                )
            elif child.number == _EVENTS:
                self.context = self._context()
                yield from self._call_events(reader, self.context)
            elif child.number == _AUDIT:
                offset = reader.offset
                self.audit = _audit(
                    self._decode("AuditControlInfo", reader.element(), "AuditControlInfo", offset)
                )
            else:
                reader.skip()  # parts the reader has no use for (MessageDescriptionInfo …)
        if self.context is None:
            self.context = self._context()

    def _context(self) -> BatchContext:
        try:
            return batch_context(
                self._parts.get(_CONTROL, {}), self._parts.get(_ACCOUNTING), self._parts.get(_NETWORK)
            )
        except BatchHeaderError as exc:
            raise Tap3FormatError(f"{self.path}: {exc}") from None

    def _call_events(self, reader: BerReader, ctx: BatchContext) -> Iterator[TapEvent]:
        header = reader.header()
        found, decode, returns = self.found, self.grammar.spec.decode, self.returns
        for _ in reader.children(header, "CallEventDetailList"):
            offset = reader.offset
            data = reader.element()
            try:
                decoded = decode("CallEventDetail", data)
            except asn1tools.DecodeError as exc:
                raise Tap3FormatError(
                    f"{self.path}: call event {found.count + 1} at byte {offset} does not decode with the "
                    f"grammar in {self.grammar.folder}: {_first_line(exc)}"
                ) from None
            found.count += 1
            event = call_event(ctx, found.count, decoded)
            if returns is not None and (codes := returns.match(ctx.file_sequence, decoded)) is not None:
                event = replace(event, returned=True, error_codes=codes)
            found.charge_units += event.charge_units
            found.tax_units += event.tax_units
            yield event

    def audit_mismatches(self) -> list[str]:
        """How the audit control totals differ from the events read (empty when they agree); the whole
        batch must have been read."""
        ctx, audit, found = self.context, self.audit, self.found
        if self.kind is not BatchKind.TRANSFER or ctx is None:
            return []
        if audit is None:
            return ["the batch has no AuditControlInfo"]
        out = []
        if audit.event_count is not None and audit.event_count != found.count:
            out.append(
                f"CallEventDetailsCount {audit.event_count} but the batch has {found.count} call events"
            )
        for label, total, units in (
            ("TotalCharge", audit.total_charge, found.charge_units),
            ("TotalTaxValue", audit.total_tax, found.tax_units),
        ):
            if total is not None and total != units:
                out.append(
                    f"{label} {ctx.amount(total)} {ctx.tap_currency} but the call events sum to "
                    f"{ctx.amount(units)} {ctx.tap_currency}"
                )
        return out


def _audit(decoded: Mapping[str, Any]) -> AuditTotals:
    return AuditTotals(
        total_charge=decoded.get("totalCharge"),
        total_tax=decoded.get("totalTaxValue"),
        total_discount=decoded.get("totalDiscountValue"),
        event_count=decoded.get("callEventDetailsCount"),
    )
