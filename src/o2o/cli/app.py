"""The `o2o` Typer application: registers every command group; user mistakes print one line, exit 1.

A fresh process registers only the modules of the command it runs (`COMMAND_MODULES`) and `o2o --version`
none, so a light command does not pay for the engines' libraries (DuckDB, Arrow, OR-Tools, HiGHS) it
never calls: benchmarks/startup_bench.py measures it. An unexpected exception (a bug, not a user's
mistake) ends `main()` with one line `internal error: …`, exit 2, and the full trace in a file it names
(`O2O_DEBUG=1` lets it propagate); `run()` lets it propagate, so in-process tests see the bug itself.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated

import typer

from o2o.domain.errors import O2OError

app = typer.Typer(
    name="o2o",
    help="O2O Settle: operator-to-operator settlement: rate, reconcile, agree, sign, net, account, register.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


_registered: list[bool] = []


def _print_version(value: bool) -> None:
    if value:
        from o2o import __version__

        print(__version__)
        raise typer.Exit()


@app.callback()
def _options(
    _version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """O2O Settle: operator-to-operator settlement: rate, reconcile, agree, sign, net, account, register."""


@app.command("version")
def version() -> None:
    """Print the version of O2O Settle."""
    from o2o import __version__

    print(__version__)


def _register() -> None:
    """Register every command module (those `COMMAND_MODULES` names, in its order)."""
    # Imported here so that building the app has no side effects at import time of this module.
    if _registered:
        return
    _registered.append(True)
    for name in dict.fromkeys(m for modules in COMMAND_MODULES.values() for m in modules):
        importlib.import_module(f"o2o.cli.{name}").register(app)


# The modules whose `register` adds each top-level command, so that `o2o usage import …` in a fresh
# process imports only what it runs (every command module pulls in heavy libraries). A name missing
# here is not registered at all: this table is the list of command modules.
# tests/unit/test_cli_lazy_registration.py checks it.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "init": ("foundation",),
    "operator": ("foundation",),
    "agreement": ("foundation",),
    "usage": ("usage",),
    "generate": ("generate",),
    "demo": ("demo",),
    "rate": ("rate", "cycle"),
    "recon": ("recon", "recon_roaming"),
    "net": ("net", "cycle"),
    "keys": ("ledger", "certificates"),
    "ledger": ("ledger",),
    "accounts": ("accounts",),
    "reconcile": ("cycle",),
    "cycle": ("cycle",),
    "statement": ("statements",),
    "dispute": ("statements",),
    "payment": ("cycle",),
    "period": ("cycle",),
    "hub": ("hub", "hub_users", "hub_client"),
    "serve": ("serve",),
    "worker": ("worker",),
    "registry": ("registry",),
    "documents": ("documents", "document_signing"),
    "roaming": ("roaming",),
}


# What this module answers alone: no command module is imported for them.
APP_ONLY = frozenset({"version", "--version"})


def _register_for(argv: list[str]) -> None:
    """Register only the modules of the command named first in `argv`, when it is a known one."""
    if _registered or not argv or (argv[0] not in COMMAND_MODULES and argv[0] not in APP_ONLY):
        return
    _registered.append(True)
    for name in COMMAND_MODULES.get(argv[0], ()):
        importlib.import_module(f"o2o.cli.{name}").register(app)


def run(argv: list[str]) -> int:
    """Run the CLI on `argv` and return the exit code; a user's mistake prints one line, no traceback."""
    _register()
    try:
        # Without standalone mode, `typer.Exit(code)` comes back as the return value.
        result = app(args=argv, prog_name="o2o", standalone_mode=False)
        if result in (None, 0) and argv:
            _publish_registrations(argv[0])
    except O2OError as exc:
        _say_error(f"[red]error:[/red] {_escape(str(exc))}")
        return 1
    except typer.TyperException as exc:
        return _usage_error(exc)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        _say_error("aborted")
        return 1
    return result if isinstance(result, int) else 0


def _publish_registrations(command: str) -> None:
    """A workspace on the anchored or evm registry carries what the command registered to the chain."""
    from o2o.services.registry_hook import publish_after_command

    publish_after_command(command)


def _usage_error(exc: typer.TyperException) -> int:
    """A mistake on the command line (unknown option, missing or mistyped value) in one line, as every error.

    Click would print the usage, a hint and the error on four lines; the usage is one `--help` away.
    `o2o` alone (or a group alone) still prints its help: that is an answer, not a mistake.
    """
    show = getattr(exc, "show", None)
    if type(exc).__name__ == "NoArgsIsHelpError" and callable(show):
        show()
        return exc.exit_code
    ctx = getattr(exc, "ctx", None)
    where = f"{ctx.command_path}: " if ctx is not None else ""
    hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
    message = " ".join(exc.format_message().split())  # a validator's message may span lines
    _say_error(f"error: {_escape(where + message + hint)}")
    return exc.exit_code


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _say_error(line: str) -> None:
    # Rich is imported on the way to an error only: `o2o --version` does not load it.
    from o2o.cli.output import err_console

    err_console.print(line, highlight=False, soft_wrap=True)


def _internal_error(exc: BaseException) -> int:
    """One line for a bug (not a user's mistake), the full trace kept in a file that the line names."""
    import tempfile
    import traceback

    fd, path = tempfile.mkstemp(prefix="o2o-trace-", suffix=".txt")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        traceback.print_exception(exc, file=out)
    what = f"{type(exc).__name__}: {exc}".splitlines()[0]
    _say_error(
        f"[red]internal error:[/red] {_escape(what)} (a bug in o2o; full trace in {path}; "
        "O2O_DEBUG=1 shows it here)"
    )
    return 2


def main() -> None:
    argv = sys.argv[1:]
    _register_for(argv)
    try:
        code = run(argv)
    except KeyboardInterrupt:
        _say_error("interrupted")
        code = 130
    except Exception as exc:  # the last resort: a bug still gets one line, its trace a file
        if os.environ.get("O2O_DEBUG", "") not in ("", "0"):
            raise
        code = _internal_error(exc)
    sys.exit(code)


if __name__ == "__main__":  # `python -X importtime -m o2o.cli.app --version` profiles the start-up
    main()
