"""`o2o` in a fresh process registers only the modules of the command it runs; `o2o --help` lists them all."""

from __future__ import annotations

import subprocess
import sys

from o2o.cli.app import COMMAND_MODULES

O2O = [sys.executable, "-c", "from o2o.cli.app import main; main()"]


def test_a_fresh_process_registers_only_what_the_command_needs() -> None:
    code = (
        "import sys; from o2o.cli import app; app._register_for(['net', '--help']); "
        "names = sorted(g.name for g in app.app.registered_groups); "
        "print(names, 'o2o.cli.usage' in sys.modules, 'o2o.cli.cycle' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split("]")[1].split() == ["False", "True"]
    help_out = subprocess.run(
        [*O2O, "net", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "solve" in help_out and "run" in help_out


def test_help_without_a_command_lists_every_command() -> None:
    out = subprocess.run([*O2O, "--help"], capture_output=True, text=True, check=True).stdout
    for name in [*COMMAND_MODULES, "version"]:
        assert f" {name} " in out, name
