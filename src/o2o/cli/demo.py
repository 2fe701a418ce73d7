"""`o2o demo`: the whole settlement cycle on a generated network, with a summary and a report folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from o2o.cli.output import console, print_json
from o2o.config import Settings
from o2o.domain.errors import ValidationError

if TYPE_CHECKING:
    from o2o.bootstrap import Workspace
    from o2o.synth.options import SynthOptions


def demo(
    operators: Annotated[int, typer.Option(help="Operators in the generated network.")] = 8,
    cdrs: Annotated[int, typer.Option(help="Calls in total across the network.")] = 1_000_000,
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 2026,
    mode: Annotated[
        str, typer.Option(help="Netting mode: conservative | clearing-house | direct.")
    ] = "direct",
    tolerance: Annotated[int, typer.Option(help="Agreements' absolute tolerance (USD-like units).")] = 1,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh", help="Empty the workspace first: its folder, and the database O2O_DATABASE_URL names."
        ),
    ] = False,
    registry: Annotated[
        str,
        typer.Option(
            "--registry", help="central, or also register on a settlement contract: anchored | evm (anvil)."
        ),
    ] = "central",
    chain_url: Annotated[
        str | None, typer.Option("--chain-url", help="A node for --registry (default: a local anvil).")
    ] = None,
    hub: Annotated[
        bool,
        typer.Option(
            "--hub",
            help="Run it through a hub: `o2o serve` on loopback over the workspace, every operator a separate "
            "client with its own token and its own key (kept outside the workspace).",
        ),
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Generate a network and run the whole cycle: import, reconcile, dispute, sign, net, pay, verify."""
    # Imported here: the cycle and the generator load every engine, which `o2o --help` must not wait for.
    from o2o.services.demo import run_demo, summary, write_report
    from o2o.services.demo_workspace import demo_workspace
    from o2o.services.plain_files import network_options
    from o2o.services.registry import check_mode

    check_mode(registry)
    if hub and registry != "central":
        raise ValidationError(f"--hub runs with --registry central, not {registry}")
    ws = demo_workspace(Settings(), fresh)
    network = ws.home / "demo-network"
    # A tight absolute tolerance and customers' switches losing a little more than providers', so that
    # some lines go over the 1% relative tolerance and to dispute, as a good part of them does in practice.
    # No planted outage (the README's small network has one so that its dispute steps have a dispute): the
    # demo's disputes come from those losses, and its figures stay comparable from release to release.
    opts = network_options(
        operators=operators,
        cdrs=cdrs,
        seed=seed,
        tolerance_absolute=tolerance,
        missing_customer=0.018,
        outage_days=0,
    )
    if hub:
        _demo_hub(ws, network, opts, mode, json_out)
        return
    with console.status("starting") as status:
        run = run_demo(ws, network, opts, mode, status.update)
    figures = summary(run)
    folder = write_report(ws, run, figures)
    if registry != "central":
        from o2o.services.registry_demo import chain_demo

        with console.status(f"registering on the settlement contract ({registry})"):
            figures["registry"] = chain_demo(ws, registry, chain_url)
    if json_out:
        print_json(figures)
        return
    _render(figures, str(folder))
    if "registry" in figures:
        _render_chain(figures["registry"])


def _demo_hub(ws: Workspace, network: Path, opts: SynthOptions, mode: str, json_out: bool) -> None:
    from o2o.services.demo_hub import run_demo_hub, write_summary

    with console.status("starting") as status:
        done = run_demo_hub(ws, network, opts, mode, status.update)
    folder = write_summary(ws, done.summary)
    if json_out:
        print_json(done.summary | {"hub": {"url": done.url, "operators": done.operators,
                                           "operator_keys": str(done.keys_dir)}})  # fmt: skip
        return
    console.print(
        f"through the hub at {done.url}: {len(done.operators)} operators as separate clients, each with its "
        f"own token and key (kept in {done.keys_dir}, removed at the end; the hub's workspace holds none)",
        soft_wrap=True, highlight=False, markup=False,
    )  # fmt: skip
    _render(done.summary, str(folder))


def _render_chain(c: dict[str, Any]) -> None:
    state = (
        "[green]verified from the chain[/green]" if c["verified_from_chain"] else "[red]NOT verified[/red]"
    )
    console.print(
        f"registry {c['registry']} on {c['node']}: contract {c['contract']}, {c['participants']} participants; "
        f"{c['transactions']:,} transactions, gas used {c['gas_used']:,}, {c['blocks']:,} blocks, "
        f"{c['seconds_to_register']} s to register; {state}"
    )
    for finding in c["findings"]:
        console.print(f"registry: {finding}", markup=False, highlight=False, soft_wrap=True)


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
        ("disputes", str(f["disputes"])),
        ("amount contested", _amounts(f["amount_contested"])),
        ("added on resolution", _amounts(f["amount_resolved"])),
        ("cycles", ", ".join(f"{n} {state}" for state, n in f["cycles"].items())),
        (
            "ledger",
            f"{'verified' if f['ledger']['verified'] else 'NOT VERIFIED'} ({f['ledger']['entries']} entries)",
        ),
    ]
    for label, value in rows:
        t.add_row(label, value)
    console.print(t)
    mode = f["netting_mode"]
    currencies = list(f["netting"])
    # One column per currency, rows in the order the figures add up: gross − set off = remaining, and
    # remaining − reduction = money moved; a reader ticks each column down.
    n = Table(title=f"Netting ({mode}), round {f['netting_round']['id']} {f['netting_round']['state']}")
    n.add_column("figure")
    for cur in currencies:
        n.add_column(cur, justify="right")
    figures = [
        ("gross obligations", "gross_obligations"),
        ("− set off", "set_off"),
        ("= remaining", "remaining"),
        (f"− {_REDUCED[mode]}", "reduced_by_settlement"),
        ("= money moved by the payments", "money_moved"),
        *([("paid out by the hub", "hub_paid_out")] if mode == "clearing-house" else []),
        ("net internal debt (least money)", "net_internal_debt"),
    ]
    for label, key in figures:
        n.add_row(label, *(f["netting"][c][key] for c in currencies))
    n.add_row(
        "payments: obligations → instructions (confirmed)",
        *(
            f"{x['payments_before']} → {x['payments_after']} ({x['payments_confirmed']})"
            for x in (f["netting"][c] for c in currencies)
        ),
    )
    console.print(n)
    console.print(f"timings (s): {f['seconds']}")
    console.print(f"report: {folder}")


_REDUCED = {
    "conservative": "reduced by settlement",
    "direct": "reduced by direct settlement",
    "clearing-house": "reduced by clearing through the hub",
}


def _amounts(per_currency: dict[str, str]) -> str:
    """Per currency, one after the other: amounts of different currencies are never added."""
    return ", ".join(f"{amount} {cur}" for cur, amount in per_currency.items()) or "none"


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
