"""`o2o documents` through the CLI on a workspace taken through a full cycle (`o2o demo`: import, reconcile,
disputes, signatures, netting, payments, close), on SQLite and PostgreSQL: every figure of every document equals
what the other commands say (`statement show`, `payment list`, `accounts statement`, `cycle status`, the demo's
own summary) to the minor unit; the pain.001 files validate against the official XSD and their transfers add up to
the round's money moved; XLSX amounts are numbers with the currency's decimals under frozen headers; a bad IBAN or
BIC in the operators file is one line naming the field and the operator.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}
PERIOD = "2026-10"


@pytest.fixture
def settled(db_cli: Any, workspace: Path) -> tuple[Any, dict[str, Any]]:
    """A four-operator network taken through the whole cycle, period closed (its documents in demo-report)."""
    r = db_cli("demo", "--operators", "4", "--cdrs", "4000", "--seed", "11", "--json")
    assert r.code == 0, r.err
    return db_cli, r.json()


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_bytes())
    return data


def _num(value: str) -> Decimal | str:
    try:
        return Decimal(value)
    except ArithmeticError:
        return value


def _rows(doc: dict[str, Any], table: str) -> list[dict[str, Any]]:
    for section in doc["sections"]:
        for t in section["tables"]:
            if t["key"] == table:
                keys = [c["key"] for c in t["columns"]]
                return [dict(zip(keys, row, strict=True)) for row in t["rows"]]
    raise KeyError(table)


def test_every_document_carries_the_services_figures(
    settled: tuple[Any, dict[str, Any]], tmp_path: Path
) -> None:
    cli, summary = settled
    out = tmp_path / "docs"
    r = cli("documents", "build", "--period", PERIOD, "--out", out, "--format", "json", "--format", "xlsx",
            "--format", "xml", "--format", "csv", "--json")  # fmt: skip
    assert r.code == 0, r.err
    built = r.json()
    kinds = {Path(f).parent.name for d in built for f in d["files"]}
    assert kinds == {"statement", "invoice", "setoff-act", "payments", "account-act", "period-report"}
    # The JSON file is the canonical document: its SHA-256 is the digest the CLI reports.
    import hashlib

    for d in built:
        (json_file,) = [Path(f) for f in d["files"] if f.endswith(".json")]
        assert hashlib.sha256(json_file.read_bytes()).hexdigest() == d["digest"]

    statuses = {c["statement"]: c for c in cli("cycle", "status", "--period", PERIOD, "--json").json()}
    for st_id, status in statuses.items():
        doc = _load(out / "statement" / f"{st_id}.json")
        shown = cli("statement", "show", st_id, "--json").json()
        cols = ("service", "provider", "customer", "provider_amount", "customer_amount", "agreed_amount",
                "disputed_amount", "outcome")  # fmt: skip
        # Equal to the minor unit; the document writes every amount with the currency's decimals (the store
        # may give a zero back as `0`).
        assert [{k: _num(row[k]) for k in cols} for row in _rows(doc, "lines")] == [
            {k: _num(ln[k]) for k in cols} for ln in shown["lines"]
        ]
        assert all(len(row[k].split(".")[1]) == 2 for row in _rows(doc, "lines") for k in cols[3:7])
        assert {s["operator"] for s in doc["signatures"] if s["signature"]} == set(status["signatures"])
        # Invoices of the statement add up to its obligations, each equal to its posting in the books.
        invoices = [_load(p) for p in sorted((out / "invoice").glob(f"INV-{st_id[3:]}-*.json"))]
        (cur,) = status["obligations_amount"]
        assert sum(Decimal(i["totals"][0]["amount"]) for i in invoices) == Decimal(
            status["obligations_amount"][cur]
        )
        for inv in invoices:
            provider, customer = (p["operator"] for p in inv["parties"])
            service = inv["number"].removeprefix(f"INV-{st_id[3:]}-")
            book = cli("accounts", "statement", "--between", provider, customer, "--from", f"{PERIOD}-01",
                       "--to", "2026-11-30", "--json").json()  # fmt: skip
            posted = [ln[provider]["debit"] for s in book["sections"] for ln in s["lines"]
                      if ln["document"] == st_id and ln["description"].startswith(f"{service} ")]  # fmt: skip
            assert [inv["totals"][0]["amount"]] == posted
            assert inv["parties"][0]["bank"]["iban"] and inv["parties"][1]["legal_name"]

    _check_round(cli, summary, out)
    _check_account_acts(cli, out)
    _check_report(summary, out)
    _check_xlsx(out)


def _check_round(cli: Any, summary: dict[str, Any], out: Path) -> None:
    round_id = summary["netting_round"]["id"]
    payments = cli("payment", "list", "--round", round_id, "--json").json()
    doc = _load(out / "payments" / f"PAY-{round_id}.json")
    assert [
        (r["payment"], r["payer"], r["payee"], r["currency"], r["amount"]) for r in _rows(doc, "payments")
    ] == [(p["id"], p["payer"], p["payee"], p["currency"], p["amount"]) for p in payments]
    # Set-off acts: what every participant's payables had set off is the round's set-off, per currency.
    set_off: dict[str, Decimal] = defaultdict(Decimal)
    received: dict[str, Decimal] = defaultdict(Decimal)
    for act in sorted((out / "setoff-act").glob("*.json")):
        rows = _rows(_load(act), "obligations")
        for row in rows:
            assert Decimal(row["amount"]) - Decimal(row["set_off"]) == Decimal(row["remaining"])
            (set_off if row["side"] == "payable" else received)[row["currency"]] += Decimal(row["set_off"])
    for cur, n in summary["netting"].items():
        assert set_off[cur] == received[cur] == Decimal(n["set_off"]), cur
    # pain.001: valid against the official XSD, one transfer per instruction, adding up to the money moved.
    from o2o.documents.pain001 import validate_pain001

    for cur, n in summary["netting"].items():
        xml = (out / "payments" / f"PAY-{round_id}-{cur}.pain001.xml").read_bytes()
        validate_pain001(xml)
        amounts = [Decimal(a.text or "") for a in ET.fromstring(xml).iterfind(".//p:InstdAmt", NS)]
        assert sum(amounts) == Decimal(n["money_moved"]), cur
        assert len(amounts) == n["payments_after"] == sum(1 for p in payments if p["currency"] == cur)
        assert ET.fromstring(xml).findtext(".//p:GrpHdr/p:CtrlSum", namespaces=NS) == n["money_moved"]
    csv_lines = (out / "payments" / f"PAY-{round_id}.csv").read_text().splitlines()
    assert len(csv_lines) == 1 + len(payments)


def _check_account_acts(cli: Any, out: Path) -> None:
    for act_file in sorted((out / "account-act").glob("*.json")):
        act = _load(act_file)
        a, b = (p["operator"] for p in act["parties"])
        book = cli("accounts", "statement", "--between", a, b, "--from", f"{PERIOD}-01", "--to", "2026-11-30",
                   "--json").json()  # fmt: skip
        for sec in book["sections"]:
            rows = _rows(act, f"account_{sec['currency']}")
            lines = [(ln["document"], ln[a]["debit"], ln[a]["credit"], ln[b]["debit"], ln[b]["credit"])
                     for ln in sec["lines"]]  # fmt: skip
            assert [
                (r["document"], r["a_debit"], r["a_credit"], r["b_debit"], r["b_credit"]) for r in rows[1:]
            ] == lines
            closing = {t["key"]: t["amount"] for t in act["totals"] if sec["currency"] in t["label"]}
            signed = Decimal(sec["closing"][a]["debit"]) - Decimal(sec["closing"][a]["credit"])
            assert Decimal(closing["closing"]) == signed


def _check_report(summary: dict[str, Any], out: Path) -> None:
    report = _load(out / "period-report" / f"REP-{PERIOD}.json")
    facts = {f["key"]: f["value"] for s in report["sections"] for f in s["facts"]}
    assert int(facts["matched"]) == summary["records_matched"]
    assert int(facts["unmatched"]) == summary["records_unmatched"]
    assert (
        int(facts["records"]) == summary["cdrs_per_side"]["provider"] + summary["cdrs_per_side"]["customer"]
    )
    assert int(facts["disputes"]) == summary["disputes"]
    assert facts["minutes_per_dispute"] == "120" and facts["hours_saved"]
    for row in _rows(report, "netting"):
        n = summary["netting"][row["currency"]]
        assert row["gross"] == n["gross_obligations"]
        assert row["set_off"] == n["set_off"]
        assert row["money_moved"] == n["money_moved"]
        assert Decimal(row["liquidity_freed"]) == Decimal(n["gross_obligations"]) - Decimal(n["money_moved"])
        assert (row["payments_before"], row["payments_after"]) == (
            str(n["payments_before"]),
            str(n["payments_after"]),
        )


def _check_xlsx(out: Path) -> None:
    for xlsx in sorted(out.glob("*/*.xlsx")):
        doc = _load(xlsx.with_suffix(".json"))
        wb = load_workbook(xlsx)
        sheets = wb.sheetnames
        assert sheets[0] == "Document" and len(sheets) == 1 + len(doc["sections"]), xlsx.name
        for section, name in zip(doc["sections"], sheets[1:], strict=True):
            ws = wb[name]
            assert ws.freeze_panes == "A2", (xlsx.name, name)
            if not section["tables"]:
                continue
            table = section["tables"][0]
            amounts = [i for i, c in enumerate(table["columns"]) if c["kind"] == "amount"]
            for r, row in enumerate(table["rows"], start=2):
                for i in amounts:
                    if row[i] is None:
                        continue
                    cell = ws.cell(r, i + 1)
                    assert isinstance(cell.value, int | float), (xlsx.name, cell.coordinate)
                    assert Decimal(str(cell.value)) == Decimal(row[i]), (xlsx.name, cell.coordinate)
                    places = -Decimal(row[i]).as_tuple().exponent  # type: ignore[operator]
                    assert cell.number_format == "#,##0" + ("." + "0" * places if places else "")


def test_single_documents_and_their_formats(settled: tuple[Any, dict[str, Any]], tmp_path: Path) -> None:
    cli, summary = settled
    round_id = summary["netting_round"]["id"]
    r = cli("documents", "payments", round_id, "--format", "xml", "--out", tmp_path, "--json")
    assert r.code == 0, r.err
    assert sorted(Path(f).name for d in r.json() for f in d["files"]) == [
        f"PAY-{round_id}-{cur}.pain001.xml" for cur in sorted(summary["netting"])
    ]
    r = cli("documents", "statement", f"ST-ALFA-BRAVO-{PERIOD}", "--format", "xml", "--out", tmp_path)
    assert r.code == 1 and "--format xml" in r.err and len(r.err.strip().splitlines()) == 1
    r = cli("documents", "setoff-act", round_id, "--operator", "ALFA", "--format", "json", "--out", tmp_path)
    assert r.code == 0, r.err
    r = cli("documents", "account-act", "--between", "ALFA", "BRAVO", "--from", f"{PERIOD}-01", "--to",
            f"{PERIOD}-31", "--format", "xlsx", "--out", tmp_path)  # fmt: skip
    assert r.code == 0, r.err
    r = cli("documents", "report", "--period", PERIOD, "--minutes-per-dispute", "60", "--format", "json",
            "--out", tmp_path, "--json")  # fmt: skip
    assert r.code == 0, r.err
    facts = {
        f["key"]: f["value"] for s in _load(Path(r.json()[0]["files"][0]))["sections"] for f in s["facts"]
    }
    assert facts["minutes_per_dispute"] == "60"
    r = cli("documents", "build", "--period", PERIOD, "--operator", "ALFA", "--out", tmp_path / "alfa",
            "--format", "json", "--json")  # fmt: skip
    assert r.code == 0, r.err
    for d in r.json():
        doc = _load(Path(d["files"][0]))
        assert "ALFA" in {p["operator"] for p in doc["parties"]}, d["number"]
    # The demo wrote the period's documents into its report folder.
    demo_docs = Path(summary["ledger"]["export"]).parent / "documents"
    assert (demo_docs / "period-report" / f"REP-{PERIOD}.xlsx").is_file()
    assert sorted(p.name for p in (demo_docs / "statement").glob("*.json"))


BAD_OPERATORS = """
[[operators]]
id = "ALFA"
name = "Alfa"
currency = "GBP"
country_code = "44"

[operators.legal]
legal_name = "Alfa Telecom Ltd"
address = "1 Exchange Street, London"
tax_id = "GB123456789"
iban = "{iban}"
bic = "{bic}"
bank_name = "Settlement Bank of London"
"""


@pytest.mark.parametrize(
    ("iban", "bic", "field"),
    [
        ("GB00STLB00000100000001", "STLBGB2X", "legal.iban"),  # wrong check digits
        ("GB29STLB00000100000001", "STLB-GB2X", "legal.bic"),  # not a BIC
    ],
)
def test_a_bad_iban_or_bic_is_one_line_naming_field_and_operator(
    cli: Any, tmp_path: Path, iban: str, bic: str, field: str
) -> None:
    path = tmp_path / "operators.toml"
    path.write_text(BAD_OPERATORS.format(iban=iban, bic=bic), encoding="utf-8")
    r = cli("operator", "add", "--file", path)
    assert r.code == 1
    (line,) = r.err.strip().splitlines()
    assert str(path.name) in line and f"operators[0].{field} (operator ALFA)" in line
    assert "Traceback" not in r.err
