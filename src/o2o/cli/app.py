"""The `o2o` Typer application: registers every command group; user mistakes print one line, exit 1."""

from __future__ import annotations

import sys

import click
import typer

from o2o.cli.output import err_console
from o2o.domain.errors import O2OError

app = typer.Typer(
    name="o2o",
    help="O2O Settle: operator-to-operator settlement (rate, reconcile, agree, sign, net, account, register).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    # Imported here so that building the app has no side effects at import time of this module.
    # foundation commands (operators, agreements, usage, generate, demo)
    # rating commands
    # reconciliation commands
    # netting commands
    # ledger commands
    # accounts commands
    # cycle commands


def main() -> None:
    _register()
    try:
        app(standalone_mode=False)
    except O2OError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        err_console.print("aborted")
        sys.exit(1)
