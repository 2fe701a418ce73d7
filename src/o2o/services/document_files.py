"""Writing documents as files: JSON (the canonical bytes), XLSX, PDF (when the renderer is installed), and for a
round's payments ISO 20022 pain.001 XML (validated against the official XSD before it is written) and CSV.

`build_period` writes every document of a period into a folder: statements, invoices of signed statements,
set-off acts per round and participant, payment files per round, acts of reconciliation of mutual settlements
of every pair of operators with an agreement (from the period's first day to the end of the month after, when
its invoices, set-offs and payments are booked) and the period report. With an operator, only the documents
that operator is a party to (and no period report, which covers every operator).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from o2o.bootstrap import Workspace
from o2o.documents.model import Document, DocumentKind
from o2o.documents.pain001 import (
    Account,
    CreditTransfer,
    PaymentFile,
    build_pain001,
    payments_csv,
    validate_pain001,
    xsd_path,
)
from o2o.domain.errors import ValidationError
from o2o.domain.periods import Period
from o2o.services import documents as docs
from o2o.services.documents_report import HoursModel, period_report

# The formats each kind of document is written in (`pdf` only while the renderer is installed).
FORMATS: dict[DocumentKind, tuple[str, ...]] = {
    DocumentKind.STATEMENT: ("pdf", "xlsx", "json"),
    DocumentKind.INVOICE: ("pdf", "xlsx", "json"),
    DocumentKind.SETOFF_ACT: ("pdf", "xlsx", "json"),
    DocumentKind.ACCOUNT_ACT: ("pdf", "xlsx", "json"),
    DocumentKind.PAYMENTS: ("pdf", "xlsx", "json", "xml", "csv"),
    DocumentKind.PERIOD_REPORT: ("pdf", "xlsx", "json"),
}


def pdf_available() -> bool:
    """Whether the PDF renderer (`o2o.documents.pdf`) is installed in this build."""
    return importlib.util.find_spec("o2o.documents.pdf") is not None


def pain001_checkable() -> bool:
    """Whether the official pain.001.001.09 XSD is installed (pain.001 files are validated before writing)."""
    try:
        xsd_path()
    except ValidationError:
        return False
    return True


def available_formats() -> tuple[str, ...]:
    every = ("pdf", "xlsx", "json", "xml", "csv")
    return every if pdf_available() else tuple(f for f in every if f != "pdf")


def write_document(ws: Workspace, doc: Document, fmt: str, out_dir: Path, lang: str = "en") -> list[Path]:
    """Write `doc` in `fmt` into `out_dir` as `<number>.<ext>`; the files written."""
    allowed = FORMATS[doc.kind]
    if fmt not in allowed or fmt not in available_formats():
        shown = ", ".join(f for f in allowed if f in available_formats())
        raise ValidationError(f"--format {fmt}: a {doc.kind.value} is written as {shown}")
    out_dir.mkdir(parents=True, exist_ok=True)
    base = out_dir / doc.number
    if fmt == "json":
        path = base.with_name(doc.number + ".json")
        path.write_bytes(doc.canonical())
        return [path]
    if fmt == "xlsx":
        from o2o.documents.xlsx import write_xlsx

        return [write_xlsx(doc, base.with_name(doc.number + ".xlsx"))]
    if fmt == "pdf":
        from o2o.documents.pdf import render_pdf

        return [render_pdf(doc, base.with_name(doc.number + ".pdf"), lang=lang)]
    return _payment_files(ws, doc, fmt, out_dir)


# --- payments: pain.001 and CSV --------------------------------------------------------------------------------


def payment_files(ws: Workspace, round_id: str, payer: str | None = None) -> list[PaymentFile]:
    """The round's payment instructions (those `payer` makes, when named) as one pain.001 message per
    currency, with the operators' bank data; a payer or payee without bank details in the operators file is
    an error naming it."""
    with ws.uow() as uow:
        rnd = uow.cycles.round(round_id)
        pays = [p for p in uow.cycles.payments(round_id) if payer is None or p.payer == payer]
        accounts: dict[str, Account] = {}
        for op_id in sorted({p.payer for p in pays} | {p.payee for p in pays}):
            op = uow.operators.find(op_id)
            if op is None or op.legal is None:
                who = (
                    f"operator {op_id}"
                    if op is not None
                    else f"{op_id} (not an operator: the clearing house)"
                )
                raise ValidationError(
                    f"round {round_id}: {who} has no bank details (IBAN/BIC) in the operators file: "
                    "add its [operators.legal] table and load it"
                )
            accounts[op_id] = Account(op.id, op.legal.legal_name, op.legal.bank.iban, op.legal.bank.bic)
    when = docs.execution_date(ws, round_id)
    created = datetime.combine(Period.parse(rnd.period).next.first_day, datetime.min.time(), UTC)
    files = []
    for cur in sorted({p.currency for p in pays}):
        transfers = tuple(
            CreditTransfer(p.id, accounts[p.payer], accounts[p.payee], p.amount, p.currency,
                           f"{p.id} netting round {round_id} period {rnd.period}")
            for p in pays if p.currency == cur
        )  # fmt: skip
        message_id = f"{round_id}-{cur}" if payer is None else f"{round_id}-{payer}-{cur}"
        files.append(PaymentFile(message_id, created, when, "O2O Settle hub", cur, transfers))
    return files


def _payment_files(ws: Workspace, doc: Document, fmt: str, out_dir: Path) -> list[Path]:
    round_id = doc.number.removeprefix("PAY-")
    files = payment_files(ws, round_id)
    if fmt == "csv":
        path = out_dir / f"{doc.number}.csv"
        path.write_text(payments_csv(files), encoding="utf-8")
        return [path]
    written = []
    for pf in files:
        path = out_dir / f"{doc.number}-{pf.currency}.pain001.xml"
        xml = build_pain001(pf)
        validate_pain001(xml, path.name)
        path.write_bytes(xml)
        written.append(path)
    return written


# --- a whole period ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Built:
    """What `build_period` wrote: each document with its files."""

    documents: tuple[tuple[Document, tuple[Path, ...]], ...]

    def files(self) -> list[Path]:
        return [p for _, paths in self.documents for p in paths]


def period_documents(ws: Workspace, period: str, operator: str | None = None) -> list[Document]:
    """Every document of the period (one operator's, if named), the period report last."""
    per = Period.parse(period)
    with ws.uow() as uow:
        repo = uow.cycles
        if operator is not None:
            uow.operators.get(operator)
        statements = [s for c in repo.cycles(str(per)) if (s := repo.statement_of(c.agreement_id, c.period))]
        rounds = [r.id for r in repo.rounds(str(per))]
        parties = {s.id: tuple(docs.json_parties(s)) for s in statements}
    out: list[Document] = []
    pairs: set[tuple[str, str]] = set()
    for st in statements:
        if operator is not None and operator not in parties[st.id]:
            continue
        out.append(docs.statement_document(ws, st.id))
        if st.state.value == "signed":
            out += [d for d in docs.invoice_documents(ws, st.id) if _concerns(d, operator)]
        a, b = sorted(parties[st.id])
        pairs.add((a, b))
    for round_id in rounds:
        obligations = docs.round_participants(ws, round_id)
        for participant in obligations:
            if operator is None or participant == operator:
                out.append(docs.setoff_act(ws, round_id, participant))
        if operator is None or operator in obligations:
            out.append(docs.payments_document(ws, round_id))
    last = per.next.next.first_day - timedelta(days=1)
    out += [docs.account_act(ws, a, b, per.first_day, last) for a, b in sorted(pairs)]
    return out


def _concerns(doc: Document, operator: str | None) -> bool:
    return operator is None or any(p.operator == operator for p in doc.parties)


def build_period(
    ws: Workspace,
    period: str,
    out_dir: Path,
    formats: Sequence[str],
    operator: str | None = None,
    model: HoursModel | None = None,
    lang: str = "en",
) -> Built:
    """Write every document of the period in each of `formats` that applies to it."""
    for fmt in formats:
        if fmt not in available_formats():
            raise ValidationError(f"--format {fmt}: one of {', '.join(available_formats())}")
    documents = period_documents(ws, period, operator)
    if operator is None:
        documents.append(period_report(ws, period, model, documents=len(documents)))
    written = []
    for doc in documents:
        paths: list[Path] = []
        for fmt in _applicable(doc, formats):
            paths += write_document(ws, doc, fmt, out_dir / doc.kind.value, lang)
        written.append((doc, tuple(paths)))
    return Built(tuple(written))


def _applicable(doc: Document, formats: Iterable[str]) -> list[str]:
    return [f for f in formats if f in FORMATS[doc.kind]]
