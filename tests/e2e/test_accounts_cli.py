"""The accounts commands end to end, on SQLite and PostgreSQL: post, statement, reconcile, ageing."""

from __future__ import annotations

import csv
import textwrap
from pathlib import Path
from typing import Any

import pytest

OPENING = (
    "creditor,debtor,amount,currency,date,due_date,document\n"
    "ALFA,BETA,1000.00,EUR,2025-12-31,2026-01-15,OB-2025\n"
)


@pytest.fixture
def books(db_cli: Any, network: Path, tmp_path: Path) -> Any:
    assert db_cli("operator", "add", "--file", network / "operators.toml").code == 0
    (tmp_path / "opening.csv").write_text(OPENING)
    r = db_cli("accounts", "opening", tmp_path / "opening.csv", "--json")
    assert r.code == 0, r.err
    common = ["--currency", "EUR", "--actor", "HUB", "--json"]
    r = db_cli(
        "accounts",
        "post",
        "adjustment",
        "--dispute",
        "D-9",
        "--provider",
        "ALFA",
        "--customer",
        "BETA",
        "--amount",
        "250.50",
        "--date",
        "2026-02-10",
        *common,
    )
    assert r.code == 0, r.err
    r = db_cli(
        "accounts",
        "post",
        "payment",
        "--id",
        "PAY-77",
        "--payer",
        "BETA",
        "--payee",
        "ALFA",
        "--amount",
        "600",
        "--date",
        "2026-03-31",
        *common,
    )
    assert r.code == 0, r.err
    return db_cli


def test_statement_of_account_in_json_csv_and_xlsx(books: Any, tmp_path: Path) -> None:
    r = books(
        "accounts",
        "statement",
        "--between",
        "BETA",
        "ALFA",
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
        "--json",
    )
    assert r.code == 0, r.err
    (sec,) = r.json()["sections"]
    assert sec["opening"]["BETA"] == {"debit": "0.00", "credit": "1000.00"}
    assert [(ln["document"], ln["BETA"]["debit"], ln["BETA"]["credit"]) for ln in sec["lines"]] == [
        ("D-9", "0.00", "250.50"),
        ("PAY-77", "600.00", "0.00"),
    ]
    assert sec["closing"]["BETA"] == {"debit": "0.00", "credit": "650.50"}
    assert sec["closing_balance"] == "BETA owes ALFA 650.50 EUR"
    out_csv, out_xlsx = tmp_path / "st.csv", tmp_path / "st.xlsx"
    r = books(
        "accounts",
        "statement",
        "--between",
        "ALFA",
        "BETA",
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
        "--csv",
        out_csv,
        "--xlsx",
        out_xlsx,
    )
    assert r.code == 0, r.err
    rows = list(csv.reader(out_csv.read_text(encoding="utf-8").splitlines()))
    assert rows[-1][3:] == ["closing", "closing balance", "650.50", "0.00", "0.00", "650.50"]
    from openpyxl import load_workbook

    wb = load_workbook(out_xlsx, read_only=True)
    values = [list(row) for row in wb.active.iter_rows(values_only=True)]
    wb.close()
    assert [
        "EUR",
        "2026-12-31",
        None,
        "closing",
        "closing balance",
        "650.50",
        "0.00",
        "0.00",
        "650.50",
    ] in values


def test_balances_ageing_and_reversal(books: Any) -> None:
    r = books("accounts", "balances", "--as-of", "2026-02-28", "--json")
    assert r.code == 0, r.err
    assert {(b["owner"], b["balance"], b["side"]) for b in r.json()} == {
        ("ALFA", "1250.50", "debit"),
        ("BETA", "-1250.50", "credit"),
    }
    r = books("accounts", "ageing", "--as-of", "2026-04-30", "--operator", "BETA", "--json")
    assert r.code == 0, r.err
    (row,) = r.json()["rows"]
    assert row["side"] == "payable" and row["counterparty"] == "ALFA"
    # 600 paid goes to the opening balance (due 15 January) first: 400 of it is 105 days past due;
    # the debit note (no due date: due on 10 February, its value date) is 79 days past due.
    assert row["total"] == "650.50"
    assert row["buckets"] == {
        "not_due": "0.00",
        "1-30": "0.00",
        "31-60": "0.00",
        "61-90": "250.50",
        "over_90": "400.00",
    }
    r = books("accounts", "reverse", "3", "--reason", "paid twice", "--actor", "HUB", "--json")
    assert r.code == 0, r.err
    assert r.json()[0]["reverses"] == 3
    r = books("accounts", "balances", "--as-of", "2026-12-31", "--operator", "ALFA", "--json")
    assert [b["balance"] for b in r.json()] == ["1250.50"]
    r = books("accounts", "reverse", "3", "--reason", "again", "--actor", "HUB")
    assert r.code == 1 and "already reversed" in r.err


