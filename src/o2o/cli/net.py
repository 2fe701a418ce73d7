"""`o2o net …`: the netting commands (a Typer sub-app; `solve` nets a plain obligations file; `accept`
accepts a round on an evm hub's settlement contract with the operator's chain key, kept on its side).

Thin: parse options, call `o2o.services.plain_files.net_obligations_file`, render JSON or tables.
Caps are given as `OPERATOR=AMOUNT[:CURRENCY]`; without a currency the cap is in the settlement currency,
or in the file's only currency.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from o2o.cli.output import console, print_json, print_table
from o2o.cli.passphrase import PassphraseEnvOpt, PassphraseFileOpt, passphrase
from o2o.services import plain_files

if TYPE_CHECKING:
    from o2o.netting import NettingResult

net_app = typer.Typer(
    name="net",
    help="Netting: multilateral set-off of obligations, and the payments that remain.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(net_app, name="net")


def _show(result: NettingResult) -> None:
    if result.fx is not None:
        rates = ", ".join(f"1 {r.source} = {r.rate} {r.target}" for r in result.fx.rates) or "none needed"
        console.print(f"converted into {result.fx.settle_in} at the rates of {result.fx.on}: {rates}")
    for item in result.currencies:
        print_table(
            f"Netting round in {item.currency} ({result.mode.value})",
            ["figure", "value"],
            [
                ("gross total", item.gross_total),
                ("cleared by set-off", item.cleared_total),
                ("remaining", item.remaining_total),
                ("net internal debt (least money)", item.net_internal_debt),
                ("payments", item.payments_count),
                ("bilateral netting: remaining", item.bilateral.remaining_total),
                ("bilateral netting: payments", item.bilateral.payments_count),
                ("excluded obligations", len(item.excluded)),
                *(
                    [("direct search", f"{item.direct.method.value}, lower bound {item.direct.lower_bound}")]
                    if item.direct
                    else []
                ),
            ],
        )
        print_table(
            f"Positions in {item.currency}",
            ["operator", "payable", "receivable", "net"],
            [(p.operator, p.payable, p.receivable, p.net) for p in item.positions],
        )
        print_table(
            f"Payments in {item.currency}",
            ["from", "to", "amount"],
            [(p.payer, p.payee, p.amount) for p in item.payments],
        )


@net_app.command("solve")
def solve(
    obligations: Annotated[Path, typer.Argument(help="CSV: id,debtor,creditor,amount,currency[,due_date]")],
    mode: Annotated[str, typer.Option(help="conservative | clearing-house | direct")] = "conservative",
    fx: Annotated[Path | None, typer.Option(help="rate table CSV: date,from,to,rate")] = None,
    settle_in: Annotated[str | None, typer.Option(help="convert everything into this currency")] = None,
    fx_date: Annotated[str | None, typer.Option(help="date of the rates to use (default: latest)")] = None,
    withhold: Annotated[
        list[str] | None, typer.Option(help="obligation id under dispute (repeatable)")
    ] = None,
    opt_out: Annotated[list[str] | None, typer.Option(help="participant left out (repeatable)")] = None,
    cap: Annotated[
        list[str] | None, typer.Option(help="set-off cap OPERATOR=AMOUNT[:CURRENCY] (repeatable)")
    ] = None,
    hub: Annotated[str, typer.Option(help="id of the clearing house in payments")] = plain_files.NETTING_HUB,
    milp_seconds: Annotated[float, typer.Option(help="time limit of the direct mode's MILP")] = 5.0,
    json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Net a file of obligations: the largest set-off, then the payments that remain."""
    result = plain_files.net_obligations_file(
        obligations,
        mode=mode,
        fx=fx,
        settle_in=settle_in,
        fx_date=fx_date,
        withhold=withhold or (),
        opt_out=opt_out or (),
        caps=cap or (),
        hub=hub,
        milp_seconds=milp_seconds,
    )
    if json_out:
        print_json(plain_files.netting_document(result))
    else:
        _show(result)


@net_app.command("accept")
def accept(
    round_id: Annotated[
        str, typer.Argument(help="The netting round's id (`o2o net run`, `o2o payment list`).")
    ],
    chain_key: Annotated[
        Path,
        typer.Option(
            "--chain-key",
            help="Your operator's chain key file (OP.chain.json), kept on your side: signs the EIP-712 "
            "acceptance the evm settlement contract needs.",
        ),
    ],
    hub: Annotated[str, typer.Option("--hub", help="The hub (e.g. http://127.0.0.1:8000) that keeps it.")],
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="O2O_HUB_TOKEN", show_envvar=True, help="Your API token (signer)."),
    ] = None,
    passphrase_file: PassphraseFileOpt = None,
    passphrase_env: PassphraseEnvOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Accept a netting round on an evm hub's settlement contract: the round's EIP-712 acceptance is signed
    here with your chain key and only the signature is sent; the hub relays it to the contract."""
    from o2o.domain.errors import ValidationError
    from o2o.services import hub_client

    try:
        remote = hub_client.HubClient(hub, token)
    except ValidationError as exc:  # the hub's address or the token: say what they were given for
        raise ValidationError(f"accept netting round {round_id}: {exc}") from None
    with remote as client:
        done = hub_client.accept_round_chain(
            client, round_id, chain_key, passphrase(passphrase_file, passphrase_env)
        )
    if json_out:
        print_json(
            {"round": done.round, "operator": done.operator, "chain_address": done.address, "digest": done.digest,
             "chain_signature": done.signature, "accepted_by": list(done.accepted_by),
             "participants": list(done.participants), "hub": hub}
        )  # fmt: skip
        return
    console.print(
        f"{done.operator} accepted netting round {done.round} on {hub} with {done.address} "
        f"(accepted by {', '.join(done.accepted_by)} of {', '.join(done.participants)})",
        soft_wrap=True, highlight=False, markup=False,
    )  # fmt: skip
