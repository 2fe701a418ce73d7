"""`o2o hub …`: the hub's administration from its own host (API tokens), and the group other modules
extend (the operator's client commands live in `o2o.cli.hub_client`).

A token is printed once, when made (`{"token": …}` with `--json`); the hub keeps only its SHA-256 hash.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from o2o.cli.context import workspace
from o2o.cli.output import console, print_json, print_table

hub_app = typer.Typer(
    help="The settlement hub: API tokens (and the operator's client commands).", no_args_is_help=True
)
token_app = typer.Typer(help="API tokens of the hub's users.", no_args_is_help=True)
hub_app.add_typer(token_app, name="token")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@token_app.command("create")
def token_create(
    operator: Annotated[
        str, typer.Option("--operator", help="The operator the user belongs to, or HUB for the hub's admin.")
    ],
    role: Annotated[
        str, typer.Option("--role", help="viewer, analyst, signer (an operator's) or admin (HUB).")
    ],
    expires: Annotated[
        int | None, typer.Option("--expires", help="Days until the token expires (default: never).")
    ] = None,
    user: Annotated[
        str | None,
        typer.Option("--user", help="The user's name (default: OPERATOR-ROLE, made on first use)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Make an API token for a user of OPERATOR with ROLE; the token is shown this once."""
    from o2o.services.hub_identity import create_token

    issued = create_token(workspace(), operator, role, expires, user)
    if json_out:
        print_json(issued.to_dict())
        return
    v = issued.view
    until = v.expires_at.isoformat() if v.expires_at else "never"
    console.print(f"token {v.id} for {v.user} ({v.role} of {v.operator}), expires {until}:", highlight=False)
    print(issued.token)
    console.print("keep it now: the hub stores only its hash and cannot show it again", highlight=False)


@token_app.command("list")
def token_list(
    operator: Annotated[
        str | None, typer.Option("--operator", help="Only this operator's tokens (HUB: the hub's own).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """List API tokens (never their secret): user, operator, role, state and last use."""
    from o2o.services.hub_identity import list_tokens

    views = list_tokens(workspace(), operator)
    if json_out:
        print_json([v.to_dict() for v in views])
        return
    print_table(
        "API tokens",
        ["id", "user", "operator", "role", "state", "expires", "last used"],
        (
            (v.id, v.user, v.operator, v.role, v.state,
             _when(v.expires_at) or "never", _when(v.last_used_at))
            for v in views
        ),
    )  # fmt: skip


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (`o2o hub token list`).")],
    json_out: JsonOpt = False,
) -> None:
    """Revoke a token: it authenticates no more."""
    from o2o.services.hub_identity import revoke_token

    view = revoke_token(workspace(), token_id)
    if json_out:
        print_json(view.to_dict())
    else:
        console.print(f"token {view.id} of {view.user} revoked", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(hub_app, name="hub")
