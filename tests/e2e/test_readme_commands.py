"""The commands the README's cycle needed, through the CLI on SQLite and PostgreSQL: `usage import-dir`
(a folder matched to declarations by name), `statement list`, and `accounts extract` (one party's books in
the format `accounts reconcile --with` reads)."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def network(db_cli: Any, tmp_path: Path) -> tuple[Any, Path, dict[str, Any]]:
    """A generated two-operator network with its operators, agreement and keys loaded; nothing declared."""
    net = tmp_path / "net"
    r = db_cli("generate", "--operators", "2", "--cdrs", "3000", "--seed", "5", "--out", net, "--json")
    assert r.code == 0, r.err
    truth = json.loads((net / "truth.json").read_text())
    assert db_cli("operator", "add", "--file", net / "operators.toml").code == 0
    for ag in truth["agreements"]:
        assert db_cli("agreement", "load", net / ag["file"]).code == 0
    for op in ["HUB", *truth["operators"]]:
        assert db_cli("keys", "generate", op).code == 0
    return db_cli, net, truth


def test_import_dir_declares_every_file_by_its_name(network: tuple[Any, Path, dict[str, Any]]) -> None:
    cli, net, truth = network
    r = cli("usage", "import-dir", net / "usage", "--period", "2026-10", "--json")
    assert r.code == 0, r.err
    rows = r.json()
    expected = {(f["agreement"], f["service"], f["declarer"], f["rows"]) for f in truth["files"]}
    assert {(x["agreement"], x["service"], x["declarer"], x["rows"]) for x in rows} == expected
    assert all(not x["already_imported"] for x in rows)
    listed = cli("usage", "list", "--period", "2026-10", "--json").json()
    assert sorted(x["id"] for x in listed) == sorted(x["id"] for x in rows)
    # The same folder again: every file is the one already declared (same sha256), nothing is replaced.
    again = cli("usage", "import-dir", net / "usage", "--period", "2026-10", "--json").json()
    assert all(x["already_imported"] for x in again)
    assert len(cli("usage", "list", "--period", "2026-10", "--history", "--json").json()) == len(rows)
    said = cli("usage", "import-dir", net / "usage", "--period", "2026-10").out.splitlines()
    n = len(rows)
    assert said[-1] == f"{n} file(s) of {net / 'usage'} for 2026-10: 0 imported, {n} already imported"


def test_import_dir_takes_one_declarers_files(network: tuple[Any, Path, dict[str, Any]]) -> None:
    cli, net, truth = network
    who = truth["operators"][1]
    r = cli("usage", "import-dir", net / "usage", "--period", "2026-10", "--declarer", who, "--json")
    assert r.code == 0, r.err
    assert {x["declarer"] for x in r.json()} == {who}
    assert len(r.json()) == sum(1 for f in truth["files"] if f["declarer"] == who)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("ALFA-BRAVO/voice-ALFA-BRAVO.csv", "not named SERVICE.DECLARER.csv"),
        ("ALFA-BRAVO/voice-ALFA-BRAVO.ZULU.csv", "ZULU is not a party to agreement ALFA-BRAVO"),
        ("ALFA-BRAVO/fax-ALFA-BRAVO.ALFA.csv", "agreement ALFA-BRAVO has no service fax-ALFA-BRAVO"),
        ("ALFA-ZULU/voice-ALFA-BRAVO.ALFA.csv", "no agreement ALFA-ZULU is loaded"),
        ("voice-ALFA-BRAVO.ALFA.csv", "not in an agreement's folder"),
    ],
)
def test_import_dir_refuses_a_name_that_matches_nothing_before_importing_any(
    network: tuple[Any, Path, dict[str, Any]], name: str, why: str
) -> None:
    cli, net, _ = network
    stray = net / "usage" / name
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_text((net / "usage" / "ALFA-BRAVO" / "voice-ALFA-BRAVO.ALFA.csv").read_text())
    r = cli("usage", "import-dir", net / "usage", "--period", "2026-10")
    assert r.code == 1
    assert f"{stray}: {why}" in r.err and len(r.err.strip().splitlines()) == 1
    assert "Traceback" not in r.err
    assert cli("usage", "list", "--json").json() == []


def test_import_dir_refuses_a_bad_period_and_a_missing_folder(
    network: tuple[Any, Path, dict[str, Any]],
) -> None:
    cli, net, _ = network
    r = cli("usage", "import-dir", net / "usage", "--period", "2026-13")
    assert r.code == 1 and "2026-13" in r.err
    r = cli("usage", "import-dir", net / "nowhere", "--period", "2026-10")
    assert r.code == 1 and "nowhere: no such folder" in r.err
    r = cli("usage", "import-dir", net / "agreements", "--period", "2026-10")
    assert r.code == 1 and "not in an agreement's folder" in r.err
    assert cli("usage", "list", "--json").json() == []


def _signed(cli: Any, net: Path, truth: dict[str, Any]) -> str:
    """Declare, reconcile, resolve the disputes and have both parties sign; the statement's id."""
    assert cli("usage", "import-dir", net / "usage", "--period", "2026-10").code == 0
    (report,) = cli("reconcile", "--period", "2026-10", "--json").json()
    provider, customer = truth["agreements"][0]["parties"]
    for d in report["disputes"]:
        assert cli("dispute", "propose", d, "--as", customer, "--split").code == 0
        assert cli("dispute", "accept", d, "--as", provider).code == 0
    for op in (provider, customer):
        assert cli("statement", "sign", report["statement"], "--as", op).code == 0
    return str(report["statement"])


