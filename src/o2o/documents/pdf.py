"""A settlement document (`o2o.documents.model.Document`) as a PDF/A-3 file, in English or Russian.

A4 portrait; every page carries the document's number, the SHA-256 of its canonical JSON and `page n of N`;
tables repeat their header on each page and right-align numbers, amounts printed with every digit of their
currency's minor unit (the model holds them quantized, so the PDF cannot round differently from the data).
Every font is a DejaVu TrueType embedded in the file (Cyrillic included); the canonical JSON is attached
(`pdf_archive`). A pure function of the document: no store, no clock but the file's own time stamp.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Sequence
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable
from reportlab.platypus.paragraph import cleanBlockQuotedText, textTransformFrags
from reportlab.platypus.paraparser import ParaParser

from o2o.documents import pdf_labels as words
from o2o.documents.model import Cell, CellKind, Column, Document, Section
from o2o.documents.model import Table as DocTable
from o2o.documents.pdf_archive import ArchiveInfo, make_archival
from o2o.domain.errors import NotFoundError

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)
"""Where fonts-dejavu-core puts its files (the Makefile installs the package when they are missing)."""
FONTS = {
    "O2O-Sans": "DejaVuSans.ttf",
    "O2O-Sans-Bold": "DejaVuSans-Bold.ttf",
    "O2O-Mono": "DejaVuSansMono.ttf",
}
SANS, BOLD, MONO = "O2O-Sans", "O2O-Sans-Bold", "O2O-Mono"
CREATOR = "O2O Settle"
MARGIN = 15 * mm
PAGE_W, PAGE_H = A4
WIDTH = PAGE_W - 2 * MARGIN
PAD = 3.0
INK = colors.Color(0.1, 0.1, 0.1)
RULE = colors.Color(0.55, 0.55, 0.55)
SHADE = colors.Color(0.92, 0.92, 0.92)
NUMERIC = (CellKind.INTEGER, CellKind.AMOUNT, CellKind.DECIMAL)
UNBROKEN = (*NUMERIC, CellKind.DATE)
"""Cells printed on one line at their natural width (a number or a date is never wrapped)."""


@functools.cache
def _fonts() -> None:
    """Register the embedded fonts once per process (each TrueType file is parsed once; every document then
    embeds its own subset); a missing font is a one-line error saying how to get it (and is asked again)."""
    _register_fonts()
    # Page streams are written Flate-compressed, not also ASCII85-armoured (ReportLab's default makes binary
    # streams 7-bit text: 25% larger files and an encoding pass per page, for no reader's sake).
    rl_config.useA85 = 0


def _register_fonts() -> None:
    if SANS in pdfmetrics.getRegisteredFontNames():
        return
    for name, file in FONTS.items():
        path = next((d / file for d in FONT_DIRS if (d / file).is_file()), None)
        if path is None:
            raise NotFoundError(
                f"font {file} not found in {', '.join(map(str, FONT_DIRS))}: "
                "install it (`apt-get install fonts-dejavu-core`; `make venv` does)"
            )
        pdfmetrics.registerFont(TTFont(name, str(path)))
    pdfmetrics.registerFontFamily(SANS, normal=SANS, bold=BOLD, italic=SANS, boldItalic=BOLD)


@functools.cache
def _style(size: float = 8, *, bold: bool = False, right: bool = False, leading: float | None = None) -> Any:
    """The paragraph style (made once per size/weight/alignment: styles are never changed after)."""
    return ParagraphStyle(
        f"o2o-{size}-{bold}-{right}",
        fontName=BOLD if bold else SANS,
        fontSize=size,
        leading=leading or size * 1.25,
        textColor=INK,
        alignment=TA_RIGHT if right else 0,
    )


def _p(text: str, size: float = 8, *, bold: bool = False, right: bool = False) -> Any:
    return _para(escape(text).replace("\n", "<br/>"), _style(size, bold=bold, right=right))


@functools.lru_cache(maxsize=16384)
def _parsed(markup: str, style: Any) -> tuple[str, Any, tuple[Any, ...]]:
    """What ReportLab's `Paragraph` makes of markup in a style (its parser, an HTML parser, is most of a
    paragraph's cost): done once per text and style; labels, names and dates recur in every document."""
    text = cleanBlockQuotedText(markup)
    parser = ParaParser()
    parser.caseSensitive = 1
    style, frags, bullet = parser.parse(text, style)
    if frags is None or bullet:
        raise ValueError(f"paragraph markup not understood: {markup[:40]!r}")
    textTransformFrags(frags, style)
    return text, style, tuple(frags)


