"""The `o2o` Typer application: registers every command group; user mistakes print one line, exit 1."""

from __future__ import annotations

import importlib
import sys

import typer
from rich.markup import escape

from o2o.cli.output import err_console
from o2o.domain.errors import O2OError

app = typer.Typer(
    name="o2o",
    help="O2O Settle: operator-to-operator settlement: rate, reconcile, agree, sign, net, account, register.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


_registered: list[bool] = []


@app.command("version")
def version() -> None:
    """Print the version of O2O Settle."""
    from o2o import __version__

    print(__version__)


def _register() -> None:
    # Imported here so that building the app has no side effects at import time of this module.
    if _registered:
        return
    _registered.append(True)
    # foundation commands (operators, agreements, usage, generate, demo)
    from o2o.cli import generate

    generate.register(app)
    from o2o.cli import foundation, usage

    foundation.register(app)
    usage.register(app)
    # rating commands
    from o2o.cli import rate

    rate.register(app)
    # reconciliation commands
    from o2o.cli import recon

    recon.register(app)
    # netting commands
    from o2o.cli import net

    net.register(app)
    # ledger commands
    from o2o.cli import ledger

    ledger.register(app)
    # accounts commands
    from o2o.cli import accounts

    accounts.register(app)
    # cycle commands
    from o2o.cli import cycle

    cycle.register(app)
    from o2o.cli import demo

    demo.register(app)


# The modules whose `register` adds each top-level command, so that `o2o usage import …` in a fresh
# process imports only what it runs (every command module pulls in heavy libraries). A name missing
# here still works: the whole app is registered. tests/unit/test_cli_lazy_registration.py checks it.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "init": ("foundation",),
    "operator": ("foundation",),
    "agreement": ("foundation",),
    "usage": ("usage",),
    "generate": ("generate",),
    "demo": ("demo",),
    "rate": ("rate",),
    "recon": ("recon",),
    "net": ("net", "cycle"),
    "keys": ("ledger",),
    "ledger": ("ledger",),
    "accounts": ("accounts",),
    "reconcile": ("cycle",),
    "cycle": ("cycle",),
    "statement": ("cycle",),
    "dispute": ("cycle",),
    "payment": ("cycle",),
    "period": ("cycle",),
}


def _register_for(argv: list[str]) -> None:
    """Register only the modules of the command named first in `argv`, when it is a known one."""
    if _registered or not argv or argv[0] not in COMMAND_MODULES:
        return
    _registered.append(True)
    for name in COMMAND_MODULES[argv[0]]:
        importlib.import_module(f"o2o.cli.{name}").register(app)


def run(argv: list[str]) -> int:
    """Run the CLI on `argv` and return the exit code; a user's mistake prints one line, no traceback."""
    _register()
    try:
        # Without standalone mode, `typer.Exit(code)` comes back as the return value.
        result = app(args=argv, prog_name="o2o", standalone_mode=False)
    except O2OError as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return 1
    except typer.TyperException as exc:
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err_console.print(f"error: {escape(exc.format_message())}", highlight=False)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err_console.print("aborted")
        return 1
    return result if isinstance(result, int) else 0


def main() -> None:
    argv = sys.argv[1:]
    _register_for(argv)
    sys.exit(run(argv))
