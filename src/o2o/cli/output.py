"""Rendering for commands: JSON (`--json`, decimals as strings) or Rich tables, and one-line errors."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot render {type(value).__name__} as JSON")


def to_json(data: Any) -> str:
    return json.dumps(data, default=_default, indent=2, ensure_ascii=False)


def print_json(data: Any) -> None:
    # Plain print: Rich would wrap long lines and break the JSON for a pipe.
    print(to_json(data))


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    tbl = Table(title=title, show_lines=False)
    for col in columns:
        tbl.add_column(col, overflow="fold")
    for row in rows:
        tbl.add_row(*("" if v is None else str(v) for v in row))
    return tbl


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    console.print(table(title, columns, rows))