def _para(markup: str, style: Any) -> Paragraph:
    """`Paragraph(markup, style)`, from the parsed fragments (each paragraph gets its own copies: layout
    annotates them)."""
    text, parsed_style, frags = _parsed(markup, style)
    return Paragraph(text, parsed_style, frags=[f.clone() for f in frags])


class _PagedCanvas(Canvas):  # type: ignore[misc]
    """Holds each page until the last, so every footer can say `page n of N`; adds the PDF/A-3 parts."""

    def __init__(self, *args: Any, footer: tuple[str, str, str], archive: ArchiveInfo, **kwargs: Any) -> None:
        kwargs["pdfVersion"] = (1, 7)
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._archive = archive
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self._draw_footer(total)
            super().showPage()
        make_archival(self, self._archive, dt.datetime.now(dt.UTC))
        super().save()

    def _draw_footer(self, total: int) -> None:
        number, digest, page_word = self._footer
        self.saveState()
        self.setStrokeColor(RULE)
        self.setLineWidth(0.4)
        self.line(MARGIN, 13 * mm, PAGE_W - MARGIN, 13 * mm)
        self.setFillColor(INK)
        self.setFont(BOLD, 7.5)
        self.drawString(MARGIN, 9 * mm, number)
        self.setFont(SANS, 7.5)
        self.drawRightString(PAGE_W - MARGIN, 9 * mm, page_word.format(n=self._pageNumber, total=total))
        self.setFont(MONO, 6.5)
        self.drawString(MARGIN, 5.5 * mm, f"SHA-256 {digest}")
        self.setFont(SANS, 7)
        self.drawString(MARGIN, PAGE_H - 9 * mm, number)
        self.restoreState()


def render_pdf(doc: Document, out: Path, *, lang: str = "en") -> Path:
    """Write `doc` as a PDF/A-3 file at `out` in `lang` ("en" | "ru"); returns `out`."""
    words.check_lang(lang)
    _fonts()
    title = words.kind_title(lang, doc.kind.value, doc.title)
    canonical = doc.canonical()
    digest = hashlib.sha256(canonical).hexdigest()  # `doc.digest`, without making the canonical JSON again
    page_word = f"{words.word(lang, 'page')} {{n}} {words.word(lang, 'of')} {{total}}"
    authors = ", ".join(p.operator for p in doc.parties) or CREATOR
    archive = ArchiveInfo(
        title=f"{title} {doc.number}",
        author=authors,
        subject=f"{doc.kind.value} {doc.number}; SHA-256 {digest}",
        keywords=f"o2o-settle {doc.kind.value} {digest}",
        creator=CREATOR,
        attachment_name=f"{doc.number}.json",
        attachment=canonical,
        attachment_description=words.word(lang, "attachment"),
        lang=lang,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    template = SimpleDocTemplate(
        str(out),
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=18 * mm,
        title=archive.title,
        author=authors,
        creator=CREATOR,
        lang=lang,
        enforceColorSpace="rgb",
        initialFontName=SANS,  # else ReportLab names Helvetica on every page, a font not embedded
    )
    maker = partial(_PagedCanvas, footer=(doc.number, digest, page_word), archive=archive)
    template.build(_story(doc, lang, title, digest), canvasmaker=maker)
    return out


def _story(doc: Document, lang: str, title: str, digest: str) -> list[Flowable]:
    story: list[Flowable] = [_p(title, 15, bold=True), Spacer(1, 2 * mm), _p(doc.number, 10, bold=True)]
    meta = [
        (words.word(lang, "number"), doc.number),
        (words.word(lang, "issued"), words.date_text(lang, doc.issued)),
    ]
    if doc.period:
        meta.append((words.word(lang, "period"), doc.period))
    meta.append((words.word(lang, "digest"), digest))
    story += [Spacer(1, 3 * mm), _pairs(meta), Spacer(1, 4 * mm)]
    if doc.parties:
        story += [_heading(words.word(lang, "parties")), _parties(doc, lang), Spacer(1, 4 * mm)]
    if doc.totals:
        rows = [(words.total_label(lang, t.key, t.label), t.amount, t.currency) for t in doc.totals]
        story += [_heading(words.word(lang, "totals")), _totals(rows, lang), Spacer(1, 4 * mm)]
    for section in doc.sections:
        story += _section(section, lang)
    for series in doc.chart:
        story += _chart(series.title if lang == "en" else words.label(lang, series.key, series.title),
                        series.labels, series.values, series.currency)  # fmt: skip
    if doc.signatures:
        story += _signatures(doc, lang)
    return story


def _heading(text: str) -> Any:
    return _p(text, 11, bold=True)


def _grid(
    data: list[list[Any]], widths: Sequence[float], *, header: bool, right: Sequence[int] = ()
) -> Table:
    table = Table(data, colWidths=list(widths), repeatRows=1 if header else 0, hAlign="LEFT")
    style = [
        ("FONT", (0, 0), (-1, -1), SANS, 8),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), PAD),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
    ]
    if header:
        style += [("BACKGROUND", (0, 0), (-1, 0), SHADE), ("FONT", (0, 0), (-1, 0), BOLD, 8)]
    style += [("ALIGN", (i, 0), (i, -1), "RIGHT") for i in right]
    table.setStyle(TableStyle(style))
    return table


