"""The settlement documents as the hub serves them for download: each use case takes the caller (`Actor`),
decides what it may see through `hub_policy` (a foreign id answers exactly as a missing one), and returns the
file as bytes with its name and media type, made by the same writers as `o2o documents` (PDF, XLSX, the
canonical JSON; a round's payments also as ISO 20022 pain.001 XML validated against the XSD, and CSV).

- statement of traffic and charges: either party of its agreement (the hub's admin: any);
- invoices of a signed statement: the same;
- set-off act of a netting round: the caller's own operator's act (the admin names the operator);
- act of reconciliation of mutual settlements: the caller with a counterparty it has an agreement with;
- payment instructions of a round: the payments the caller's operator makes in it, as its bank file (the
  admin: the whole round).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

from o2o.bootstrap import Workspace
from o2o.documents.model import Document, DocumentKind
from o2o.documents.pain001 import build_pain001, payments_csv, validate_pain001
from o2o.domain.errors import NotFoundError, ValidationError
from o2o.domain.identity import Actor
from o2o.services import documents as docs
from o2o.services.document_files import FORMATS, available_formats, payment_files, write_document
from o2o.services.hub_policy import counterparty_for, statement_for

MEDIA_TYPES: Final[dict[str, str]] = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "xml": "application/xml",
    "csv": "text/csv; charset=utf-8",
}
LANGS: Final = ("en", "ru")


@dataclass(frozen=True, slots=True)
class DocumentFile:
    """One file to download: its name (`<number>.<ext>`), media type and bytes."""

    name: str
    media_type: str
    content: bytes
    digest: str | None = None  # the document's digest (SHA-256 of its canonical JSON); None for a bank file


def _check(kind: DocumentKind, fmt: str, lang: str) -> None:
    allowed = [f for f in FORMATS[kind] if f in available_formats()]
    if fmt not in allowed:
        raise ValidationError(f"format {fmt!r}: a {kind.value} is served as {', '.join(allowed)}")
    if lang not in LANGS:
        raise ValidationError(f"lang {lang!r}: one of {', '.join(LANGS)}")


def _file(ws: Workspace, doc: Document, fmt: str, lang: str) -> DocumentFile:
    _check(doc.kind, fmt, lang)
    with tempfile.TemporaryDirectory(prefix="o2o-document-") as folder:
        (path,) = write_document(ws, doc, fmt, Path(folder), lang)
        return DocumentFile(path.name, MEDIA_TYPES[fmt], path.read_bytes(), doc.digest)


# --- statements and their invoices ----------------------------------------------------------------------


def statement(ws: Workspace, actor: Actor, statement_id: str, fmt: str, lang: str) -> DocumentFile:
    """The statement of traffic and charges of one of the caller's agreements."""
    _check(DocumentKind.STATEMENT, fmt, lang)
    with ws.uow() as uow:
        statement_for(uow, actor, statement_id)
    return _file(ws, docs.statement_document(ws, statement_id), fmt, lang)


def _invoices(ws: Workspace, actor: Actor, statement_id: str) -> list[tuple[str, Document]]:
    """The statement's invoices, each with its service line (`INV-<agreement>-<period>-<service>`)."""
    with ws.uow() as uow:
        st = statement_for(uow, actor, statement_id)
    prefix = f"INV-{st.agreement_id}-{st.period}-"
    return [(d.number.removeprefix(prefix), d) for d in docs.invoice_documents(ws, statement_id)]


def invoices(ws: Workspace, actor: Actor, statement_id: str) -> list[dict[str, str]]:
    """The invoices of one of the caller's signed statements: per service line, who invoices whom, the amount
    due, and where to download it."""
    out = []
    for service, doc in _invoices(ws, actor, statement_id):
        provider, customer = (p.operator for p in doc.parties)
        (due,) = doc.totals
        out.append(
            {
                "number": doc.number, "service": service, "provider": provider, "customer": customer,
                "amount_due": str(due.amount), "currency": due.currency, "digest": doc.digest,
                "href": f"/api/v1/documents/statements/{statement_id}/invoices/{service}",
            }
        )  # fmt: skip
    return out


