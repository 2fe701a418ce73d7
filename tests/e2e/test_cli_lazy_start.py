"""`o2o` in a fresh process registers only the modules of the command it runs; `o2o --help` lists them all;
`o2o --version` and the light commands do not import the engines' libraries (checked on `sys.modules`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


ENGINE_LIBRARIES = ("duckdb", "pyarrow", "numpy", "ortools", "highspy")
# Runs `o2o ARGS…` as the entry point does, then prints which of the named modules it imported.
LOADED = (
    "import json, sys\n"
    "from o2o.cli.app import main\n"
    "sys.argv = ['o2o', *json.loads(sys.argv[1])]\n"
    "try:\n"
    "    main()\n"
    "except SystemExit as exc:\n"
    "    code = exc.code\n"
    "names = {names!r}\n"
    "print(json.dumps({{'code': code, 'loaded': [n for n in names if n in sys.modules]}}), file=sys.stderr)\n"
)


def _loaded(args: list[str], names: tuple[str, ...]) -> tuple[str, dict[str, object]]:
    """`o2o ARGS…` in a fresh process: its stdout and {exit code, which of `names` were imported}."""
    proc = subprocess.run(
        [sys.executable, "-c", LOADED.format(names=list(names)), json.dumps(args)],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout, json.loads(proc.stderr.strip().splitlines()[-1])


def test_version_imports_no_engine_and_no_database_library() -> None:
    from o2o import __version__

    out, report = _loaded(["--version"], (*ENGINE_LIBRARIES, "sqlalchemy", "pydantic", "rich"))
    assert out.strip() == __version__
    assert report == {"code": 0, "loaded": []}


def test_light_commands_and_help_import_no_engine(workspace: Path) -> None:
    """Listing and status commands read the database only: DuckDB, Arrow, NumPy, OR-Tools and HiGHS
    load in the commands that compute (`o2o --help` registers every command, and imports none either)."""
    for args in (["operator", "list"], ["cycle", "status"], ["payment", "list"], ["--help"]):
        _, report = _loaded(args, ENGINE_LIBRARIES)
        assert report == {"code": 0, "loaded": []}, args
