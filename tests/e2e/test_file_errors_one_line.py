"""A bad field in a file a user writes (agreement TOML, its rate deck CSV, the operators TOML) or in the
environment (O2O_DATABASE_URL) is one line naming the file, the line and the field: never pydantic's
several lines with a URL, never a traceback. Through the CLI in-process, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

AGREEMENT = textwrap.dedent(
    """\
    id = "AG-ALFA-BETA"
    currency = "EUR"
    valid_from = 2026-01-01

    [[parties]]
    operator = "ALFA"
    country_code = "44"

    [[parties]]
    operator = "BETA"
    country_code = "4x9"

    [[services]]
    id = "voice-ALFA"
    kind = "voice"
    provider = "ALFA"
    customer = "BETA"
    increments = { first = 60, next = 0 }
    destinations = [{ prefix = "44", name = "UK" }]
    rates = [
      { destination = "UK", price = "0.0100", valid_from = 2026-01-01 },
      { destination = "UK", price = "0.0100001", valid_from = 2026-02-01 },
    ]
    """
)

DECK_AGREEMENT = textwrap.dedent(
    """\
    id = "AG-DECK"
    currency = "EUR"
    valid_from = 2026-01-01
    parties = [{ operator = "ALFA", country_code = "44" }, { operator = "BETA", country_code = "49" }]

    [[services]]
    id = "voice-ALFA"
    kind = "voice"
    provider = "ALFA"
    customer = "BETA"
    rate_deck = "deck.csv"
    """
)

OPERATORS = textwrap.dedent(
    """\
    [[operators]]
    id = "ALFA"
    name = "Alfa Telecom plc"
    currency = "GBP"
    country_code = "44"

    [[operators]]
    id = "BETA"
    name = "Beta Netz GmbH"
    currency = "EUX"
    country_code = "49"
    """
)


def _one_line(r: Any) -> str:
    lines = r.err.strip().splitlines()
    assert r.code == 1 and len(lines) == 1, (r.code, r.err)
    assert "Traceback" not in r.err and "pydantic.dev" not in r.err and "internal error" not in r.err, r.err
    return str(lines[0])


def test_a_bad_agreement_names_each_fields_line(loaded: Any, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(AGREEMENT, encoding="utf-8")
    line = _one_line(loaded("agreement", "load", path))
    assert line.startswith(f"error: {path}: "), line
    assert "line 11: parties[1].country_code: digits only" in line, line
    assert "line 18: services[0].increments.next: Input should be greater than or equal to 1" in line, line
    assert "line 22: services[0].rates[1].price: at most 6 decimals" in line, line
    assert loaded("agreement", "show", "AG-ALFA-BETA").code == 0  # the loaded one is untouched


def test_a_deck_price_with_seven_decimals_names_the_deck_line_and_field(loaded: Any, tmp_path: Path) -> None:
    (tmp_path / "deck.toml").write_text(DECK_AGREEMENT, encoding="utf-8")
    deck = tmp_path / "deck.csv"
    deck.write_text(
        "prefix,destination,price,valid_from\n44,UK,0.01,2026-01-01\n4420,UK fixed,0.1234567,2026-01-01\n"
    )
    line = _one_line(loaded("agreement", "load", tmp_path / "deck.toml"))
    assert line == f"error: {deck}: line 3: price: at most 6 decimals", line
    assert loaded("agreement", "show", "AG-DECK").code == 1


def test_a_bad_operators_file_names_the_line(db_cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "operators.toml"
    path.write_text(OPERATORS, encoding="utf-8")
    line = _one_line(db_cli("operator", "add", "--file", path))
    assert line == f"error: {path}: line 10: operators[1].currency: unknown currency 'EUX'", line
    assert db_cli("operator", "show", "ALFA").code == 1  # nothing half-written


def test_a_database_url_of_no_known_store_is_one_line(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("O2O_DATABASE_URL", "nonsense://somewhere/db")
    line = _one_line(cli("operator", "list"))
    assert line.startswith("error: environment: O2O_DATABASE_URL: nonsense:// is not a database"), line


def test_a_database_that_cannot_be_opened_is_one_line(
    cli: Any, store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SQLite file in a folder that is not there; a PostgreSQL database that does not exist."""
    from sqlalchemy.engine import make_url

    url = make_url(store_url)
    if url.get_backend_name() == "sqlite":
        missing = url.set(database=str(tmp_path / "no-such-folder" / "o2o.sqlite"))
    else:
        missing = url.set(database=f"{url.database}_missing", password="s3cret")
    monkeypatch.setenv("O2O_DATABASE_URL", missing.render_as_string(hide_password=False))
    line = _one_line(cli("operator", "list"))
    assert line.startswith(f"error: O2O_DATABASE_URL: cannot open {url.drivername}://"), line
    assert str(missing.database) in line and "s3cret" not in line, line
