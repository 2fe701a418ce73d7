"""`o2o hub user …`: hub users who sign in to the portal with a password (kept only as an Argon2id hash).
The password is read from a file (never from the command line, where other users of the host would see it)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from o2o.cli.context import workspace
from o2o.cli.hub import JsonOpt, hub_app
from o2o.cli.output import print_json, print_table
from o2o.domain.errors import ValidationError

user_app = typer.Typer(help="Hub users who sign in to the portal with a password.", no_args_is_help=True)


def _password(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"--password-file {path}: cannot read it ({exc})") from None
    return text.rstrip("\r\n")


@user_app.command("create")
def user_create(
    operator: Annotated[
        str, typer.Option("--operator", help="The operator the user belongs to, or HUB for the hub's admin.")
    ],
    role: Annotated[
        str, typer.Option("--role", help="viewer, analyst, signer (an operator's) or admin (HUB).")
    ],
    name: Annotated[str, typer.Option("--name", help="The user's sign-in name.")],
    password_file: Annotated[
        Path, typer.Option("--password-file", help="A file holding the password (its last newline dropped).")
    ],
    json_out: JsonOpt = False,
) -> None:
    """Make a portal user (or give an existing one a new password)."""
    from o2o.services.portal_sign_in import create_user

    made = create_user(workspace(), operator, role, name, _password(password_file))
    if json_out:
        print_json(made)
        return
    print(f"user {made['user']} ({made['role']} of {made['operator']}) signs in with that password")


@user_app.command("list")
def user_list(json_out: JsonOpt = False) -> None:
    """Every hub user: operator, role, whether it has a password."""
    from o2o.services.portal_sign_in import users

    found = users(workspace())
    if json_out:
        print_json(found)
        return
    cols = ("user", "operator", "role", "password", "state")
    print_table("hub users", cols, ([u[c] for c in cols] for u in found))


@user_app.command("disable")
def user_disable(
    name: Annotated[str, typer.Option("--name", help="The user's sign-in name.")], json_out: JsonOpt = False
) -> None:
    """Disable a hub user: its password, tokens and open sessions sign in no more."""
    from o2o.services.portal_sign_in import disable_user_named

    done = disable_user_named(workspace(), name)
    if json_out:
        print_json(done)
        return
    print(f"user {done['user']} disabled")


@user_app.command("enable")
def user_enable(
    name: Annotated[str, typer.Option("--name", help="The user's sign-in name.")], json_out: JsonOpt = False
) -> None:
    """Enable a disabled hub user again: its password signs in; the tokens it had stay revoked."""
    from o2o.services.portal_sign_in import enable_user_named, enabled_message

    done = enable_user_named(workspace(), name)
    if json_out:
        print_json(done)
        return
    print(enabled_message(done))


def register(app: typer.Typer) -> None:
    hub_app.add_typer(user_app, name="user")
