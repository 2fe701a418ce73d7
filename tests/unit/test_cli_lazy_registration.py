"""The map of top-level commands to the modules that register them (used by `o2o` in a fresh process)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any

import typer

from o2o.cli import app as cli_app


def _full_app() -> typer.Typer:
    cli_app._register()
    return cli_app.app


def _callbacks(typer_app: typer.Typer) -> Iterator[Callable[..., Any]]:
    """Every command and group callback of `typer_app`, nested groups included."""
    # A group's own callback (`o2o rate --agreement …`) may come from another module than its commands.
    info = typer_app.registered_callback
    if info is not None and info.callback is not None:
        yield info.callback
    for command in typer_app.registered_commands:
        if command.callback is not None:
            yield command.callback
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            yield from _callbacks(group.typer_instance)


def _top_level() -> dict[str, list[Callable[..., Any]]]:
    full = _full_app()
    found: dict[str, list[Callable[..., Any]]] = {}
    for command in full.registered_commands:
        name = command.name or (command.callback.__name__ if command.callback else "")
        found.setdefault(name, []).extend([command.callback] if command.callback else [])
    for group in full.registered_groups:
        assert group.name and group.typer_instance is not None
        found.setdefault(group.name, []).extend(_callbacks(group.typer_instance))
    return found


def test_every_mapped_name_is_a_command_of_the_full_app() -> None:
    names = _top_level()
    assert set(cli_app.COMMAND_MODULES) <= set(names)


def test_the_mapped_modules_hold_every_command_under_that_name() -> None:
    """A command that another module adds to a group (as `net run`) makes that module part of the entry."""
    for name, callbacks in _top_level().items():
        if name not in cli_app.COMMAND_MODULES:
            continue
        modules = [importlib.import_module(f"o2o.cli.{m}") for m in cli_app.COMMAND_MODULES[name]]
        for callback in callbacks:
            held = any(vars(m).get(callback.__name__) is callback for m in modules)
            assert held, (
                f"{name}: {callback.__module__}.{callback.__name__} not in {cli_app.COMMAND_MODULES[name]}"
            )
