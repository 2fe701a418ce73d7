"""Commands on what reconciliation leaves to agree: statements (list, show, sign) and disputes (evidence,
proposals, acceptance, escalation past the deadline)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from o2o.cli.context import workspace
from o2o.cli.output import console, print_json, print_table
from o2o.cli.passphrase import PassphraseEnvOpt, PassphraseFileOpt, passphrase
from o2o.domain.errors import ValidationError
from o2o.domain.periods import parse_day
from o2o.services import disputes as dsp
from o2o.services import statements

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
statement_app = typer.Typer(help="Reconciliation statements: show and sign.", no_args_is_help=True)
dispute_app = typer.Typer(help="Disputes: evidence, proposals, acceptance.", no_args_is_help=True)


@statement_app.command("show")
def statement_show(statement_id: str, json_out: JsonOpt = False) -> None:
    """A statement: both views and the agreed amount per service line, signatures, disputes."""
    data = statements.show_statement(workspace(), statement_id).to_dict()
    if json_out:
        print_json(data)
        return
    console.print(f"[bold]{data['id']}[/bold] {data['state']} ({data['currency']}) digest {data['digest']}")
    if "rounding" in data["document"]:  # statements reconciled before the rule was written have none
        console.print(data["document"]["rounding"])
    cols = [
        "service",
        "provider",
        "customer",
        "provider_amount",
        "customer_amount",
        "agreed_amount",
        "disputed_amount",
        "outcome",
    ]
    print_table("Lines", cols, ([ln[c] for c in cols] for ln in data["lines"]))
    console.print("signed by: " + (", ".join(s["operator"] for s in data["signatures"]) or "nobody yet"))


@statement_app.command("sign")
def statement_sign(
    statement_id: str,
    operator: Annotated[
        str | None,
        typer.Option("--as", help="The signing operator (its key is in the workspace); not with --hub."),
    ] = None,
    reviewed: Annotated[
        str | None,
        typer.Option("--digest", help="The digest you reviewed (`statement show`); refused if it changed."),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option("--key", help="With --hub: your operator's Ed25519 key file (PEM), kept on your side."),
    ] = None,
    chain_key: Annotated[
        Path | None,
        typer.Option(
            "--chain-key",
            help="With --hub: your operator's chain key file (OP.chain.json), kept on your side; sends the "
            "EIP-712 signature the evm settlement contract needs (before the Ed25519 one when --key too).",
        ),
    ] = None,
    hub: Annotated[
        str | None,
        typer.Option("--hub", help="Sign on this hub (e.g. http://127.0.0.1:8000) with --key, not here."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="O2O_HUB_TOKEN", show_envvar=True, help="With --hub: your API token."),
    ] = None,
    passphrase_file: PassphraseFileOpt = None,
    passphrase_env: PassphraseEnvOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Sign a statement with the operator's key; the second signature creates the obligations. With
    --hub and --key: the statement is read from the hub, its digest checked here, signed here with your
    key, and only the signature is sent (the hub never holds your key)."""
    secret = passphrase(passphrase_file, passphrase_env)
    if chain_key is not None:
        _chain_sign_on_hub(statement_id, operator, reviewed, key, chain_key, hub, token, secret, json_out)
        return
    if hub is not None or key is not None:
        _sign_on_hub(statement_id, operator, reviewed, key, hub, token, secret, json_out)
        return
    if operator is None:
        raise ValidationError(
            f"statement {statement_id}: say who signs: --as OPERATOR (its key in the workspace), "
            "or --hub URL --key FILE"
        )
    result = statements.sign_statement(workspace(), statement_id, operator, secret, reviewed=reviewed)
    data = {"statement": result.statement_id, "operator": result.operator, "signature": result.signature,
            "complete": result.complete, "obligations": list(result.obligations)}  # fmt: skip
    if json_out:
        print_json(data)
    else:
        console.print(
            f"{operator} signed {statement_id}: {_signed_state(result.complete, result.obligations)}"
        )


def _signed_state(complete: bool, obligations: tuple[str, ...]) -> str:
    return f"complete, {len(obligations)} obligation(s)" if complete else "waiting for the other party"