def invoice(
    ws: Workspace, actor: Actor, statement_id: str, service: str, fmt: str, lang: str
) -> DocumentFile:
    """The invoice of one service line of one of the caller's signed statements."""
    _check(DocumentKind.INVOICE, fmt, lang)
    for line, doc in _invoices(ws, actor, statement_id):
        if line == service:
            return _file(ws, doc, fmt, lang)
    raise NotFoundError(f"statement {statement_id} has no invoice for service {service!r}")


# --- netting rounds ----------------------------------------------------------------------------------------


def _round_operator(ws: Workspace, actor: Actor, round_id: str, operator: str | None) -> str | None:
    """Who the caller reads a round as: its own operator (None for the hub's admin without `operator`).
    A round the caller's operator has no part in answers as a round that does not exist."""
    unknown = NotFoundError(f"unknown netting round {round_id!r}")
    if actor.operator is not None and operator not in (None, actor.operator):
        raise unknown  # an operator reads only as itself
    who = actor.operator or operator
    with ws.uow() as uow:
        try:
            uow.cycles.round(round_id)
        except NotFoundError:
            raise unknown from None
        payments = uow.cycles.payments(round_id)
    if who is None:
        return None
    in_round = who in docs.round_participants(ws, round_id) or any(
        who in (p.payer, p.payee) for p in payments
    )
    if not in_round:
        raise unknown
    return who


def setoff_act(
    ws: Workspace, actor: Actor, round_id: str, operator: str | None, fmt: str, lang: str
) -> DocumentFile:
    """The multilateral set-off act of the caller's operator in a netting round (the admin names one)."""
    _check(DocumentKind.SETOFF_ACT, fmt, lang)
    who = _round_operator(ws, actor, round_id, operator)
    if who is None:
        raise ValidationError("operator: the hub's admin names the participant whose set-off act it reads")
    return _file(ws, docs.setoff_act(ws, round_id, who), fmt, lang)


def payments(
    ws: Workspace, actor: Actor, round_id: str, fmt: str, lang: str, currency: str | None
) -> DocumentFile:
    """The payment instructions the caller's operator makes in a round (its bank file: pain.001 XML, one
    currency per message; or CSV, PDF, XLSX, JSON). The hub's admin reads the whole round."""
    _check(DocumentKind.PAYMENTS, fmt, lang)
    payer = _round_operator(ws, actor, round_id, None)
    if fmt in ("pdf", "xlsx", "json"):
        return _file(ws, docs.payments_document(ws, round_id, payer), fmt, lang)
    files = payment_files(ws, round_id, payer)
    base = f"PAY-{round_id}" if payer is None else f"PAY-{round_id}-{payer}"
    if not files:
        who = "the round" if payer is None else payer
        raise ValidationError(
            f"{who} makes no payment in netting round {round_id}: there is no payment file "
            "(a payment to receive is in its payer's file)"
        )
    if currency is not None:
        files = [f for f in files if f.currency == currency]
        if not files:
            raise NotFoundError(f"no payment in {currency} in {base}")
    if fmt == "csv":
        suffix = "" if currency is None else f"-{currency}"
        return DocumentFile(f"{base}{suffix}.csv", MEDIA_TYPES["csv"], payments_csv(files).encode("utf-8"))
    if len(files) > 1:
        shown = ", ".join(f.currency for f in files)
        raise ValidationError(f"currency: {base} has one pain.001 message per currency ({shown}): name one")
    (pf,) = files
    name = f"{base}-{pf.currency}.pain001.xml"
    xml = build_pain001(pf)
    validate_pain001(xml, name)
    return DocumentFile(name, MEDIA_TYPES["xml"], xml)


# --- books -------------------------------------------------------------------------------------------------


def account_act(
    ws: Workspace, actor: Actor, counterparty: str, date_from: date, date_to: date, fmt: str, lang: str
) -> DocumentFile:
    """The act of reconciliation of mutual settlements of the caller's operator (party A) with a
    counterparty it has an agreement with, over [from, to]."""
    _check(DocumentKind.ACCOUNT_ACT, fmt, lang)
    if date_from > date_to:
        raise ValidationError(f"from: {date_from} is after to: {date_to}")
    me = actor.acting_operator()
    with ws.uow() as uow:
        counterparty_for(uow, actor, counterparty)
    return _file(ws, docs.account_act(ws, me, counterparty, date_from, date_to), fmt, lang)
