"""The statement as a PDF, through the CLI: its text (pdftotext) carries every amount of the statement's service
figures to the minor unit; every page names the document and its digest; page 1 rendered (pdftoppm) is a printed
page with the number printed in ink where its text stands; every font is embedded, Cyrillic included in the
Russian template; the canonical JSON rides inside as the PDF/A-3 associated file; the period report's charts are
drawn, each bar as long as its figure."""

from __future__ import annotations

import hashlib
import json
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pdf_tools as pdf
import pytest

from cycle_steps import reconciled, resolve_by_split


@pytest.fixture
def signed(cli: Any, tmp_path: Path) -> tuple[Any, str]:
    """A generated network's statement, its disputes split, signed by both parties in the platform."""
    _, report, ag = reconciled(cli, tmp_path, cdrs=300, seed=11)
    for d_id in report["disputes"]:
        resolve_by_split(cli, d_id)
    for op in ag["parties"]:
        assert cli("statement", "sign", report["statement"], "--as", op).code == 0
    return cli, report["statement"]


def _carries(text: str, figure: str) -> bool:
    """`figure` stands in the text as a whole number (not inside a longer one)."""
    return re.search(rf"(?<![\d.,]){re.escape(figure)}(?![\d])", text) is not None


def _amounts(document: dict[str, Any]) -> list[tuple[str, str]]:
    """Every amount of the document's data (table cells, total rows, headline totals) with its currency."""
    found = [(t["amount"], t["currency"]) for t in document["totals"]]
    for section in document["sections"]:
        for table in section["tables"]:
            keys = [c["key"] for c in table["columns"]]
            for col in table["columns"]:
                if col["kind"] != "amount":
                    continue
                i = keys.index(col["key"])
                for row in table["rows"] + table["totals"]:
                    cur = table["currency"] or row[keys.index(col["currency_key"])]
                    if row[i] is not None:
                        found.append((row[i], cur))
    return found


def _write_pdf(cli: Any, statement: str, out: Path, *lang: str) -> tuple[Path, str]:
    r = cli("documents", "statement", statement, "--format", "pdf", "--out", out, *lang, "--json")
    assert r.code == 0, r.err
    (written,) = r.json()
    (path,) = written["files"]
    return Path(path), written["digest"]


def test_statement_pdf_carries_the_service_figures_on_numbered_pages(
    signed: tuple[Any, str], tmp_path: Path
) -> None:
    cli, st = signed
    path, digest = _write_pdf(cli, st, tmp_path / "docs")
    # The data inside is the document: its SHA-256 is the digest the CLI reported.
    data = pdf.attachment(path, tmp_path / "detached")
    assert hashlib.sha256(data).hexdigest() == digest
    document = json.loads(data)
    number = document["number"]
    text = pdf.text(path)
    # The statement's own figures (`statement show`, the service's final state) stand in the PDF, each to the cent.
    show = cli("statement", "show", st, "--json").json()
    assert show["lines"], "a statement with service lines"
    for line in show["lines"]:
        for field in ("provider_amount", "customer_amount", "agreed_amount", "disputed_amount"):
            assert _carries(text, pdf.en_amount(line[field])), (field, line[field])
    # And so does every amount of the document's data, the totals included.
    amounts = _amounts(document)
    assert len(amounts) >= 4 * len(show["lines"])
    for amount, _currency in amounts:
        assert _carries(text, pdf.en_amount(amount, len(amount.partition(".")[2]))), amount
    agreed = sum((Decimal(line["agreed_amount"]) for line in show["lines"]), Decimal(0))
    assert _carries(text, pdf.en_amount(agreed))
    # Every page names the document and its digest, and its place among the pages.
    pages = pdf.page_count(path)
    for page in range(1, pages + 1):
        page_text = pdf.text(path, page)
        assert number in page_text and f"SHA-256 {digest}" in page_text
        assert f"page {page} of {pages}" in page_text
    # Page 1 rendered is a printed page, not a blank one, and carries the document number.
    image = pdf.page_png(path, tmp_path / "page1.png")
    stddev, dark = pdf.ink(image)
    assert stddev > 20 and 0.01 < dark < 0.6, (stddev, dark)
    assert number in pdf.text(path, 1)
    # The number is printed where its text stands (the head of the page, the title block, the foot), in ink a
    # reader sees: the rendered page is dark inside each of its boxes.
    rgb = pdf.page_rgb(path, tmp_path / "page1-rgb.png", 1, 100)
    boxes = [w[1:] for w in pdf.words(path, 1) if w[0] == number]
    assert len(boxes) >= 3, boxes
    assert boxes[0][1] < 60 and boxes[-1][3] > rgb.height * 72 / 100 - 60, "at the top and at the foot"
    for box in boxes:
        assert pdf.ink_in(rgb, box, 100) > 0.05, box
    assert image.width < image.height, "A4 portrait"
    # PDF/A-3 declared, every font embedded.
    raw = path.read_bytes()
    assert raw.startswith(b"%PDF-1.7")
    assert b"<pdfaid:part>3</pdfaid:part>" in raw and b"/AFRelationship /Data" in raw
    fonts = pdf.fonts(path)
    assert fonts and all(embedded for _, embedded in fonts), fonts
    # Both parties sign the PDF with certificates for the keys that signed the statement in the platform.
    home = Path(os.environ["O2O_HOME"])
    signed_pdf = path
    for op in [s["operator"] for s in document["signatures"]]:
        assert cli("keys", "certificate", op).code == 0
        out = tmp_path / f"signed-{op}.pdf"
        r = cli("documents", "sign", signed_pdf, "--operator", op, "--key", home / "keys" / f"{op}.pem",
                "--cert", home / "certs" / f"{op}.cert.pem", "--out", out)  # fmt: skip
        assert r.code == 0, r.err
        signed_pdf = out
    report = cli("documents", "verify", signed_pdf, "--json")
    assert report.code == 0, report.err
    assert report.json()["complete"] is True
    assert [s["platform_key"] for s in report.json()["signatures"]] == [True, True]