def test_statement_list_shows_state_currency_digest_and_signatures(
    network: tuple[Any, Path, dict[str, Any]],
) -> None:
    cli, net, truth = network
    assert cli("statement", "list", "--json").json() == []
    assert cli("usage", "import-dir", net / "usage", "--period", "2026-10").code == 0
    (report,) = cli("reconcile", "--period", "2026-10", "--json").json()
    (row,) = cli("statement", "list", "--period", "2026-10", "--json").json()
    shown = cli("statement", "show", report["statement"], "--json").json()
    assert row["id"] == report["statement"] and row["state"] == report["state"] == shown["state"]
    assert (row["currency"], row["digest"]) == (shown["currency"], shown["digest"])
    assert row["signatures"] == [] and row["disputes"] == report["disputes"]
    provider = truth["agreements"][0]["parties"][0]
    assert cli("statement", "sign", row["id"], "--as", provider).code == 0
    table = cli("statement", "list")
    assert row["digest"][:12] in table.out and f"│ {provider} " in table.out
    assert cli("statement", "list", "--state", "signed", "--json").json() == []
    assert cli("statement", "list", "--period", "2026-11", "--json").json() == []
    r = cli("statement", "list", "--state", "sigend")
    assert r.code == 1 and "'sigend' is not one of: agreed, disputed, signed" in r.err


def test_statement_list_of_signed_statements(network: tuple[Any, Path, dict[str, Any]]) -> None:
    cli, net, truth = network
    st = _signed(cli, net, truth)
    (row,) = cli("statement", "list", "--state", "signed", "--json").json()
    assert row["id"] == st and row["signatures"] == truth["agreements"][0]["parties"]


def test_accounts_extract_is_what_the_partner_reconciles_with(
    network: tuple[Any, Path, dict[str, Any]], tmp_path: Path
) -> None:
    cli, net, truth = network
    _signed(cli, net, truth)
    a, b = truth["agreements"][0]["parties"]
    out = tmp_path / "b-extract.csv"
    r = cli(
        "accounts", "extract", "--operator", b, "--counterparty", a, "--as-of", "2026-11-30", "--out", out
    )
    assert r.code == 0, r.err
    with out.open(newline="") as fh:
        lines = list(csv.DictReader(fh))
    assert lines and list(lines[0]) == ["date", "document", "description", "debit", "credit", "currency"]
    # From B's side: what B provided to A is a debit (A owes B), what A provided to B a credit.
    for x in lines:
        provided_by_b = f"provided by {b} to {a}" in x["description"]
        assert (x["debit"] != "") == provided_by_b and (x["credit"] != "") != provided_by_b
    # The extract adds up to B's balance with A on that day (+ A owes B).
    (balance,) = [x for x in cli("accounts", "balances", "--operator", b, "--as-of", "2026-11-30", "--json").json()
                  if x["counterparty"] == a]  # fmt: skip
    net = sum((Decimal(x["debit"] or 0) - Decimal(x["credit"] or 0) for x in lines), Decimal(0))
    assert net == Decimal(balance["balance"]) != 0
    rec = cli("accounts", "reconcile", "--operator", a, "--counterparty", b, "--with", out,
              "--as-of", "2026-11-30", "--json").json()  # fmt: skip
    assert rec["agreed"] is True
    assert sum(c["matched"] for c in rec["currencies"]) == len(lines)


def test_accounts_extract_as_of_a_date_before_the_books(
    network: tuple[Any, Path, dict[str, Any]], tmp_path: Path
) -> None:
    cli, net, truth = network
    _signed(cli, net, truth)
    a, b = truth["agreements"][0]["parties"]
    out = tmp_path / "early.csv"
    r = cli(
        "accounts", "extract", "--operator", b, "--counterparty", a, "--as-of", "2026-10-31", "--out", out
    )
    assert r.code == 0, r.err
    assert out.read_text().splitlines() == ["date,document,description,debit,credit,currency"]
    rec = cli("accounts", "reconcile", "--operator", a, "--counterparty", b, "--with", out,
              "--as-of", "2026-11-30", "--json").json()  # fmt: skip
    assert rec["agreed"] is False


def test_accounts_extract_refuses_unknown_parties_and_bad_dates(
    network: tuple[Any, Path, dict[str, Any]], tmp_path: Path
) -> None:
    cli, _, truth = network
    a = truth["operators"][0]
    out = tmp_path / "x.csv"
    r = cli("accounts", "extract", "--operator", "ZULU", "--counterparty", a, "--out", out)
    assert r.code == 1 and "ZULU" in r.err
    r = cli("accounts", "extract", "--operator", a, "--counterparty", a, "--out", out)
    assert r.code == 1 and "with itself" in r.err
    r = cli(
        "accounts",
        "extract",
        "--operator",
        a,
        "--counterparty",
        "ZULU",
        "--as-of",
        "31/11/2026",
        "--out",
        out,
    )
    assert r.code == 1 and "--as-of" in r.err
    assert not out.exists()
