"""`o2o documents` through the CLI on a workspace taken through a full cycle (`o2o demo`: import, reconcile,
disputes, signatures, netting, payments, close), on SQLite and PostgreSQL: every figure of every document equals
what the other commands say (`statement show`, `payment list`, `accounts statement`, `cycle status`, the demo's
own summary) to the minor unit; the pain.001 files validate against the official XSD and their transfers add up to
the round's money moved; XLSX amounts are numbers with the currency's decimals under frozen headers; a bad IBAN or
BIC in the operators file is one line naming the field and the operator.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import UTC, datetime
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
        _check_tolerance_rule(cli, doc)
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
    _check_report(cli, summary, out, documents=len(built) - 1)
    _check_xlsx(out)


def _check_tolerance_rule(cli: Any, doc: dict[str, Any]) -> None:
    """The statement states its agreement's tolerance rule (`agreement show`), as the reconciliation applied it."""
    facts = {f["key"]: f["value"] for s in doc["sections"] for f in s["facts"]}
    agreement_id = facts["agreement"].split(" ")[0]
    shown = cli("agreement", "show", agreement_id, "--json").json()
    tol, cur = shown["tolerance"], facts["currency"]
    rule = facts["tolerance"]
    if tol["relative"] is None and tol["absolute"] is None:
        assert rule.startswith("no tolerance"), rule
        return
    if tol["relative"] is not None:
        pct = re.search(r"([\d.]+)% of the provider's amount", rule)
        assert pct and Decimal(pct.group(1)) / 100 == Decimal(tol["relative"]), rule
    if tol["absolute"] is not None:
        amount = re.search(rf"([\d.]+) {cur}\b", rule)
        assert amount and Decimal(amount.group(1)) == Decimal(tol["absolute"]), rule
    if tol["relative"] is not None and tol["absolute"] is not None:
        assert (" or " if tol["combine"] == "either" else " and ") in rule, rule
    assert f"the {tol['figure']}'s figure then stands" in rule, rule


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
        # One credit transfer per payment: its id, amount, and both parties' names, IBANs and BICs as the
        # operators file gave them (`operator show`).
        legal = {
            p[k]: cli("operator", "show", p[k], "--json").json() for p in payments for k in ("payer", "payee")
        }
        transfers = []
        for pmt in ET.fromstring(xml).iterfind(".//p:PmtInf", NS):
            debtor = _party(pmt, "Dbtr")
            for tx in pmt.iterfind("p:CdtTrfTxInf", NS):
                transfers.append((tx.findtext("p:PmtId/p:EndToEndId", namespaces=NS), debtor, _party(tx, "Cdtr"),
                                  tx.findtext("p:Amt/p:InstdAmt", namespaces=NS)))  # fmt: skip
        assert sorted(transfers) == sorted(
            (p["id"], _legal(legal[p["payer"]]), _legal(legal[p["payee"]]), p["amount"])
            for p in payments if p["currency"] == cur
        )  # fmt: skip
    csv_lines = (out / "payments" / f"PAY-{round_id}.csv").read_text().splitlines()
    assert len(csv_lines) == 1 + len(payments)


def _party(element: ET.Element, role: str) -> tuple[str | None, str | None, str | None]:
    """A pain.001 party's name, IBAN and BIC (`role`: Dbtr or Cdtr)."""
    return (
        element.findtext(f"p:{role}/p:Nm", namespaces=NS),
        element.findtext(f"p:{role}Acct/p:Id/p:IBAN", namespaces=NS),
        element.findtext(f"p:{role}Agt/p:FinInstnId/p:BICFI", namespaces=NS),
    )


