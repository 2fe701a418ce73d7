"""Commands of the foundation: `init`, `operator add|list|show`, `agreement load|list|show`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from o2o.cli.context import workspace
from o2o.cli.output import console, print_json, print_table
from o2o.domain.agreements import Agreement, RoamingAgreement
from o2o.domain.errors import ValidationError
from o2o.domain.operators import NumberingPlan, Operator
from o2o.services import registry_data as rd

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

operator_app = typer.Typer(help="Operators (the parties).", no_args_is_help=True)
agreement_app = typer.Typer(help="Agreements between two operators.", no_args_is_help=True)


def init(json_out: JsonOpt = False) -> None:
    """Create the workspace and bring its database to the latest schema."""
    ws = workspace()
    info = {"home": str(ws.home.resolve()), "database": ws.engine.url.render_as_string(hide_password=True)}
    if json_out:
        print_json(info)
    else:
        console.print(f"workspace ready: {info['home']} ({info['database']})")


def _operator_row(op: Operator) -> dict[str, str]:
    n = op.numbering
    return {
        "id": op.id,
        "name": op.name,
        "currency": op.currency,
        "country_code": n.country_code,
        "trunk_prefix": n.trunk_prefix,
        "international_prefix": n.international_prefix,
    }


@operator_app.command("add")
def operator_add(
    op_id: Annotated[str | None, typer.Argument(help="Operator id (short upper-case code).")] = None,
    name: Annotated[str | None, typer.Option(help="Legal name.")] = None,
    currency: Annotated[str | None, typer.Option(help="ISO 4217 currency.")] = None,
    country_code: Annotated[str | None, typer.Option(help="Country calling code, e.g. 44.")] = None,
    trunk_prefix: Annotated[str, typer.Option(help="National trunk prefix.")] = "0",
    international_prefix: Annotated[str, typer.Option(help="International call prefix.")] = "00",
    file: Annotated[Path | None, typer.Option("--file", help="Add every operator of a TOML file.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Add one operator, or all operators of a file (`[[operators]]`)."""
    ws = workspace()
    if file is not None:
        added = rd.add_operators_file(ws, file)
    else:
        if not (op_id and name and currency and country_code):
            raise ValidationError("operator add: give ID --name --currency --country-code, or --file FILE")
        op = Operator(op_id, name, currency, NumberingPlan(country_code, trunk_prefix, international_prefix))
        added = rd.add_operators(ws, [op])
    if json_out:
        print_json([_operator_row(o) for o in added])
    else:
        console.print(f"added {len(added)} operator(s): {', '.join(o.id for o in added)}")


@operator_app.command("list")
def operator_list(json_out: JsonOpt = False) -> None:
    """List operators."""
    rows = [_operator_row(o) for o in rd.list_operators(workspace())]
    if json_out:
        print_json(rows)
    else:
        print_table(
            "Operators",
            ["id", "name", "currency", "cc"],
            ((r["id"], r["name"], r["currency"], r["country_code"]) for r in rows),
        )


@operator_app.command("show")
def operator_show(op_id: str, json_out: JsonOpt = False) -> None:
    """Show one operator, with the legal data its documents print (when its file gave them)."""
    op = rd.get_operator(workspace(), op_id)
    row = _operator_row(op)
    if op.legal is not None:
        legal, bank = op.legal, op.legal.bank
        row |= {"legal_name": legal.legal_name, "address": legal.address, "tax_id": legal.tax_id}
        row |= {"iban": bank.iban, "bic": bank.bic, "bank_name": bank.bank_name}
    if json_out:
        print_json(row)
    else:
        print_table(f"Operator {op_id}", ["field", "value"], row.items())


@agreement_app.command("load")
def agreement_load(
    files: Annotated[list[Path], typer.Argument(help="Agreement TOML file(s).")],
    json_out: JsonOpt = False,
) -> None:
    """Validate and store agreements; a changed file becomes a new revision."""
    ws = workspace()
    out: list[dict[str, Any]] = []
    for path in files:
        loaded = rd.load_agreement(ws, path)
        out.append(
            {
                "id": loaded.agreement.id,
                "revision": loaded.stored.revision,
                "unchanged": loaded.unchanged,
                "services": loaded.services,
            }
        )
    if json_out:
        print_json(out)
    else:
        for o in out:
            state = "unchanged" if o["unchanged"] else f"revision {o['revision']}"
            console.print(f"{o['id']}: {state} ({len(o['services'])} services)")


@agreement_app.command("list")
def agreement_list(json_out: JsonOpt = False) -> None:
    """List agreements."""
    rows: list[dict[str, Any]] = [
        {
            "id": a.id,
            "kind": "roaming" if rd.is_roaming(a) else "interconnect",
            "parties": [a.party_a, a.party_b],
            "currency": a.currency,
            "revision": a.revision,
        }
        for a in rd.list_agreements(workspace())
    ]
    if json_out:
        print_json(rows)
    else:
        print_table(
            "Agreements",
            ["id", "kind", "parties", "currency", "revision"],
            ((r["id"], r["kind"], " / ".join(r["parties"]), r["currency"], r["revision"]) for r in rows),
        )


@agreement_app.command("show")
def agreement_show(agreement_id: str, json_out: JsonOpt = False) -> None:
    """Show an agreement: parties, services, tolerance (a roaming agreement: its directions)."""
    settled, stored = rd.get_settled(workspace(), agreement_id)
    if not isinstance(settled, Agreement):
        _roaming_show(settled, stored.revision, json_out)
        return
    agreement = settled
    services: list[dict[str, Any]] = [
        {
            "id": s.id,
            "kind": s.kind,
            "provider": s.provider,
            "customer": s.customer,
            "destinations": len(s.tariff.destinations),
            "rates": len(s.tariff.rates),
        }
        for s in agreement.services
    ]
    data: dict[str, Any] = {
        "id": agreement.id,
        "name": agreement.name,
        "currency": agreement.currency,
        "timezone": agreement.timezone,
        "revision": stored.revision,
        "sha256": stored.sha256,
        "parties": [p.operator for p in agreement.parties],
        "tolerance": agreement.tolerance,
        "services": services,
    }
    if json_out:
        print_json(data)
        return
    console.print(
        f"[bold]{agreement.id}[/bold] {agreement.name} ({agreement.currency}, revision {stored.revision})"
    )
    print_table(
        "Services",
        ["id", "kind", "provider", "customer", "destinations", "rates"],
        ((s["id"], s["kind"], s["provider"], s["customer"], s["destinations"], s["rates"]) for s in services),
    )


def _roaming_show(agreement: RoamingAgreement, revision: int, json_out: bool) -> None:
    directions = [{"id": d.id, "provider": d.provider, "customer": d.customer} for d in agreement.directions]
    data: dict[str, Any] = {
        "id": agreement.id,
        "kind": "roaming",
        "name": agreement.name,
        "currency": agreement.currency,
        "revision": revision,
        "parties": list(agreement.parties),
        "tolerance": agreement.tolerance,
        "directions": directions,
    }
    if json_out:
        print_json(data)
        return
    console.print(
        f"[bold]{agreement.id}[/bold] {agreement.name} (roaming, {agreement.currency}, revision {revision})"
    )
    print_table(
        "Directions (the customer's subscribers on the provider's networks)",
        ["id", "provider", "customer"],
        ((d["id"], d["provider"], d["customer"]) for d in directions),
    )


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.add_typer(operator_app, name="operator")
    app.add_typer(agreement_app, name="agreement")