def _chain_sign_on_hub(
    statement_id: str, operator: str | None, reviewed: str | None, key: Path | None, chain_key: Path,
    hub: str | None, token: str | None, secret: bytes | None, json_out: bool,
) -> None:  # fmt: skip
    from o2o.services import hub_client

    if hub is None:
        raise ValidationError("--chain-key FILE goes with --hub URL: the hub's address and your chain key")
    if operator is not None:
        raise ValidationError("--as is for a key in the workspace; on a hub, your token says who signs")
    with hub_client.HubClient(hub, token) as client:
        chained = hub_client.sign_statement_chain(client, statement_id, chain_key, secret, reviewed)
    data: dict[str, object] = {
        "statement": chained.statement, "operator": chained.operator, "chain_address": chained.address,
        "digest": chained.digest, "chain_signature": chained.signature,
        "chain_signed_by": list(chained.signed_by), "hub": hub,
    }  # fmt: skip
    if key is not None:
        with hub_client.HubClient(hub, token) as client:
            done = hub_client.sign_statement(client, statement_id, key, secret, reviewed)
        data.update({"key_id": done.key_id, "signature": done.signature, "complete": done.complete,
                     "obligations": list(done.obligations)})  # fmt: skip
    if json_out:
        print_json(data)
        return
    console.print(
        f"{chained.operator} signed {statement_id} for the chain on {hub} with {chained.address} "
        f"(chain signatures held: {', '.join(chained.signed_by)})",
        soft_wrap=True, highlight=False, markup=False,
    )  # fmt: skip
    if key is not None:
        console.print(
            f"{done.operator} signed {statement_id} on {hub} with key {done.key_id}: "
            f"{_signed_state(done.complete, done.obligations)}",
            soft_wrap=True, highlight=False, markup=False,
        )  # fmt: skip


def _sign_on_hub(
    statement_id: str, operator: str | None, reviewed: str | None, key: Path | None, hub: str | None,
    token: str | None, secret: bytes | None, json_out: bool,
) -> None:  # fmt: skip
    from o2o.services import hub_client

    if hub is None or key is None:
        raise ValidationError("--hub URL and --key FILE go together: the hub's address and your key")
    if operator is not None:
        raise ValidationError("--as is for a key in the workspace; on a hub, your token says who signs")
    with hub_client.HubClient(hub, token) as client:
        done = hub_client.sign_statement(client, statement_id, key, secret, reviewed)
    data = {"statement": done.statement, "operator": done.operator, "key_id": done.key_id,
            "digest": done.digest, "signature": done.signature, "complete": done.complete,
            "obligations": list(done.obligations), "hub": hub}  # fmt: skip
    if json_out:
        print_json(data)
    else:
        console.print(
            f"{done.operator} signed {statement_id} on {hub} with key {done.key_id}: "
            f"{_signed_state(done.complete, done.obligations)}",
            soft_wrap=True, highlight=False, markup=False,
        )  # fmt: skip


