"""Generate a whole synthetic network into a folder: operators, agreements, usage files, truth.

Layout of the folder: `operators.toml`, `agreements/<ID>.toml`, `usage/<AGREEMENT>/<SERVICE>.<DECLARER>.csv`
(both the provider's and the customer's file of every usage service direction), and `truth.json`,
written last. Invariants: the same options give the same bytes (all randomness is seeded per purpose,
no clock or host enters the output); memory stays bounded by one chunk of calls per service
(`SynthOptions.chunk_calls`); the generator only ever removes its own entries of the folder.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from o2o.domain.errors import AlreadyExistsError
from o2o.synth.agreement_files import agreement_toml, operators_toml
from o2o.synth.network import (
    SynthAgreement,
    SynthOperator,
    SynthService,
    allocate_calls,
    build_agreements,
    build_operators,
    rng_for,
)
from o2o.synth.options import SynthOptions
from o2o.synth.side_records import CallCounts, SideRecords, side_records, stale_deck_sums
from o2o.synth.traffic import Calls, ServicePlan, chunk_calls, chunks, outage_service, plan_service
from o2o.synth.truth import (
    StaleDeck,
    file_entry,
    outage_entry,
    rate_change_entry,
    reconciliation_entry,
    truth_document,
)
from o2o.synth.truth import truth_json as render_truth
from o2o.synth.usage_csv import FileStyle, NumberHabit, UsageCsvWriter

OWN_ENTRIES = ("operators.toml", "agreements", "usage", "truth.json")
Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class GeneratedNetwork:
    out: Path
    truth: dict[str, Any]


def prepare_folder(out: Path, force: bool) -> None:
    """Make `out`; refuse to overwrite an earlier network unless `force` (then remove only its entries)."""
    present = [name for name in OWN_ENTRIES if (out / name).exists()]
    if present and not force:
        raise AlreadyExistsError(
            f"{out} already holds a generated network ({', '.join(present)}); use --force"
        )
    for name in present:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()
    out.mkdir(parents=True, exist_ok=True)


def usage_path(ag: SynthAgreement, svc: SynthService, declarer: str) -> str:
    return f"usage/{ag.id}/{svc.id}.{declarer}.csv"


def _style(
    opts: SynthOptions, svc: SynthService, me: SynthOperator, number: int, side: int, ops: list[SynthOperator]
) -> FileStyle:
    rng = rng_for(opts.seed, 7, number, side)
    other = svc.customer if me is svc.provider else svc.provider
    shifted = rng.random() < opts.offset_files
    return FileStyle(
        service=svc.id,
        record_base=(ops.index(me) + 1) * 10**10,
        routes=tuple(f"TRK-{other.id}-{k}" for k in range(1, 4)),
        a_habit=NumberHabit.of(me.country, svc.customer.country, opts.format_mix, rng),
        b_habit=NumberHabit.of(me.country, svc.provider.country, opts.format_mix, rng),
        utc_offset=me.country.utc_offset if shifted else None,
        utc_offset_s=me.country.utc_offset_s if shifted else 0,
    )


class _Run:
    """Accumulates the truth while services are generated one after another."""

    def __init__(
        self, opts: SynthOptions, out: Path, ops: list[SynthOperator], progress: Progress | None
    ) -> None:
        self.opts, self.out, self.ops, self.progress = opts, out, ops, progress
        # The two sides of a chunk are formatted and written at once: Arrow releases the GIL.
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.files: list[dict[str, Any]] = []
        self.recons: list[dict[str, Any]] = []
        self.changes: list[dict[str, Any]] = []
        self.stale: list[dict[str, Any]] = []
        self.outages: list[dict[str, Any]] = []

    def service(self, plan: ServicePlan) -> None:
        opts, ag, svc = self.opts, plan.agreement, plan.service
        sides = (svc.provider, svc.customer)
        offsets = (plan.offset_provider, plan.offset_customer)
        paths = [usage_path(ag, svc, op.id) for op in sides]
        day = opts.period.bounds_epoch()[0] // 86_400
        writers = [
            UsageCsvWriter(self.out / p, _style(opts, svc, op, plan.number, i, self.ops), day)
            for i, (p, op) in enumerate(zip(paths, sides, strict=True))
        ]
        stale = StaleDeck(ag, svc, svc.stale_party) if svc.stale_party else None
        since = ag.change_epoch()
        counts = CallCounts()
        try:
            for chunk, first_slot in chunks(plan):
                calls = chunk_calls(opts, plan, chunk, first_slot)
                counts.add(calls)

                def one_side(i: int, calls: Calls = calls, chunk: int = chunk) -> SideRecords:
                    rng = rng_for(opts.seed, 8, plan.number, chunk, i)
                    w = writers[i]
                    recs = side_records(
                        calls, i == 0, offsets[i], opts.jitter_s, opts.duplicate, w.rows - w.duplicates, rng
                    )
                    w.write(recs, rng)
                    return recs

                for op, recs in zip(sides, self.pool.map(one_side, (0, 1)), strict=True):
                    if stale is not None and op.id == stale.party:
                        stale.add(*stale_deck_sums(recs, since, *svc.increments, len(svc.destinations)))
                if self.progress is not None:
                    self.progress(len(calls.start))
        finally:
            for w in writers:
                w.close()
        entries = (
            file_entry(ag, svc, svc.provider.id, paths[0], writers[0]),
            file_entry(ag, svc, svc.customer.id, paths[1], writers[1]),
        )
        self.files.extend(entries)
        clock = (plan.offset_customer - plan.offset_provider, opts.jitter_s)
        self.recons.append(reconciliation_entry(ag, svc, entries, counts, clock))
        if svc.prices_new is not None:
            self.changes.append(rate_change_entry(ag, svc, svc.prices_new))
        if stale is not None:
            self.stale.append(stale.entry())
        if plan.outage is not None:
            self.outages.append(outage_entry(ag, svc, plan.outage))


def generate_network(
    opts: SynthOptions, out: Path, *, force: bool = False, progress: Progress | None = None
) -> GeneratedNetwork:
    """Write the network described by `opts` into `out` and return its truth."""
    opts.check()
    prepare_folder(out, force)
    ops = build_operators(opts)
    agreements = build_agreements(opts, ops)
    calls = allocate_calls(opts, agreements)
    (out / "operators.toml").write_text(operators_toml(ops), encoding="utf-8")
    (out / "agreements").mkdir()
    for ag in agreements:
        (out / "agreements" / f"{ag.id}.toml").write_text(agreement_toml(ag), encoding="utf-8")
    run = _Run(opts, out, ops, progress)
    outage = outage_service(calls)
    number = 0
    try:
        for ag in agreements:
            for svc in ag.services:
                key = f"{ag.id}/{svc.id}"
                if key not in calls:
                    continue
                run.service(plan_service(opts, ag, svc, calls[key], number, outage=key == outage))
                number += 1
    finally:
        run.pool.shutdown()
    truth = truth_document(
        opts, run.files, run.recons, run.changes, run.stale, agreements, [o.id for o in ops], run.outages
    )
    (out / "truth.json").write_text(render_truth(truth), encoding="utf-8")
    return GeneratedNetwork(out, truth)


def planned_calls(opts: SynthOptions) -> int:
    """How many calls `generate_network` will make (for a progress bar), without writing anything."""
    opts.check()
    return sum(allocate_calls(opts, build_agreements(opts, build_operators(opts))).values())
