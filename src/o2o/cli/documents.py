"""`o2o documents`: the settlement documents of a period, built from the store's final state.

`build` writes every document of a period (or of one operator) into a folder; the other commands write one
document (or a statement's invoices) each. `--format` takes the formats this build can write (`pdf` only when
the PDF renderer is installed); a format a document does not come in is a one-line error.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from o2o.cli.context import workspace
from o2o.cli.output import console, print_json
from o2o.domain.periods import parse_day
from o2o.services import document_files as files
from o2o.services import documents as docs
from o2o.services import documents_report as rpt

if TYPE_CHECKING:
    from o2o.documents.model import Document

documents_app = typer.Typer(
    help="Settlement documents: statements, invoices, set-off acts, acts of reconciliation, payments, report.",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print what was written as JSON.")]
OutOpt = Annotated[Path, typer.Option("--out", help="Folder to write into.")]
LangOpt = Annotated[str, typer.Option("--lang", help="Language of PDF documents: en | ru.")]
# The analyst-hours model of the period report (`build` and `report`).
PerReconciliationOpt = Annotated[
    int, typer.Option(help="Hours model: analyst minutes per manual reconciliation (service line).")
]
PerDisputeOpt = Annotated[int, typer.Option(help="Hours model: minutes per dispute.")]
PerDocumentOpt = Annotated[int, typer.Option(help="Hours model: minutes per document.")]


def _format_help() -> str:
    return "Format: " + " | ".join(files.available_formats()) + " (what applies to the document)."


FormatOpt = Annotated[str, typer.Option("--format", help=_format_help())]


def _report(written: list[tuple[str, str, list[Path]]], json_out: bool) -> None:
    if json_out:
        print_json([{"number": n, "digest": d, "files": [str(p) for p in ps]} for n, d, ps in written])
        return
    for number, digest, paths in written:
        for p in paths:
            console.print(f"{number}: {p} (digest {digest[:16]}…)")


def _write(docs_: list[Document], fmt: str, out: Path, lang: str, json_out: bool) -> None:
    ws = workspace()
    written = [(d.number, d.digest, files.write_document(ws, d, fmt, out, lang)) for d in docs_]
    _report(written, json_out)


@documents_app.command("build")
def build(
    period: Annotated[str, typer.Option("--period", help="Period YYYY-MM.")],
    out: OutOpt,
    operator: Annotated[
        str | None, typer.Option("--operator", help="Only the documents this operator is a party to.")
    ] = None,
    formats: Annotated[
        list[str] | None,
        typer.Option("--format", help=_format_help() + " Repeat for several; default xlsx, json."),
    ] = None,
    lang: LangOpt = "en",
    minutes_per_reconciliation: PerReconciliationOpt = rpt.MINUTES_PER_RECONCILIATION,
    minutes_per_dispute: PerDisputeOpt = rpt.MINUTES_PER_DISPUTE,
    minutes_per_document: PerDocumentOpt = rpt.MINUTES_PER_DOCUMENT,
    json_out: JsonOpt = False,
) -> None:
    """Every document of a period: statements, invoices, set-off acts, payments, acts of reconciliation, report."""
    model = rpt.HoursModel(minutes_per_reconciliation, minutes_per_dispute, minutes_per_document)
    built = files.build_period(
        workspace(), period, out, formats or ["xlsx", "json"], operator=operator, model=model, lang=lang
    )
    written = [(d.number, d.digest, list(paths)) for d, paths in built.documents]
    if json_out:
        _report(written, True)
    else:
        console.print(f"{len(written)} documents, {len(built.files())} files in {out}")


@documents_app.command("statement")
def statement(statement_id: str, out: OutOpt = Path("."), fmt: FormatOpt = "xlsx", lang: LangOpt = "en",
              json_out: JsonOpt = False) -> None:  # fmt: skip
    """The statement of traffic and charges of an agreement and period."""
    _write([docs.statement_document(workspace(), statement_id)], fmt, out, lang, json_out)


@documents_app.command("invoice")
def invoice(statement_id: str, out: OutOpt = Path("."), fmt: FormatOpt = "xlsx", lang: LangOpt = "en",
            json_out: JsonOpt = False) -> None:  # fmt: skip
    """The invoices of a signed statement: one per service line, provider to customer."""
    _write(docs.invoice_documents(workspace(), statement_id), fmt, out, lang, json_out)


@documents_app.command("setoff-act")
def setoff_act(
    round_id: str,
    operator: Annotated[str, typer.Option("--operator", help="The participant whose act it is.")],
    out: OutOpt = Path("."),
    fmt: FormatOpt = "xlsx",
    lang: LangOpt = "en",
    json_out: JsonOpt = False,
) -> None:
    """The multilateral set-off act of one participant of a netting round."""
    _write([docs.setoff_act(workspace(), round_id, operator)], fmt, out, lang, json_out)


@documents_app.command("account-act")
def account_act(
    between: Annotated[tuple[str, str], typer.Option("--between", help="The two operators: A B.")],
    date_from: Annotated[str, typer.Option("--from", help="First day YYYY-MM-DD.")],
    date_to: Annotated[str, typer.Option("--to", help="Last day YYYY-MM-DD.")],
    out: OutOpt = Path("."),
    fmt: FormatOpt = "xlsx",
    lang: LangOpt = "en",
    json_out: JsonOpt = False,
) -> None:
    """The act of reconciliation of mutual settlements of two operators over the dates."""
    start: date = parse_day(date_from, "--from")
    end: date = parse_day(date_to, "--to")
    _write([docs.account_act(workspace(), between[0], between[1], start, end)], fmt, out, lang, json_out)


@documents_app.command("payments")
def payments(round_id: str, out: OutOpt = Path("."), fmt: FormatOpt = "xml", lang: LangOpt = "en",
             json_out: JsonOpt = False) -> None:  # fmt: skip
    """The payment instructions of a netting round: ISO 20022 pain.001.001.09 (xml), csv, xlsx, json."""
    _write([docs.payments_document(workspace(), round_id)], fmt, out, lang, json_out)


@documents_app.command("report")
def report(
    period: Annotated[str, typer.Option("--period", help="Period YYYY-MM.")],
    out: OutOpt = Path("."),
    fmt: FormatOpt = "xlsx",
    lang: LangOpt = "en",
    minutes_per_reconciliation: PerReconciliationOpt = rpt.MINUTES_PER_RECONCILIATION,
    minutes_per_dispute: PerDisputeOpt = rpt.MINUTES_PER_DISPUTE,
    minutes_per_document: PerDocumentOpt = rpt.MINUTES_PER_DOCUMENT,
    json_out: JsonOpt = False,
) -> None:
    """The period report: what the month took and saved, with the analyst-hours model beside its assumptions."""
    model = rpt.HoursModel(minutes_per_reconciliation, minutes_per_dispute, minutes_per_document)
    ws = workspace()
    count = len(files.period_documents(ws, period))
    _write([rpt.period_report(ws, period, model, documents=count)], fmt, out, lang, json_out)


def register(app: typer.Typer) -> None:
    app.add_typer(documents_app, name="documents")
