"""`o2o generate`: write a synthetic network (operators, agreements, both sides' usage files, truth.json).

Thin entry point over `o2o.services.plain_files.generate_network`; see docs/generate.md for the options and
the truth.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from o2o.cli.output import err_console, print_json, print_table
from o2o.services import plain_files


def _summary(truth: dict[str, Any], out: Path) -> dict[str, Any]:
    return {
        "out": str(out),
        "truth": str(out / "truth.json"),
        "period": truth["period"],
        "seed": truth["seed"],
        "operators": truth["operators"],
        "agreements": [a["id"] for a in truth["agreements"]],
        "totals": truth["totals"],
        "stale_decks": len(truth["stale_decks"]),
        "rate_changes": len(truth["rate_changes"]),
        "outages": truth["outages"],
    }


def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the network into.")],
    operators: Annotated[int, typer.Option(help="Number of operators (2-40).")] = 8,
    period: Annotated[str, typer.Option(help="Settlement period YYYY-MM.")] = "2026-10",
    cdrs: Annotated[int, typer.Option(help="Total calls across the network.")] = 100_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same bytes.")] = 1,
    services: Annotated[
        str, typer.Option(help="Comma-separated service kinds: voice,sms,data,recurring.")
    ] = "voice,sms,data,recurring",
    one_way: Annotated[
        bool, typer.Option("--one-way", help="One direction per service kind (provider: the larger party).")
    ] = False,
    missing_provider: Annotated[float, typer.Option(help="Calls missing on the provider's side.")] = 0.01,
    missing_customer: Annotated[float, typer.Option(help="Calls missing on the customer's side.")] = 0.01,
    partial: Annotated[float, typer.Option(help="Voice calls 1 s apart in duration.")] = 0.02,
    mismatch: Annotated[float, typer.Option(help="Voice calls 2-20 s apart in duration.")] = 0.01,
    redial: Annotated[float, typer.Option(help="Voice calls that are a planted redial pair.")] = 0.01,
    duplicate: Annotated[float, typer.Option(help="Rows duplicated on one side (each side).")] = 0.005,
    format_mix: Annotated[float, typer.Option(help="Numbers written in another form than usual.")] = 0.2,
    clock_skew: Annotated[int, typer.Option(help="Largest time gap of one call's two records, s.")] = 4,
    jitter: Annotated[int, typer.Option(help="Per-record clock jitter of each switch, s.")] = 1,
    rate_change: Annotated[float, typer.Option(help="Services with a mid-month rate change.")] = 0.5,
    stale_deck: Annotated[float, typer.Option(help="Changed voice services one party rates stale.")] = 0.5,
    offset_files: Annotated[float, typer.Option(help="Files with local +HH:MM times.")] = 0.25,
    tolerance_absolute: Annotated[
        int, typer.Option(help="Agreements' absolute tolerance (USD-like, scaled per currency; 0: none).")
    ] = 5,
    outage_days: Annotated[
        int, typer.Option(help="Days the busiest direction's customer lost all records (0: none).")
    ] = 1,
    force: Annotated[bool, typer.Option("--force", help="Replace a network already in --out.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Generate a synthetic operator network with planted discrepancies and its truth.json."""
    opts = plain_files.network_options(
        operators=operators,
        period=period,
        cdrs=cdrs,
        seed=seed,
        services=tuple(s.strip() for s in services.split(",") if s.strip()),
        one_way=one_way,
        missing_provider=missing_provider,
        missing_customer=missing_customer,
        partial=partial,
        mismatch=mismatch,
        redial=redial,
        duplicate=duplicate,
        format_mix=format_mix,
        clock_skew_s=clock_skew,
        jitter_s=jitter,
        rate_change=rate_change,
        stale_deck=stale_deck,
        offset_files=offset_files,
        tolerance_absolute=tolerance_absolute,
        outage_days=outage_days,
    )
    started = time.perf_counter()
    with Progress(
        TextColumn("generating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as bar:
        task = bar.add_task("calls", total=plain_files.planned_calls(opts))
        net = plain_files.generate_network(opts, out, force=force, progress=lambda n: bar.advance(task, n))
    elapsed = time.perf_counter() - started
    summary = _summary(net.truth, out)
    if as_json:
        print_json(summary)
        return
    totals = summary["totals"]
    print_table(
        f"Synthetic network in {out} ({elapsed:.1f} s)",
        ["figure", "value"],
        [
            ("operators", len(summary["operators"])),
            ("agreements", len(summary["agreements"])),
            ("usage files", totals["files"]),
            ("rows", totals["rows"]),
            *((k, totals[k]) for k in ("calls", "matched", "exact", "partial", "duration_mismatch")),
            *((k, totals[k]) for k in ("only_ours", "only_theirs", "duplicates_ours", "duplicates_theirs")),
            ("redials", totals["redials"]),
            ("rate changes", summary["rate_changes"]),
            ("stale decks", summary["stale_decks"]),
            *(
                (f"outage {o['service']} ({o['declarer']})", f"{o['from']} to {o['to']}")
                for o in summary["outages"]
            ),
        ],
    )


def register(app: typer.Typer) -> None:
    app.command("generate")(generate)