def _legal(operator: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    return operator["legal_name"], operator["iban"], operator["bic"]


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
            # Opening balance (first row, both sides' columns mirrored), turnover and closing (the foot).
            opening = Decimal(sec["opening"][a]["debit"]) - Decimal(sec["opening"][a]["credit"])
            assert rows[0]["document"] == "opening balance" and Decimal(closing["opening"]) == opening
            assert (rows[0]["a_debit"], rows[0]["a_credit"]) == (rows[0]["b_credit"], rows[0]["b_debit"])
            foot = _foot(act, f"account_{sec['currency']}")
            debit = sum((Decimal(ln[a]["debit"]) for ln in sec["lines"]), Decimal(0))
            credit = sum((Decimal(ln[a]["credit"]) for ln in sec["lines"]), Decimal(0))
            assert (Decimal(foot["turnover"]["a_debit"]), Decimal(foot["turnover"]["a_credit"])) == (
                debit,
                credit,
            )
            assert opening + debit - credit == signed


def _foot(doc: dict[str, Any], table: str) -> dict[str, dict[str, Any]]:
    """A table's total rows by their label (the document column)."""
    for section in doc["sections"]:
        for t in section["tables"]:
            if t["key"] == table:
                keys = [c["key"] for c in t["columns"]]
                return {row[1]: dict(zip(keys, row, strict=True)) for row in t["totals"]}
    raise KeyError(table)


def _check_report(cli: Any, summary: dict[str, Any], out: Path, documents: int) -> None:
    report = _load(out / "period-report" / f"REP-{PERIOD}.json")
    facts = {f["key"]: f["value"] for s in report["sections"] for f in s["facts"]}
    # Discrepancies and their value, per currency, from the statements' lines as `statement show` gives them.
    lines = [(st["currency"], ln) for st_id in (c["statement"] for c in cli("cycle", "status", "--period", PERIOD,
             "--json").json()) for st in [cli("statement", "show", st_id, "--json").json()]
             for ln in st["lines"]]  # fmt: skip
    differing = [
        (cur, ln) for cur, ln in lines if Decimal(ln["provider_amount"]) != Decimal(ln["customer_amount"])
    ]
    assert differing, "the demo's network has lines whose figures differ"
    assert int(facts["service_lines"]) == len(lines) and int(facts["discrepancies"]) == len(differing)
    expected: dict[str, tuple[int, int, Decimal]] = {}
    for cur, ln in differing:
        n, over, value = expected.get(cur, (0, 0, Decimal(0)))
        diff = abs(Decimal(ln["provider_amount"]) - Decimal(ln["customer_amount"]))
        expected[cur] = (n + 1, over + (ln["outcome"] != "agreed"), value + diff)
    assert {
        r["currency"]: (int(r["lines"]), int(r["over_tolerance"]), Decimal(r["value"]))
        for r in _rows(report, "discrepancies")
    } == expected
    # Disputes and how they ended, as `dispute list` has them.
    disputes = cli("dispute", "list", "--json").json()
    assert [(r["dispute"], r["state"], _num(r["contested"]), _num(r["resolved_amount"] or "")) for r in
            _rows(report, "disputes")] == [(d["id"], d["state"], _num(str(d["contested_amount"])),
                                            _num(str(d["resolved_amount"] or ""))) for d in disputes]  # fmt: skip
    for state in {d["state"] for d in disputes}:
        assert int(facts[f"disputes_{state}"]) == sum(1 for d in disputes if d["state"] == state)
    # From the last declaration to the last signature: no longer than from the last declaration to now.
    span = re.fullmatch(r"(\d+) h (\d\d) min (\d\d) s", facts["time_to_sign"])
    assert span, facts["time_to_sign"]
    seconds = int(span[1]) * 3600 + int(span[2]) * 60 + int(span[3])
    declared = max(datetime.fromisoformat(d["created_at"]) for d in cli("usage", "list", "--period", PERIOD,
                   "--json").json())  # fmt: skip
    assert 0 <= seconds <= (datetime.now(UTC) - declared).total_seconds() + 1
    # The hours model, printed beside its assumptions, gives the estimate it states.
    assert int(facts["documents"]) == documents and int(facts["reconciliations"]) == len(lines)
    minutes = (int(facts["reconciliations"]) * int(facts["minutes_per_reconciliation"])
               + int(facts["disputes"]) * int(facts["minutes_per_dispute"])
               + documents * int(facts["minutes_per_document"]))  # fmt: skip
    assert Decimal(facts["hours_saved"]) == (Decimal(minutes) / 60).quantize(Decimal("0.1"))
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
    # One chart per currency, drawn from the same netting figures.
    charts = {c["currency"]: c for c in report["chart"]}
    assert set(charts) == set(summary["netting"])
    for row in _rows(report, "netting"):
        assert charts[row["currency"]]["values"] == [
            row[k] for k in ("gross", "set_off", "remaining", "money_moved", "liquidity_freed")
        ]


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
    # The estimate follows the model the user set: every document of the period (as the demo wrote them, the
    # report aside), each service line and dispute, at 240, 60 and 15 minutes.
    demo_docs = Path(summary["ledger"]["export"]).parent / "documents"
    documents = sum(1 for p in demo_docs.glob("*/*.json") if p.parent.name != "period-report")
    assert (int(facts["documents"]), int(facts["reconciliations"]), int(facts["disputes"])) == (
        documents,
        summary["service_lines"],
        summary["disputes"],
    )
    minutes = summary["service_lines"] * 240 + summary["disputes"] * 60 + documents * 15
    assert Decimal(facts["hours_saved"]) == (Decimal(minutes) / 60).quantize(Decimal("0.1"))
    r = cli("documents", "build", "--period", PERIOD, "--operator", "ALFA", "--out", tmp_path / "alfa",
            "--format", "json", "--json")  # fmt: skip
    assert r.code == 0, r.err
    for d in r.json():
        doc = _load(Path(d["files"][0]))
        assert "ALFA" in {p["operator"] for p in doc["parties"]}, d["number"]
    # The demo wrote the period's documents into its report folder (`make demo`: o2o-data/demo-report/documents/):
    # every kind, each in every format it comes in, the bank files one per currency of the round.
    assert {p.name for p in demo_docs.iterdir()} == {
        "statement", "invoice", "setoff-act", "payments", "account-act", "period-report"
    }  # fmt: skip
    for doc in demo_docs.glob("*/*.json"):
        formats = {"pdf", "xlsx", "json"} | ({"csv"} if doc.parent.name == "payments" else set())
        assert {p.suffix[1:] for p in doc.parent.glob(f"{doc.stem}.*")} == formats, doc.name
        assert doc.with_suffix(".pdf").read_bytes().startswith(b"%PDF-1.7"), doc.name
    assert sorted(p.name for p in (demo_docs / "payments").glob("*.pain001.xml")) == [
        f"PAY-{round_id}-{cur}.pain001.xml" for cur in sorted(summary["netting"])
    ]
    assert len(list((demo_docs / "statement").glob("*.json"))) == summary["agreements"]


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
