"""Every document of a settled period of 50 operators and 500 agreements, as XLSX and PDF, beside a baseline of
the same library doing bare work of the same size; each printed as a ratio.

Set-up (not timed): a workspace with 50 operators (legal data, valid IBANs) and 500 bilateral agreements, each
with a leased channel each way (recurring charges of different sizes, so the obligations run in circles and
netting sets off), taken through the real cycle: reconciled, both parties sign, a netting round (direct), every
payment confirmed, the period closed.
Timed:
- models: assembling every document of the period from the store (`period_documents` + the period report);
- XLSX: writing each as XLSX, beside openpyxl writing the same number of workbooks with the same cells, bare
  (one sheet, plain values, no styles or formats);
- PDF: rendering each as PDF (`o2o.documents.pdf.render_pdf`, PDF/A-3 with the JSON embedded), beside ReportLab
  drawing the same number of pages, bare (one line of text per page, no fonts embedded, no archive layer).
Usage: `.venv/bin/python benchmarks/documents_bench.py [--operators 50] [--agreements 500] [--keep DIR]`.

Measured (2 shared cores, other work running, 2026-12-07): set-up 132 s; 2052 documents (500 statements, 1000
invoices, 50 set-off acts, 1 payments, 500 acts of reconciliation, the report), models assembled in 24.8 s;
XLSX 61.7 s vs bare openpyxl 46.0 s: ratio 1.34; PDF 233.8 s for 2185 pages vs bare ReportLab 6.4 s: ratio 36.8.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

PERIOD = "2026-10"
CURRENCY = "EUR"


def _operators_toml(n: int) -> tuple[str, list[str]]:
    from o2o.synth.countries import country
    from o2o.synth.legal import legal_data

    de = country("DE")
    ids = [f"OP{i:03d}" for i in range(n)]
    lines = []
    for i, op in enumerate(ids):
        legal = legal_data(op, f"Operator {i}", de, i)
        lines += [
            "[[operators]]", f'id = "{op}"', f'name = "Operator {i}"', f'currency = "{CURRENCY}"',
            'country_code = "49"', "", "[operators.legal]", f'legal_name = "{legal.legal_name}"',
            f'address = "{legal.address}"', f'tax_id = "{legal.tax_id}"', f'iban = "{legal.iban}"',
            f'bic = "{legal.bic}"', f'bank_name = "{legal.bank_name}"', "",
        ]  # fmt: skip
    return "\n".join(lines), ids


def _agreement_toml(ag_id: str, a: str, b: str, k: int) -> str:
    def lease(provider: str, customer: str, amount: Decimal) -> str:
        return (
            f'[[services]]\nid = "lease-{provider}-{customer}"\nkind = "recurring"\nprovider = "{provider}"\n'
            f'customer = "{customer}"\nunit = "month"\n\n[[services.charges]]\nname = "STM-1"\n'
            f"amount = {amount}\nstart = 2025-01-01\n\n"
        )

    there = Decimal(1000 + (k * 37) % 900) + Decimal(k % 100) / 100
    back = Decimal(800 + (k * 53) % 1100) + Decimal(k % 7) / 100
    return (
        f'id = "{ag_id}"\ncurrency = "{CURRENCY}"\nvalid_from = 2025-01-01\n\n'
        f'[[parties]]\noperator = "{a}"\ncountry_code = "49"\n\n[[parties]]\noperator = "{b}"\ncountry_code = "49"\n\n'
        + lease(a, b, there)
        + lease(b, a, back)
    )


def prepare(home: Path, operators: int, agreements: int) -> None:
    os.environ["O2O_HOME"] = str(home)
    from o2o.cli.context import workspace
    from o2o.services import registry_data, settlement, statements
    from o2o.services.ledger import generate_key
    from o2o.services.period_reconciliation import reconcile_period

    net = home.parent / "network"
    net.mkdir(parents=True, exist_ok=True)
    text, ids = _operators_toml(operators)
    (net / "operators.toml").write_text(text, encoding="utf-8")
    pairs = list(itertools.combinations(ids, 2))
    step = max(1, len(pairs) // agreements)
    chosen = pairs[::step][:agreements]
    ws = workspace()
    registry_data.add_operators_file(ws, net / "operators.toml")
    ag_ids = []
    for k, (a, b) in enumerate(chosen):
        ag_id = f"{a}-{b}"
        path = net / f"{ag_id}.toml"
        path.write_text(_agreement_toml(ag_id, a, b, k), encoding="utf-8")
        registry_data.load_agreement(ws, path)
        ag_ids.append(ag_id)
    for op in [*ids, "HUB"]:
        generate_key(ws, op)
    settlement.open_period(ws, PERIOD)
    reports = reconcile_period(ws, PERIOD, ag_ids)
    for report in reports:
        a, b = report.agreement_id.split("-")
        for party in (a, b):
            statements.sign_statement(ws, report.statement_id, party)
    round_id = settlement.run_netting(ws, PERIOD, "direct").round.id
    for pay in settlement.list_payments(ws, round_id):
        settlement.confirm_payment(ws, pay.id, reference=f"B-{pay.id}", confirmed_by=pay.payee)
    settlement.close_period(ws, PERIOD)


def _timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def measure(home: Path, out: Path) -> dict[str, Any]:
    os.environ["O2O_HOME"] = str(home)
    from o2o.cli.context import workspace
    from o2o.services.document_files import period_documents, write_document
    from o2o.services.documents_report import period_report

    ws = workspace()
    t_models, docs = _timed(lambda: period_documents(ws, PERIOD))
    docs.append(period_report(ws, PERIOD, documents=len(docs)))
    figures: dict[str, Any] = {"documents": len(docs), "models_s": round(t_models, 2)}

    t_xlsx, _ = _timed(lambda: [write_document(ws, d, "xlsx", out / "xlsx") for d in docs])
    cells = [sum(len(t.rows) + len(t.totals) + 1 for t in d.tables()) for d in docs]
    widths = [max((len(t.columns) for t in d.tables()), default=2) for d in docs]
    t_bare_xlsx = _bare_xlsx(out / "bare-xlsx", cells, widths)
    figures["xlsx"] = {"ours_s": round(t_xlsx, 2), "bare_openpyxl_s": round(t_bare_xlsx, 2),
                       "ratio": round(t_xlsx / t_bare_xlsx, 2)}  # fmt: skip

    t_pdf, paths = _timed(lambda: [p for d in docs for p in write_document(ws, d, "pdf", out / "pdf")])
    pages = sum(_pages(p) for p in paths)
    t_bare_pdf = _bare_pdf(out / "bare-pdf", len(paths), pages)
    figures["pdf"] = {"ours_s": round(t_pdf, 2), "pages": pages, "bare_reportlab_s": round(t_bare_pdf, 2),
                      "ratio": round(t_pdf / t_bare_pdf, 2)}  # fmt: skip
    return figures


def _bare_xlsx(folder: Path, rows: list[int], widths: list[int]) -> float:
    from openpyxl import Workbook

    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for i, (n, w) in enumerate(zip(rows, widths, strict=True)):
        wb = Workbook()
        ws = wb.active
        assert ws is not None
        for r in range(n):
            ws.append([r * 1.5 + c for c in range(w)])
        wb.save(folder / f"{i}.xlsx")
    return time.perf_counter() - start


def _pages(path: Path) -> int:
    from pyhanko.pdf_utils.reader import PdfFileReader

    with path.open("rb") as fh:
        return int(PdfFileReader(fh).root["/Pages"]["/Count"])


def _bare_pdf(folder: Path, files: int, pages: int) -> float:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    folder.mkdir(parents=True, exist_ok=True)
    per_file = [pages // files + (1 if i < pages % files else 0) for i in range(files)]
    start = time.perf_counter()
    for i, n in enumerate(per_file):
        c = Canvas(str(folder / f"{i}.pdf"), pagesize=A4)
        for p in range(n):
            c.drawString(72, 770, f"page {p + 1}")
            c.showPage()
        c.save()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--operators", type=int, default=50)
    parser.add_argument("--agreements", type=int, default=500)
    parser.add_argument("--keep", type=Path, help="Keep the workspace and files in this folder.")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="o2o-docs-bench-"))
    try:
        t_setup, _ = _timed(lambda: prepare(folder / "home", args.operators, args.agreements))
        print(
            f"set-up: {args.operators} operators, {args.agreements} agreements, cycle closed in {t_setup:.1f} s"
        )
        figures = measure(folder / "home", folder / "out")
        print(f"documents: {figures['documents']}, models assembled in {figures['models_s']} s")
        x, p = figures["xlsx"], figures["pdf"]
        print(f"XLSX: {x['ours_s']} s vs bare openpyxl {x['bare_openpyxl_s']} s: ratio {x['ratio']}")
        print(f"PDF:  {p['ours_s']} s for {p['pages']} pages vs bare ReportLab {p['bare_reportlab_s']} s: "
              f"ratio {p['ratio']}")  # fmt: skip
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
