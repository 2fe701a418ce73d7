"""No silent empty answer: a filter or an argument that cannot match (a period that is not a month, an
unknown state or round, a date that is not a date) and a command with nothing to do answer with one line
naming what is wrong and a non-zero exit, never an empty table with exit 0 and never a traceback.

Run through the CLI in-process on SQLite and PostgreSQL (`loaded`: two operators and an agreement), and
once through the installed `o2o` entry point; plus the last resort for a bug: one line, exit 2.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# (arguments, the offending value the one line must name)
BAD_INVOCATIONS: list[tuple[tuple[str, ...], str]] = [
    (("cycle", "status", "--period", "2026-13"), "2026-13"),
    (("cycle", "status", "--period", "notaperiod"), "notaperiod"),
    (("usage", "list", "--period", "2026-13"), "2026-13"),
    (("usage", "list", "--agreement", "AG-NOPE"), "AG-NOPE"),
    (("reconcile", "--period", "notaperiod"), "notaperiod"),
    (("reconcile", "--period", "2026-01"), "2026-01"),
    (("rate", "--agreement", "AG-ALFA-BETA", "--period", "2026-13"), "2026-13"),
    (("net", "run", "--period", "2026-13"), "2026-13"),
    (("period", "open", "notaperiod"), "notaperiod"),
    (("period", "close", "2026-13"), "2026-13"),
    (("dispute", "list", "--state", "bogus"), "bogus"),
    (("dispute", "escalate", "--as-of", "notadate"), "notadate"),
    (("dispute", "escalate", "--as-of", "2026-02-30"), "2026-02-30"),
    (("payment", "list", "--round", "RND-2026-01-nope"), "RND-2026-01-nope"),
    (("payment", "list", "--status", "paid-maybe"), "paid-maybe"),
    (("accounts", "balances", "--as-of", "notadate"), "notadate"),
    (("accounts", "ageing", "--as-of", "2026-13-01"), "2026-13-01"),
]


def test_bad_filters_and_arguments_answer_one_line_and_fail(loaded: Any) -> None:
    problems = []
    for args, value in BAD_INVOCATIONS:
        r = loaded(*args)
        lines = r.err.strip().splitlines()
        if r.code == 0 or len(lines) != 1 or value not in r.err or "Traceback" in r.out + r.err:
            problems.append(f"o2o {' '.join(args)} → exit {r.code}, stderr {r.err!r}, stdout {r.out[:200]!r}")
    assert not problems, "\n".join(problems)


def test_reconcile_with_nothing_declared_says_which_cycles_wait(loaded: Any) -> None:
    r = loaded("reconcile", "--period", "2026-01")
    assert r.code == 1 and "nothing to reconcile" in r.err and "no usage is declared" in r.err, r.err
    assert loaded("period", "open", "2026-01").code == 0
    r = loaded("reconcile", "--period", "2026-01")
    assert r.code == 1, r.err
    assert "no cycle is declared (AG-ALFA-BETA/2026-01 is open)" in r.err, r.err


def test_valid_filters_still_answer(loaded: Any) -> None:
    """The checks refuse only what cannot match: a known state in any case, a padded period."""
    assert loaded("period", "open", "2026-01").code == 0
    r = loaded("cycle", "status", "--period", " 2026-01 ", "--json")
    assert r.code == 0 and [c["cycle"] for c in r.json()] == ["AG-ALFA-BETA/2026-01"], r.err
    for args in (("dispute", "list", "--state", "Open"), ("payment", "list", "--status", "pending")):
        r = loaded(*args, "--json")
        assert r.code == 0 and r.json() == [], (args, r.err)


def test_a_bad_date_through_the_installed_entry_point(db_workspace: Path) -> None:
    """The `o2o` console script itself: one line on stderr, exit 1, no traceback (was a ValueError's)."""
    o2o = Path(sys.executable).with_name("o2o")
    assert o2o.exists(), o2o
    r = subprocess.run(
        [o2o, "dispute", "escalate", "--as-of", "notadate"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip() == "error: --as-of 'notadate' is not a date YYYY-MM-DD"
    assert "Traceback" not in r.stdout + r.stderr


def _bug(*_: Any, **__: Any) -> Any:
    raise RuntimeError("boom: a bug, not a user's mistake")


def test_a_bug_ends_in_one_line_with_the_trace_in_a_file(
    db_workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from o2o.cli import app
    from o2o.services import settlement

    app._register()  # the whole app, as the other in-process tests expect after this one
    monkeypatch.setattr(settlement, "cycle_status", _bug)
    monkeypatch.setattr(sys, "argv", ["o2o", "cycle", "status"])
    monkeypatch.delenv("O2O_DEBUG", raising=False)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        app.main()
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    (line,) = err.strip().splitlines()
    assert line.startswith("internal error: RuntimeError: boom: a bug, not a user's mistake"), line
    assert "O2O_DEBUG=1" in line and "Traceback" not in err
    trace = Path(line.split("full trace in ")[1].split(";")[0])
    try:
        assert "Traceback" in trace.read_text() and "_bug" in trace.read_text()
    finally:
        trace.unlink()

    # O2O_DEBUG=1: the bug itself propagates (and in-process `run()` never hides it).
    monkeypatch.setenv("O2O_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        app.main()
    with pytest.raises(RuntimeError, match="boom"):
        app.run(["cycle", "status"])