@statement_app.command("list")
def statement_list(
    period: Annotated[
        str | None, typer.Option("--period", help="Period YYYY-MM (default: every period).")
    ] = None,
    state: Annotated[str | None, typer.Option("--state", help="agreed | disputed | signed")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Statements with their state, currency, digest (its first 12 digits here) and who has signed."""
    rows = [view.summary() for view in statements.list_statements(workspace(), period, state)]
    if json_out:
        print_json(rows)
        return
    if not rows:
        console.print(
            "no statements" + (f" in {period}" if period else "") + (f" that are {state}" if state else "")
        )
        return
    print_table(
        "Statements",
        ["statement", "state", "currency", "digest", "signed by"],
        ([r["id"], r["state"], r["currency"], r["digest"][:12], ", ".join(r["signatures"]) or "nobody yet"]
         for r in rows),
    )  # fmt: skip


def _dispute_out(view: dsp.DisputeView, json_out: bool) -> None:
    data = view.to_dict(detail=True)
    if json_out:
        print_json(data)
        return
    rows = [(k, v) for k, v in data.items() if k not in ("evidence", "proposals", "history")]
    print_table(f"Dispute {data['id']}", ["field", "value"], rows)
    if data.get("proposals"):
        print_table("Proposals", ["seq", "by", "amount", "status", "note"],
                    ((p["seq"], p["by"], p["amount"], p["status"], p["note"]) for p in data["proposals"]))  # fmt: skip


@dispute_app.command("list")
def dispute_list(
    state: Annotated[str | None, typer.Option("--state")] = None, json_out: JsonOpt = False
) -> None:
    """Disputes with both figures, the contested amount and the split-the-difference offer."""
    rows = [view.to_dict() for view in dsp.list_disputes(workspace(), state)]
    if json_out:
        print_json(rows)
        return
    cols = [
        "id",
        "state",
        "provider_amount",
        "customer_amount",
        "contested_amount",
        "split_offer",
        "deadline",
    ]
    print_table("Disputes", cols, ([r[c] for c in cols] for r in rows))


@dispute_app.command("show")
def dispute_show(dispute_id: str, json_out: JsonOpt = False) -> None:
    """A dispute with its evidence (days over tolerance, record files) and proposals."""
    _dispute_out(dsp.show_dispute(workspace(), dispute_id), json_out)


@dispute_app.command("propose")
def dispute_propose(
    dispute_id: str,
    operator: Annotated[str, typer.Option("--as", help="The proposing party.")],
    amount: Annotated[str | None, typer.Option("--amount", help="Amount for the whole line.")] = None,
    split: Annotated[bool, typer.Option("--split", help="Split the difference.")] = False,
    note: Annotated[str, typer.Option("--note")] = "",
    passphrase_file: PassphraseFileOpt = None,
    passphrase_env: PassphraseEnvOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Propose (or counter-propose) an amount for the disputed line, exact in the dispute's currency."""
    from o2o.domain.errors import ValidationError

    if (amount is None) == (not split):
        raise ValidationError("dispute propose: give --amount AMOUNT or --split")
    proposal = dsp.propose(
        workspace(), dispute_id, operator, None if split else amount, note, field="--amount",
        passphrase=passphrase(passphrase_file, passphrase_env),
    )  # fmt: skip
    _dispute_out(proposal, json_out)


@dispute_app.command("split")
def dispute_split(
    dispute_id: str,
    operator: Annotated[str, typer.Option("--as", help="The party accepting a part.")],
    amount: Annotated[
        str, typer.Option("--amount", help="The part of the contested amount accepted (less than all of it).")
    ],
    note: Annotated[str, typer.Option("--note")] = "",
    passphrase_file: PassphraseFileOpt = None,
    passphrase_env: PassphraseEnvOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Split: accept a part of the contested amount and keep contesting the rest."""
    view = dsp.concede(
        workspace(), dispute_id, operator, amount, note, field="--amount",
        passphrase=passphrase(passphrase_file, passphrase_env),
    )  # fmt: skip
    _dispute_out(view, json_out)


@dispute_app.command("accept")
def dispute_accept(
    dispute_id: str,
    operator: Annotated[str, typer.Option("--as")],
    passphrase_file: PassphraseFileOpt = None,
    passphrase_env: PassphraseEnvOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Accept the other party's latest proposal: the dispute is resolved at its amount."""
    secret = passphrase(passphrase_file, passphrase_env)
    _dispute_out(dsp.accept(workspace(), dispute_id, operator, secret), json_out)


@dispute_app.command("reject")
def dispute_reject(
    dispute_id: str,
    operator: Annotated[str, typer.Option("--as")],
    passphrase_file: PassphraseFileOpt = None,
    passphrase_env: PassphraseEnvOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Reject the other party's latest proposal."""
    secret = passphrase(passphrase_file, passphrase_env)
    _dispute_out(dsp.reject(workspace(), dispute_id, operator, secret), json_out)


@dispute_app.command("escalate")
def dispute_escalate(
    as_of: Annotated[str | None, typer.Option("--as-of", help="Date (default: today).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Escalate every open dispute past its deadline."""
    day = parse_day(as_of, "--as-of") if as_of is not None else settlement_today()
    ids = dsp.escalate_overdue(workspace(), day)
    if json_out:
        print_json({"escalated": ids})
    else:
        console.print(f"escalated {len(ids)} dispute(s)")


def settlement_today() -> date:
    from datetime import UTC, datetime

    return datetime.now(UTC).date()


def register(app: typer.Typer) -> None:
    app.add_typer(statement_app, name="statement")
    app.add_typer(dispute_app, name="dispute")