EXTRACT = textwrap.dedent(
    """\
    date,document,description,debit,credit,currency
    2025-12-31,OB-2025,opening balance,,1000.00,EUR
    2026-02-10,D-9,debit note,,205.50,EUR
    2026-04-02,PAY-77,payment sent,600.00,,EUR
    """
)


def test_reconcile_with_a_partner_extract(
    books: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "beta.csv").write_text(EXTRACT)
    monkeypatch.setenv("O2O_OPERATOR", "ALFA")
    r = books(
        "accounts",
        "reconcile",
        "--counterparty",
        "BETA",
        "--with",
        tmp_path / "beta.csv",
        "--as-of",
        "2026-03-31",
        "--json",
    )
    assert r.code == 0, r.err
    data = r.json()
    assert data["agreed"] is False
    (cur,) = data["currencies"]
    assert (cur["our_balance"], cur["their_balance"], cur["gap"]) == ("650.50", "-1205.50", "-555.00")
    assert cur["explained"] == cur["gap"]
    assert [(d["kind"], d["document"], d["contribution"]) for d in cur["differences"]] == [
        ("amount", "D-9", "45.00"),
        ("date", "PAY-77", "-600.00"),
    ]
    assert cur["matched"] == 1
    (match,) = cur["matched_lines"]
    assert match["ours"]["document"] == match["theirs"]["document"] == "OB-2025"
    assert match["ours"]["amount"] == match["theirs"]["amount"] == "1000.00"


def test_malformed_extract_is_refused_with_line_numbers(books: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "date,document,description,debit,credit,currency\n2026-01-01,X,,1,,EUR\n2026-13-01,Y,,1,,EUR\n"
    )
    r = books(
        "accounts",
        "reconcile",
        "--operator",
        "ALFA",
        "--counterparty",
        "BETA",
        "--with",
        bad,
        "--as-of",
        "2026-03-31",
    )
    assert r.code == 1
    assert "1 bad line(s): line 3: date '2026-13-01' is not YYYY-MM-DD" in r.err


def test_user_mistakes_are_one_line_errors(books: Any, tmp_path: Path) -> None:
    r = books(
        "accounts", "statement", "--between", "ALFA", "ZETA", "--from", "2026-01-01", "--to", "2026-12-31"
    )
    assert r.code == 1 and "unknown operator 'ZETA'" in r.err
    r = books(
        "accounts", "statement", "--between", "ALFA", "BETA", "--from", "2026-31-01", "--to", "2026-12-31"
    )
    assert r.code == 1 and "--from '2026-31-01' is not a date" in r.err
    r = books(
        "accounts",
        "post",
        "payment",
        "--id",
        "P",
        "--payer",
        "BETA",
        "--payee",
        "ALFA",
        "--amount",
        "1.234",
        "--currency",
        "EUR",
        "--date",
        "2026-01-01",
        "--actor",
        "HUB",
    )
    assert r.code == 1 and "minor unit" in r.err
    (tmp_path / "dup.csv").write_text(OPENING + "BETA,ALFA,5.00,EUR,2025-12-31,,\n")
    r = books("accounts", "opening", tmp_path / "dup.csv")
    assert r.code == 1 and "line 3: a second opening balance for the pair (line 2)" in r.err


