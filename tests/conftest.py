"""Shared fixtures: a workspace per test, the CLI run in-process, and store URLs for SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh O2O_HOME (SQLite + lake) for one test."""
    home = tmp_path / "o2o-data"
    monkeypatch.setenv("O2O_HOME", str(home))
    monkeypatch.delenv("O2O_DATABASE_URL", raising=False)
    yield home


@pytest.fixture
def cli(workspace: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    """Run `o2o ARGS…` in-process, as a user would, and return its exit code and output."""
    from o2o.cli.app import run

    def invoke(*args: str | Path) -> CliResult:
        capsys.readouterr()
        code = run([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke
