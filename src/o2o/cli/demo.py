"""`o2o demo`: the whole settlement cycle on a generated network, with a summary and a report folder."""

from __future__ import annotations

import shutil
from typing import Annotated, Any

import typer
from rich.table import Table

from o2o.cli.context import workspace
from o2o.cli.output import console, print_json
from o2o.config import Settings
from o2o.domain.errors import AlreadyExistsError
from o2o.services.demo import run_demo, summary, write_report
from o2o.synth.options import SynthOptions


def demo(
    operators: Annotated[int, typer.Option(help="Operators in the generated network.")] = 8,
    cdrs: Annotated[int, typer.Option(help="Calls in total across the network.")] = 1_000_000,
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 2026,
    mode: Annotated[
        str, typer.Option(help="Netting mode: conservative | clearing-house | direct.")
    ] = "direct",
    tolerance: Annotated[int, typer.Option(help="Agreements' absolute tolerance (USD-like units).")] = 1,
    fresh: Annotated[bool, typer.Option("--fresh", help="Empty the workspace first.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Generate a network and run the whole cycle: import, reconcile, dispute, sign, net, pay, verify."""
    settings = Settings()
    home = settings.home
    if home.exists() and any(home.iterdir()):
        if not fresh:
            raise AlreadyExistsError(
                f"{home} is not empty; run `o2o demo --fresh` to start from an empty workspace"
            )
        if settings.database_url is None:
            shutil.rmtree(home)
    ws = workspace()
    network = ws.home / "demo-network"
    # A tight absolute tolerance and customers' switches losing a little more than providers', so that
    # some lines go over the 1% relative tolerance and to dispute, as a good part of them does in practice.
    opts = SynthOptions(
        operators=operators, cdrs=cdrs, seed=seed, tolerance_absolute=tolerance, missing_customer=0.018
    )
    with console.status("starting") as status:
        run = run_demo(ws, network, opts.check(), mode, status.update)
    figures = summary(run)
    folder = write_report(ws, run, figures)
    if json_out:
        print_json(figures)
        return
    _render(figures, str(folder))


def _render(f: dict[str, Any], folder: str) -> None:
    t = Table(title=f"O2O Settle demo — period {f['period']}", show_header=False)
    t.add_column("figure")
    t.add_column("value", justify="right")
    rows = [
        (
            "operators / agreements / service lines",
            f"{f['operators']} / {f['agreements']} / {f['service_lines']}",
        ),
        (
            "CDRs (provider side / customer side)",
            f"{f['cdrs_per_side']['provider']:,} / {f['cdrs_per_side']['customer']:,}",
        ),
        ("records matched", f"{f['records_matched']:,}"),
        ("records on one side only", f"{f['records_unmatched']:,}"),
        ("reconciliation time", f"{f['reconciliation_seconds']:.1f} s"),
        ("statements agreed within tolerance", str(f["statements_agreed_within_tolerance"])),
        ("statements disputed", str(f["statements_disputed"])),
        (
            "disputes / amount contested / added on resolution",
            f"{f['disputes']} / {f['amount_contested']} / {f['amount_resolved']}",
        ),
        (
            "ledger",
            f"{'verified' if f['ledger']['verified'] else 'NOT VERIFIED'} ({f['ledger']['entries']} entries)",
        ),
    ]
    for label, value in rows:
        t.add_row(label, value)
    console.print(t)
    n = Table(title=f"Netting ({f['netting_mode']}): before → after")
    for col in ("currency", "gross obligations", "set off", "net internal debt", "money moved", "payments"):
        n.add_column(col, justify="right")
    for cur, x in f["netting"].items():
        n.add_row(
            cur, x["gross_obligations"], x["set_off"], x["net_internal_debt"],
            f"{x['money_moved_before']} → {x['money_moved_after']}", f"{x['payments_before']} → {x['payments_after']}",
        )  # fmt: skip
    console.print(n)
    console.print(f"timings (s): {f['seconds']}")
    console.print(f"report: {folder}")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
