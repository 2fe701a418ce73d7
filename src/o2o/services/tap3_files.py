"""A TAP 3 file on its own, without a workspace: `o2o usage tap3 FILE --grammar DIR --out EVENTS.csv`
writes every call event with its TAP amounts (`o2o.tap3.usage_csv.tap_events_csv`) and reports the batch,
its audit control totals compared with the events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from o2o.domain.errors import ValidationError


def tap_events_file(path: Path, grammar_dir: Path, out: Path, rap: Path | None = None) -> dict[str, Any]:
    """Write the call events of the TAP file `path` to the CSV `out`; the batch's summary."""
    from o2o.tap3.grammar import load_grammar
    from o2o.tap3.rap import read_returns
    from o2o.tap3.usage_csv import tap_events_csv

    if out.suffix.lower() != ".csv":
        raise ValidationError(f"--out {out}: the events are written as CSV (name it .csv)")
    if out.resolve() == path.resolve():
        raise ValidationError(f"--out {out}: that is the TAP file itself")
    grammar = load_grammar(grammar_dir)
    returns = read_returns(rap, grammar) if rap else None
    summary = tap_events_csv(path, grammar, out, returns).as_dict()
    # What an import sums of the events it declares: no declaration is made here.
    for key in ("rows_charge", "rows_tax", "declared"):
        del summary[key]
    return summary
