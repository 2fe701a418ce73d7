"""Commands of the registry: `registry deploy|publish|verify` (central, anchored or evm).

Thin: parses options, calls `o2o.services.registry` and renders. `registry verify` prints every finding and
exits 1 when anything differs between the chain and the workspace.
"""

from __future__ import annotations

from typing import Annotated

import typer

from o2o.cli.context import workspace
from o2o.cli.output import console, print_json, print_table
from o2o.domain.errors import O2OError
from o2o.services import registry as svc

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
RegistryOpt = Annotated[
    str | None,
    typer.Option(
        "--registry",
        help="central, anchored or evm (default: O2O_REGISTRY, else the workspace's registry.json).",
    ),
]

registry_app = typer.Typer(
    help="Where settlements are registered: the central ledger, anchored heads, or a settlement contract.",
    no_args_is_help=True,
)


class RegistryMismatch(O2OError):
    """The chain and the workspace disagree."""


@registry_app.command("deploy")
def registry_deploy(
    url: Annotated[str, typer.Option("--url", help="The chain node's JSON-RPC URL (http://127.0.0.1:8545).")],
    chain_id: Annotated[int, typer.Option("--chain-id", help="The chain id the node must report.")],
    registry: RegistryOpt = None,
    confirmations: Annotated[
        int, typer.Option("--confirmations", help="Blocks a registration waits for.")
    ] = 1,
    poa: Annotated[
        bool, typer.Option("--poa", help="Proof-of-authority chain (Besu/GoQuorum QBFT, IBFT, Clique).")
    ] = False,
    anchor_every: Annotated[
        int, typer.Option("--anchor-every", help="Anchored: entries between heads.")
    ] = 100,
    anchor_minutes: Annotated[
        float, typer.Option("--anchor-minutes", help="Anchored: minutes between heads (with new entries).")
    ] = 60.0,
    dev_fund: Annotated[
        bool, typer.Option("--dev-fund", help="Give the hub gas money on a development node (anvil).")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Deploy the settlement contract for this workspace; operators with chain keys are its founders."""
    from o2o.services.registry_chain import deploy

    mode = registry or "evm"
    info = deploy(
        workspace(), url=url, chain_id=chain_id, mode=mode, confirmations=confirmations, poa=poa,
        anchor_every=anchor_every, anchor_minutes=anchor_minutes, dev_fund=dev_fund,
    )  # fmt: skip
    if json_out:
        print_json(info)
    else:
        console.print(
            f"settlement contract at {info['contract']} (chain {info['chain_id']}, block {info['block']}, "
            f"gas {info['gas_used']:,}); registry {mode}; {len(info['participants'])} participants"
        )


@registry_app.command("approve")
def registry_approve(
    candidate: Annotated[str, typer.Argument(help="The operator to admit (its chain key registered).")],
    approver: Annotated[
        str, typer.Option("--as", help="The participant approving, with its chain key here.")
    ],
    dev_fund: Annotated[
        bool, typer.Option("--dev-fund", help="Give the approver gas money on a development node (anvil).")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Approve a new participant of the settlement contract: admitted by a strict majority of participants."""
    from o2o.services.registry_chain import approve_participant

    info = approve_participant(workspace(), candidate, approver, dev_fund)
    if json_out:
        print_json(info)
    else:
        state = "admitted" if info["admitted"] else "not yet admitted"
        console.print(
            f"{approver} approves {candidate}: {info['approvals']} of {info['participants']} participants; {state}"
        )


@registry_app.command("publish")
def registry_publish(
    registry: RegistryOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Anchored: anchor now if anything is new.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Carry the ledger's new registrations to the chain (evm), or anchor the tree head when due (anchored)."""
    report = svc.publish(workspace(), registry, force=force)
    data = report.to_dict()
    if json_out:
        print_json(data)
    else:
        console.print(
            f"registry {data['registry']}: {data['registrations']} registrations, {data['skipped_already_on_chain']} "
            f"already on chain, {data['transactions']} transactions, gas {data['gas_used']:,}, "
            f"{data['blocks']} blocks, {data['seconds']} s"
        )


@registry_app.command("verify")
def registry_verify(registry: RegistryOpt = None, json_out: JsonOpt = False) -> None:
    """Rebuild the registered facts from the chain's events and check them against the workspace (evm), or
    check every anchored tree head against the central ledger's consistency proofs (anchored)."""
    report = svc.verify_registry(workspace(), registry)
    data = report.to_dict()
    if json_out:
        print_json(data)
    else:
        state = "[green]verified[/green]" if report.ok else "[red]NOT verified[/red]"
        counts = ", ".join(f"{n} {what}" for what, n in sorted(report.counts.items()))
        console.print(f"registry {report.mode} {state}: {report.checked} checked ({counts})")
        for finding in report.findings:
            console.print(f"{finding.what}: {finding.message}", markup=False, highlight=False, soft_wrap=True)
    if not report.ok:
        first = report.findings[0].message
        raise RegistryMismatch(
            f"registry {report.mode} did not verify ({len(report.findings)} findings; {first})"
        )


@registry_app.command("compare")
def registry_compare(
    cdrs: Annotated[int, typer.Option("--cdrs", help="Calls in the generated network.")] = 3000,
    operators: Annotated[int, typer.Option("--operators", help="Operators in the generated network.")] = 3,
    seed: Annotated[int, typer.Option("--seed", help="Generator seed.")] = 2026,
    json_out: JsonOpt = False,
) -> None:
    """Run one period and register it on central, anchored and evm (a local anvil): the figures side by side."""
    from o2o.config import Settings
    from o2o.services.registry_compare import compare
    from o2o.services.registry_report import COMPARE_DIR, attack_cell

    home = Settings().home / COMPARE_DIR
    with console.status("running the period and registering it on each backend"):
        data = compare(home, cdrs=cdrs, operators=operators, seed=seed)
    if json_out:
        print_json(data)
        return
    rows = [
        ("seconds to register the period", "seconds_to_register"),
        ("registrations", "registrations"),
        ("registrations per second", "registrations_per_s"),
        ("latency to finality (s)", "latency_to_finality_s"),
        ("gas per registration", "gas_per_registration"),
        ("gas per period", "gas_per_period"),
        ("transactions", "transactions"),
        ("storage growth (bytes)", "storage_bytes"),
        ("storage per registration (bytes)", "storage_bytes_per_registration"),
        ("verified", "verified"),
    ]
    backends = data["backends"]
    print_table(
        f"registries compared: {data['operators']} operators, {data['cdrs']:,} calls, "
        f"{data['ledger_entries']:,} ledger entries",
        ["figure", *backends],
        [[label, *(backends[b].get(key) for b in backends)] for label, key in rows],
    )
    attacks: dict[str, dict[str, str]] = {}
    for a in data["attacks"]:
        attacks.setdefault(a["attack"], {})[a["backend"]] = attack_cell(a)
    print_table(
        "attacks executed, and whether the backend's verification detects (or refutes) them",
        ["attack", *backends],
        [[name, *(seen.get(b, "") for b in backends)] for name, seen in attacks.items()],
    )
    for a in data["attacks"]:
        console.print(
            f"{a['attack']} / {a['backend']}: who: {a['who']}; when: {a['when']}; {a['how']}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def register(app: typer.Typer) -> None:
    app.add_typer(registry_app, name="registry")