def test_tables_for_people(books: Any, tmp_path: Path) -> None:
    r = books("accounts", "post", "invoice", "--statement", "ST-2026-03", "--service", "voice",
              "--provider", "BETA", "--customer", "ALFA", "--amount", "70.25", "--currency", "EUR",
              "--date", "2026-03-31", "--due", "2026-04-15", "--actor", "HUB")  # fmt: skip
    assert r.code == 0, r.err
    assert "ST-2026-03" in r.out and "70.25" in r.out
    r = books(
        "accounts", "statement", "--between", "ALFA", "BETA", "--from", "2026-01-01", "--to", "2026-12-31"
    )
    assert r.code == 0, r.err
    assert "closing" in r.out and "580.25" in r.out  # 1000 + 250.50 - 600 - 70.25
    r = books("accounts", "ageing", "--as-of", "2026-04-30")
    assert r.code == 0 and "580.25" in r.out
    r = books("accounts", "balances")
    assert r.code == 0 and "-580.25" in r.out
    (tmp_path / "beta.csv").write_text(EXTRACT)
    r = books("accounts", "reconcile", "--operator", "ALFA", "--counterparty", "BETA", "--with",
              tmp_path / "beta.csv", "--as-of", "2026-03-31")  # fmt: skip
    assert r.code == 0, r.err
    assert "books differ" in r.out and "ST-2026" in r.out


# One statement's invoice lines share its document number: BETA's extract drops the data line and bills
# voice 10.00 more; the reconciliation must name exactly those two lines, not pair the dropped with the changed.
STATEMENT_LINES = [("data", "ALFA", "BETA", "450.00"), ("sms", "ALFA", "BETA", "300.00"),
                   ("voice", "ALFA", "BETA", "1200.00"), ("voice", "BETA", "ALFA", "700.00")]  # fmt: skip


def test_reconcile_names_the_dropped_and_the_changed_line_of_one_statement(
    books: Any, tmp_path: Path
) -> None:
    for service, provider, customer, amount in STATEMENT_LINES:
        r = books("accounts", "post", "invoice", "--statement", "ST-2026-02", "--service", service,
                  "--provider", provider, "--customer", customer, "--amount", amount, "--currency", "EUR",
                  "--date", "2026-02-28", "--actor", "HUB")  # fmt: skip
        assert r.code == 0, r.err
    out = tmp_path / "beta.csv"
    r = books("accounts", "extract", "--operator", "BETA", "--counterparty", "ALFA", "--as-of", "2026-03-31",
              "--out", out)  # fmt: skip
    assert r.code == 0, r.err
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert [x["description"] for x in rows if x["document"] == "ST-2026-02"] == [
        f"{s} provided by {p} to {c}" for s, p, c, _ in STATEMENT_LINES
    ]
    rows = [x for x in rows if x["description"] != "data provided by ALFA to BETA"]
    (voice,) = [x for x in rows if x["description"] == "voice provided by ALFA to BETA"]
    assert voice["credit"] == "1200.00"  # BETA owes ALFA: a credit in BETA's books
    voice["credit"] = "1210.00"
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    voice_line = f"line {rows.index(voice) + 2}"  # the header is line 1
    r = books("accounts", "reconcile", "--operator", "ALFA", "--counterparty", "BETA", "--with", out,
              "--as-of", "2026-03-31", "--json")  # fmt: skip
    assert r.code == 0, r.err
    (cur,) = r.json()["currencies"]
    assert cur["gap"] == cur["explained"] == "440.00"  # 450.00 missing at BETA, 10.00 more billed by BETA
    found = [
        (d["kind"], d["document"], (d["ours"] or {}).get("description"), (d["theirs"] or {}).get("ref"),
         d["amount_difference"], d["contribution"])
        for d in cur["differences"]
    ]  # fmt: skip
    assert found == [
        ("missing_at_partner", "ST-2026-02", "data provided by ALFA to BETA", None, "450.00", "450.00"),
        ("amount", "ST-2026-02", "voice provided by ALFA to BETA", voice_line, "-10.00", "-10.00"),
    ]
    assert cur["matched"] == len(rows) - 1  # every other line of BETA's extract pairs with its own