def _pairs(rows: Sequence[tuple[str, str]]) -> Table:
    data = [[_p(k, bold=True), _p(v)] for k, v in rows]
    return _grid(data, (55 * mm, WIDTH - 55 * mm), header=False)


def _parties(doc: Document, lang: str) -> Table:
    missing = words.word(lang, "missing")
    fields = ["operator", "name", "legal_name", "address", "tax_id", "bank", "iban", "bic"]
    header = [_p("", bold=True)] + [_p(words.role(lang, p.role), bold=True) for p in doc.parties]
    data = [header]
    for field in fields:
        row: list[Any] = [_p(words.word(lang, field), bold=True)]
        for p in doc.parties:
            bank = p.bank
            value = {
                "operator": p.operator, "name": p.name, "legal_name": p.legal_name, "address": p.address,
                "tax_id": p.tax_id, "bank": bank.bank_name if bank else None,
                "iban": bank.iban if bank else None, "bic": bank.bic if bank else None,
            }[field]  # fmt: skip
            row.append(_p(value or missing))
        data.append(row)
    first = 30 * mm
    rest = (WIDTH - first) / max(1, len(doc.parties))
    return _grid(data, [first] + [rest] * len(doc.parties), header=True)


def _totals(rows: Sequence[tuple[str, Decimal, str]], lang: str) -> Table:
    data = [[_p(k), words.number_text(lang, a), c] for k, a, c in rows]
    return _grid(data, (WIDTH - 65 * mm, 45 * mm, 20 * mm), header=False, right=(1,))


def _section(section: Section, lang: str) -> list[Flowable]:
    parts: list[Flowable] = [_heading(words.label(lang, section.key, section.title)), Spacer(1, 1.5 * mm)]
    if section.facts:
        rows = [(words.label(lang, f.key, f.label), f.value) for f in section.facts]
        parts += [_pairs(rows), Spacer(1, 2 * mm)]
    for table in section.tables:
        caption = words.label(lang, table.key, table.title)
        if caption and caption != words.label(lang, section.key, section.title):
            parts.append(_p(caption, 9, bold=True))
        parts += [_table(table, lang), Spacer(1, 3 * mm)]
    parts.append(Spacer(1, 2 * mm))
    return parts


def cell_text(column: Column, cell: Cell, lang: str) -> str:
    """How a cell prints: numbers grouped with every digit kept, dates by language, nothing as a dash."""
    if cell is None:
        return words.word(lang, "missing") if column.kind is CellKind.TEXT else ""
    if isinstance(cell, bool):
        return str(cell)
    if isinstance(cell, int | Decimal):
        return words.number_text(lang, cell)
    if isinstance(cell, dt.date):
        return words.date_text(lang, cell)
    return str(cell)


def _column_title(table: DocTable, column: Column, lang: str) -> str:
    text = words.label(lang, column.key, column.title)
    if column.kind is CellKind.AMOUNT and column.currency_key is None and table.currency:
        return f"{text}, {table.currency}"
    return text


