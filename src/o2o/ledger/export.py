"""The JSONL export of a ledger and its verification from the file alone (plus trusted public keys).

Format `o2o-ledger-export/1`, one JSON object per line:
- line 1 `{"header": {"format", "exported_at", "entries"}}`;
- then `{"entry": {...}}` for each entry in seq order (see `LedgerEntry.to_dict`);
- then `{"tree_head": {...}}` for each signed tree head, oldest first, the last one covering the whole export.
Invariants: writing streams (memory does not grow with the ledger); reading streams the entries into the
verifier and names a line it cannot read instead of stopping; nothing in the file is trusted but what the
keys verify.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from o2o.domain.errors import NotFoundError, ValidationError
from o2o.ledger.entries import LedgerEntry
from o2o.ledger.keys import PublicKeyRing
from o2o.ledger.tree_heads import SignedTreeHead
from o2o.ledger.verification import VerificationReport, verify_ledger

EXPORT_FORMAT = "o2o-ledger-export/1"


def _line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


def write_export(
    path: Path,
    entries: Iterable[LedgerEntry],
    heads: Iterable[SignedTreeHead],
    entry_count: int,
    exported_at: str,
) -> int:
    """Write the export; returns the number of entries written."""
    written = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        header = {"format": EXPORT_FORMAT, "exported_at": exported_at, "entries": entry_count}
        fh.write(_line({"header": header}))
        for entry in entries:
            fh.write(_line({"entry": entry.to_dict()}))
            written += 1
        for head in heads:
            fh.write(_line({"tree_head": head.to_dict()}))
    if written != entry_count:
        raise ValidationError(f"export wrote {written} entries, expected {entry_count}")
    return written


class ExportReader:
    """Streams entries out of an export; collects its header, tree heads and unreadable lines on the way."""

    def __init__(self, path: Path, report: VerificationReport) -> None:
        self.path = path
        self.report = report
        self.header: dict[str, Any] | None = None
        self.heads: list[SignedTreeHead] = []

    def entries(self) -> Iterator[LedgerEntry]:
        try:
            fh = self.path.open(encoding="utf-8")
        except FileNotFoundError as exc:
            raise NotFoundError(f"no export at {self.path}") from exc
        with fh:
            for number, text in enumerate(fh, start=1):
                if not text.strip():
                    continue
                entry = self._read_line(number, text)
                if entry is not None:
                    yield entry

    def _read_line(self, number: int, text: str) -> LedgerEntry | None:
        try:
            obj = json.loads(text)
            if not isinstance(obj, dict):
                raise ValidationError("not an object")
            if "entry" in obj:
                return LedgerEntry.from_dict(obj["entry"])
            if "tree_head" in obj:
                self.heads.append(SignedTreeHead.from_dict(obj["tree_head"]))
            elif "header" in obj and number == 1:
                self._read_header(obj["header"])
            else:
                raise ValidationError("neither header, entry nor tree_head")
        except (json.JSONDecodeError, ValidationError, TypeError, AttributeError) as exc:
            self.report.add("malformed", None, f"line {number}: {exc}")
        return None

    def _read_header(self, header: Any) -> None:
        if not isinstance(header, dict) or header.get("format") != EXPORT_FORMAT:
            raise ValidationError(f"not an {EXPORT_FORMAT} export")
        self.header = header


def verify_export(
    path: Path, keys: PublicKeyRing, older_head: SignedTreeHead | None = None
) -> VerificationReport:
    """Audit an export with only the file and trusted public keys (and optionally a head kept earlier)."""
    report = VerificationReport()
    reader = ExportReader(path, report)
    verify_ledger(reader.entries(), reader.heads, keys, older_head, require_head=True, report=report)
    if reader.header is None:
        report.add("malformed", None, f"{path} has no {EXPORT_FORMAT} header")
        return report
    announced = reader.header.get("entries")
    if not isinstance(announced, int):
        report.add("malformed", None, "the header does not say how many entries the export holds")
    elif announced != report.entries and not report.kinds() & {"deleted", "duplicated"}:
        report.add(
            "truncated" if announced > report.entries else "malformed",
            report.entries,
            f"the header announces {announced} entries; the export holds {report.entries}",
        )
    return report
