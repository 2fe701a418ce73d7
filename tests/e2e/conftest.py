"""A small bilateral network loaded through the CLI: operators ALFA (UK, +44) and BETA (DE, +49)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from network_toml import AGREEMENT, OPERATORS


@pytest.fixture
def network(tmp_path: Path) -> Path:
    folder = tmp_path / "network"
    folder.mkdir()
    (folder / "operators.toml").write_text(OPERATORS, encoding="utf-8")
    (folder / "AG-ALFA-BETA.toml").write_text(AGREEMENT, encoding="utf-8")
    return folder


@pytest.fixture
def loaded(db_cli: Any, network: Path) -> Any:
    """`db_cli` with the network's operators and agreement loaded (on SQLite and PostgreSQL)."""
    assert db_cli("operator", "add", "--file", network / "operators.toml").code == 0
    assert db_cli("agreement", "load", network / "AG-ALFA-BETA.toml").code == 0
    return db_cli
