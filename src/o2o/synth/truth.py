"""`truth.json`: the exact figures a generated network must reconcile to, from what was planted.

Semantics (the reconciliation engine's): per service direction, "ours" is the provider's file and
"theirs" the customer's; records pair one-to-one on normalised (a, b) within 5 s, ranked by duration
gap then time gap; exact = same duration, partial = 1 s apart, duration_mismatch = more; a duplicate
(identical normalised a, b, start and duration to an earlier row of the same file) is excluded and
counted only in duplicates_*. Invariants: ours = matched + only_ours + duplicates_ours, theirs =
matched + only_theirs + duplicates_theirs, matched = exact + partial + duration_mismatch; every
redial pair is two exact matches.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np

from o2o.domain.currencies import minor_units
from o2o.synth.network import SynthAgreement, SynthService
from o2o.synth.options import SynthOptions
from o2o.synth.side_records import CallCounts
from o2o.synth.usage_csv import UsageCsvWriter

SUMMED = (
    "ours", "theirs", "matched", "exact", "partial", "duration_mismatch", "only_ours", "only_theirs",
    "duplicates_ours", "duplicates_theirs", "redials", "calls",
)  # fmt: skip


def file_entry(
    ag: SynthAgreement, svc: SynthService, declarer: str, path: str, w: UsageCsvWriter
) -> dict[str, Any]:
    return {
        "agreement": ag.id,
        "service": svc.id,
        "declarer": declarer,
        "role": "provider" if declarer == svc.provider.id else "customer",
        "file": path,
        "rows": w.rows,
        "duplicates": w.duplicates,
        "distinct_records": w.rows - w.duplicates,
        "duration_s": w.duration_total,
        "volume": w.volume_total,
        "reformatted_numbers": w.reformatted,
        "time_zone": w.style.utc_offset or "Z",
    }


def reconciliation_entry(
    ag: SynthAgreement,
    svc: SynthService,
    files: tuple[dict[str, Any], dict[str, Any]],
    counts: CallCounts,
    clock: tuple[int, int],
) -> dict[str, Any]:
    ours, theirs = files
    return {
        "agreement": ag.id,
        "service": svc.id,
        "kind": svc.kind,
        "provider": svc.provider.id,
        "customer": svc.customer.id,
        "provider_file": ours["file"],
        "customer_file": theirs["file"],
        "ours": ours["rows"],
        "theirs": theirs["rows"],
        "matched": counts.matched,
        "exact": counts.exact,
        "partial": counts.partial,
        "duration_mismatch": counts.duration_mismatch,
        "only_ours": counts.only_ours,
        "only_theirs": counts.only_theirs,
        "duplicates_ours": ours["duplicates"],
        "duplicates_theirs": theirs["duplicates"],
        "redials": counts.redials,
        "calls": counts.calls,
        "clock_offset_s": clock[0],
        "clock_jitter_s": clock[1],
    }


@dataclass(slots=True)
class StaleDeck:
    """One party rating a service with the rate version before the mid-month change."""

    agreement: SynthAgreement
    service: SynthService
    party: str
    records: int = 0
    billed_s: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def add(self, records: int, billed_s: np.ndarray) -> None:
        self.records += records
        self.billed_s = billed_s if not len(self.billed_s) else self.billed_s + billed_s

    def entry(self) -> dict[str, Any]:
        svc, ag = self.service, self.agreement
        quantum = Decimal(1).scaleb(-minor_units(ag.currency))

        def amount(prices: tuple[Decimal, ...]) -> Decimal:
            total = sum((Decimal(int(s)) * p for s, p in zip(self.billed_s, prices, strict=True)), Decimal(0))
            return (total / 60).quantize(quantum, ROUND_HALF_UP)

        # Only services with a mid-month change get a stale deck; without one both amounts agree.
        correct, stale = amount(svc.prices_new or svc.prices), amount(svc.prices)
        return {
            "agreement": ag.id,
            "service": svc.id,
            "party": self.party,
            "role": "provider" if self.party == svc.provider.id else "customer",
            "effective": ag.change_day.isoformat(),
            "records": self.records,
            "billed_seconds": int(self.billed_s.sum()) if len(self.billed_s) else 0,
            "currency": ag.currency,
            "amount_correct": str(correct),
            "amount_stale": str(stale),
            "difference": str(stale - correct),
        }


def rate_change_entry(ag: SynthAgreement, svc: SynthService, new: tuple[Decimal, ...]) -> dict[str, Any]:
    return {
        "agreement": ag.id,
        "service": svc.id,
        "effective": ag.change_day.isoformat(),
        "destinations": [
            {"name": d.name, "prefix": d.prefix, "before": str(old), "after": str(new)}
            for d, old, new in zip(svc.destinations, svc.prices, new, strict=True)
        ],
    }


def outage_entry(ag: SynthAgreement, svc: SynthService, window: tuple[int, int]) -> dict[str, Any]:
    """The customer's switch recorded none of the service's calls in `window` (epoch s, [from, to))."""
    start, end = (datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z") for t in window)
    return {
        "agreement": ag.id,
        "service": svc.id,
        "declarer": svc.customer.id,
        "role": "customer",
        "from": start,
        "to": end,
    }


def truth_document(
    opts: SynthOptions,
    files: list[dict[str, Any]],
    recons: list[dict[str, Any]],
    changes: list[dict[str, Any]],
    stale: list[dict[str, Any]],
    agreements: list[SynthAgreement],
    operators: list[str],
    outages: list[dict[str, Any]],
) -> dict[str, Any]:
    totals: dict[str, Any] = {k: sum(r[k] for r in recons) for k in SUMMED}
    totals["files"] = len(files)
    totals["rows"] = sum(f["rows"] for f in files)
    return {
        "generator": "o2o.synth/1",
        "period": str(opts.period),
        "seed": opts.seed,
        "options": opts.as_json(),
        "operators": operators,
        "agreements": [
            {
                "id": ag.id,
                "file": f"agreements/{ag.id}.toml",
                "parties": [p.id for p in ag.parties],
                "currency": ag.currency,
                "timezone": ag.timezone,
                "services": [s.id for s in ag.services],
            }
            for ag in agreements
        ],
        "files": files,
        "reconciliations": recons,
        "rate_changes": changes,
        "stale_decks": stale,
        "outages": outages,
        "totals": totals,
    }


def truth_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