def test_russian_statement_is_cyrillic_in_embedded_fonts(signed: tuple[Any, str], tmp_path: Path) -> None:
    cli, st = signed
    path, digest = _write_pdf(cli, st, tmp_path / "ru", "--lang", "ru")
    text = pdf.text(path)
    assert "Акт сверки трафика и начислений" in text
    assert len(re.findall(r"[А-Яа-яЁё]", text)) > 100
    assert f"стр. 1 из {pdf.page_count(path)}" in text and digest in text
    for line in cli("statement", "show", st, "--json").json()["lines"]:
        assert _carries(text, pdf.ru_amount(line["agreed_amount"])), line["agreed_amount"]
    fonts = pdf.fonts(path)
    assert any("DejaVuSans" in name for name, _ in fonts)
    assert all(embedded for _, embedded in fonts), fonts
    # The data inside is the same document whichever language prints it.
    en_path, en_digest = _write_pdf(cli, st, tmp_path / "en")
    assert en_digest == digest
    assert pdf.attachment(path, tmp_path / "a-ru") == pdf.attachment(en_path, tmp_path / "a-en")
    r = cli("documents", "statement", st, "--format", "pdf", "--out", tmp_path, "--lang", "de")
    assert r.code == 1 and "Traceback" not in r.err
    assert len(r.err.strip().splitlines()) == 1 and "--lang" in r.err, r.err


def test_every_document_of_a_netted_period_prints_its_figures(
    signed: tuple[Any, str], tmp_path: Path
) -> None:
    """Statements, invoices, set-off acts, payments, acts of reconciliation and the period report: each PDF's
    text carries every amount of its data to the minor unit, in English and in Russian, fonts embedded."""
    cli, st = signed
    period = cli("statement", "show", st, "--json").json()["period"]
    assert cli("net", "run", "--period", period).code == 0
    for lang, money in (("en", pdf.en_amount), ("ru", pdf.ru_amount)):
        out = tmp_path / lang
        r = cli(
            "documents",
            "build",
            "--period",
            period,
            "--out",
            out,
            "--format",
            "pdf",
            "--lang",
            lang,
            "--json",
        )
        assert r.code == 0, r.err
        written = r.json()
        kinds = set()
        for item in written:
            (path,) = (Path(p) for p in item["files"] if p.endswith(".pdf"))
            document = json.loads(pdf.attachment(path, tmp_path / "att" / lang / item["number"]))
            assert hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":"),
                                             ensure_ascii=False).encode()).hexdigest() == item["digest"]  # fmt: skip
            kinds.add(document["kind"])
            text = pdf.text(path)
            assert item["number"] in text
            for amount, _currency in _amounts(document):
                assert _carries(text, money(amount, len(amount.partition(".")[2]))), (item["number"], amount)
            assert all(embedded for _, embedded in pdf.fonts(path)), item["number"]
            if document["kind"] == "period-report" and lang == "en":
                _check_charts(path, document, tmp_path)
        assert kinds == {"statement", "invoice", "setoff-act", "payments", "account-act", "period-report"}


BAR = (64, 115, 179)  # the bars' colour (o2o.documents.pdf._chart)


def _check_charts(path: Path, document: dict[str, Any], tmp_path: Path) -> None:
    """Each chart of the period report is drawn on its page below its title, its bars as long as its figures
    (relative to the longest, to 2 pixels at 100 dpi; a zero draws no bar)."""
    assert document["chart"], "the period report has charts"
    drawn = {}
    for page in range(1, pdf.page_count(path) + 1):
        found = pdf.words(path, page)
        for i, (word, _x0, _y0, _x1, y1) in enumerate(found[:-2]):
            if word == "Netting" and found[i + 1][0] == "in":
                image = pdf.page_rgb(path, tmp_path / f"chart-{page}.png", page, 100)
                top = round(y1 * 100 / 72)
                drawn[found[i + 2][0]] = pdf.bars(
                    image, BAR, (0, top, image.width, top + round(100 * 100 / 72))
                )
    assert set(drawn) == {c["currency"] for c in document["chart"]}, drawn
    for chart in document["chart"]:
        values = [Decimal(v) for v in reversed(chart["values"])]  # the first category at the bottom
        widths = drawn[chart["currency"]]
        assert len(widths) == sum(1 for v in values if v), (chart, widths)
        longest, largest = max(widths), max(values)
        for width, value in zip(widths, [v for v in values if v], strict=True):
            assert abs(width - float(value / largest) * longest) <= 2, (chart, widths)
