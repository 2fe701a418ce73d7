"""RAP return batches: which call events of which TAP file the home network sent back, and why.

A RAP (Returned Account Procedure, GSMA TD.32) ReturnBatch lists returns; a severe return carries the
TAP file's sequence number, the returned CallEventDetail itself and its error codes. `read_returns`
streams a RAP file (`ber.BerReader`, each return decoded on its own) into `Returns`, keyed by the file
sequence number and the decoded call event's value, so that the reader of the TAP file can mark each
of its events that comes back (`Returns.match`). Returns other than severe ones (fatal, missing, stop)
name no single event and are counted only.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asn1tools

from o2o.tap3.ber import BerReader, Tap3FormatError
from o2o.tap3.events import text
from o2o.tap3.grammar import Grammar, GrammarError

# RAP 1.5's ReturnBatch [APPLICATION 534] and its parts.
RETURN_BATCH = 534
_CONTROL, _DETAILS, _AUDIT = 537, 536, 541


def event_key(value: Any) -> Hashable:
    """A decoded ASN.1 value (dicts, lists, tuples, bytes, numbers) as a hashable value, equal for equal
    values whatever the order of a dict's keys."""
    if isinstance(value, dict):
        return tuple(sorted((k, event_key(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(event_key(v) for v in value)
    if isinstance(value, bytearray):
        return bytes(value)
    return value  # type: ignore[no-any-return]


@dataclass(slots=True)
class Returns:
    """The severe returns of one RAP file, by TAP file sequence number and event."""

    path: Path
    sender: str = ""
    recipient: str = ""
    events: dict[tuple[str, Hashable], tuple[int, ...]] = field(default_factory=dict)
    other_returns: int = 0
    detail_count: int | None = None  # the RAP audit's ReturnDetailsCount
    matched: int = 0

    def match(self, file_sequence: str, decoded: Any) -> tuple[int, ...] | None:
        """The error codes of `decoded` (a CallEventDetail of the TAP file `file_sequence`) when it was
        returned; None when not."""
        codes = self.events.get((file_sequence, event_key(decoded)))
        if codes is not None:
            self.matched += 1
        return codes

    def sequences(self) -> set[str]:
        return {seq for seq, _ in self.events}


def read_returns(path: Path, grammar: Grammar) -> Returns:
    """The returns of the RAP file `path`."""
    try:
        return _read_returns(path, grammar)
    except RecursionError:  # BER nested thousands deep: no RAP file is
        raise Tap3FormatError(f"{path}: corrupt BER: elements nested too deeply") from None


def _read_returns(path: Path, grammar: Grammar) -> Returns:
    if not grammar.has_rap:
        raise GrammarError(f"--grammar {grammar.folder}: it has no RAP types (ReturnBatch …) to read {path}")
    if not path.is_file():
        raise Tap3FormatError(f"{path}: no such file")
    found = Returns(path)
    with path.open("rb") as fh:
        reader = BerReader(fh, str(path))
        if reader.at_eof():
            raise Tap3FormatError(f"{path}: the file is empty")
        top = reader.header()
        if top.tag[0] & 0xC0 != 0x40 or top.number != RETURN_BATCH:
            raise Tap3FormatError(f"{path}: not a RAP return batch (it starts with tag {top.tag.hex()})")
        for child in reader.children(top, "ReturnBatch"):
            if child.number == _DETAILS:
                details = reader.header()
                for _ in reader.children(details, "ReturnDetailList"):
                    _add_return(found, grammar, reader)
            elif child.number == _CONTROL:
                control = _decode(grammar, "RapBatchControlInfo", reader, path)
                found.sender = text(control.get("sender", b""))
                found.recipient = text(control.get("recipient", b""))
            elif child.number == _AUDIT:
                audit = _decode(grammar, "RapAuditControlInfo", reader, path)
                found.detail_count = audit.get("returnDetailsCount")
            else:
                reader.skip()
        if not reader.at_eof():
            raise reader.error("data after the end of the return batch")
    total = len(found.events) + found.other_returns
    if found.detail_count is not None and found.detail_count != total:
        raise Tap3FormatError(
            f"{path}: ReturnDetailsCount {found.detail_count} but the batch has {total} returns"
        )
    return found


def _decode(grammar: Grammar, type_name: str, reader: BerReader, path: Path) -> Any:
    offset = reader.offset
    try:
        return grammar.decode(type_name, reader.element())
    except asn1tools.DecodeError as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise Tap3FormatError(
            f"{path}: {type_name} at byte {offset} does not decode with the grammar in {grammar.folder}: {first}"
        ) from None


def _add_return(found: Returns, grammar: Grammar, reader: BerReader) -> None:
    name, value = _decode(grammar, "ReturnDetail", reader, found.path)
    if name != "severeReturn" or "callEventDetail" not in value:
        found.other_returns += 1
        return
    sequence = text(value.get("fileSequenceNumber", b""))
    codes = tuple(int(e["errorCode"]) for e in value.get("errorDetail", ()) if "errorCode" in e)
    found.events[(sequence, event_key(value["callEventDetail"]))] = codes