def _table(table: DocTable, lang: str) -> Table:
    cols = table.columns
    body = [[cell_text(c, v, lang) for c, v in zip(cols, row, strict=True)] for row in table.rows]
    foot = [
        ["" if v is None else cell_text(c, v, lang) for c, v in zip(cols, row, strict=True)]
        for row in table.totals
    ]
    titles = [_column_title(table, c, lang) for c in cols]
    size, widths = _fit(cols, titles, body + foot)
    numeric = [i for i, c in enumerate(cols) if c.kind in NUMERIC]
    header = [
        _para(escape(t), _style(size, bold=True, right=c.kind in NUMERIC))
        for t, c in zip(titles, cols, strict=True)
    ]
    data: list[list[Any]] = [header]
    for row in body + foot:
        data.append(
            [
                v if c.kind in UNBROKEN else _para(escape(v), _style(size))
                for v, c in zip(row, cols, strict=True)
            ]
        )
    grid = _grid(data, widths, header=True, right=numeric)
    extra: list[tuple[Any, ...]] = [
        ("FONT", (0, 1), (-1, -1), SANS, size),
        ("FONT", (0, 0), (-1, 0), BOLD, size),
    ]
    if foot:
        start = len(body) + 1
        extra += [
            ("FONT", (0, start), (-1, -1), BOLD, size),
            ("LINEABOVE", (0, start), (-1, start), 0.8, INK),
        ]
    grid.setStyle(TableStyle(extra))
    return grid


def _fit(
    cols: Sequence[Column], titles: Sequence[str], rows: Sequence[Sequence[str]]
) -> tuple[float, list[float]]:
    """Column widths (and a font size from 8 down to 6) so the table fits the page: numbers keep their
    natural width, text columns share the rest and wrap."""
    size = 8.0
    widths: list[float] = []
    while size >= 6:
        natural, least = [], []
        for i, (col, title) in enumerate(zip(cols, titles, strict=True)):
            texts = [r[i] for r in rows]
            longest_word = max((pdfmetrics.stringWidth(w, BOLD, size) for w in title.split()), default=0.0)
            cells = max((pdfmetrics.stringWidth(t, SANS, size) for t in texts), default=0.0)
            cell_word = max(
                (pdfmetrics.stringWidth(w, SANS, size) for t in texts for w in t.split()), default=0.0
            )
            whole = max(cells, longest_word) + 2 * PAD
            natural.append(whole)
            # A text column may wrap between words, down to its longest word (at most 30 mm, then it breaks).
            wrapped = max(longest_word, min(cell_word, 30 * mm), 14 * mm) + 2 * PAD
            least.append(whole if col.kind in UNBROKEN else min(whole, wrapped))
        if sum(natural) <= WIDTH:
            return size, natural
        if sum(least) <= WIDTH:
            spare = WIDTH - sum(least)
            grow = [n - m for n, m in zip(natural, least, strict=True)]
            total = sum(grow) or 1.0
            return size, [m + spare * g / total for m, g in zip(least, grow, strict=True)]
        widths = least
        size -= 0.5
    scale = WIDTH / sum(widths)
    return 6.0, [w * scale for w in widths]


def _chart(title: str, labels: Sequence[str], values: Sequence[Decimal], currency: str) -> list[Flowable]:
    """A horizontal bar chart (the period report's); its numbers stay in the tables, exact."""
    if not values:
        return []
    height = 14 * len(values) + 30
    drawing = Drawing(WIDTH, height, initialFontName=SANS)  # its default, Times-Roman, is not embedded
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 110, 15, WIDTH - 130, height - 25
    chart.data = [[float(v) for v in values]]  # drawing only: bar lengths, never a printed figure
    chart.categoryAxis.categoryNames = list(labels)
    chart.categoryAxis.labels.fontName = SANS
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontName = SANS
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.Color(0.25, 0.45, 0.7)
    chart.bars[0].strokeColor = None
    drawing.add(chart)
    return [KeepTogether([_p(f"{title} ({currency})", 9, bold=True), drawing]), Spacer(1, 3 * mm)]


def _signatures(doc: Document, lang: str) -> list[Flowable]:
    names = {p.operator: p.legal_name or p.name for p in doc.parties}
    rows: list[list[Any]] = [
        [_p(words.word(lang, "signer"), bold=True),
         _p(words.word(lang, "operator"), bold=True), _p(words.word(lang, "platform_key"), bold=True)]
    ]  # fmt: skip
    for s in doc.signatures:
        rows.append(
            [_p(words.role(lang, s.role)), _p(f"{s.operator} — {names.get(s.operator, s.operator)}"),
             _p(s.key_id or words.word(lang, "missing"))]
        )  # fmt: skip
    block: list[Flowable] = [
        _heading(words.word(lang, "signatures")),
        Spacer(1, 1.5 * mm),
        _grid(rows, (35 * mm, WIDTH - 80 * mm, 45 * mm), header=True),
        Spacer(1, 2 * mm),
        _p(words.word(lang, "signature_note"), 7.5),
    ]
    return [KeepTogether(block)]
