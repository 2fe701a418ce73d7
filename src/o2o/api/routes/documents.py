"""The settlement documents for download, as files: a statement of traffic and charges, the invoices of a
signed statement, the caller's set-off act of a netting round, the act of reconciliation of mutual settlements
with a counterparty, and the payments the caller makes in a round as its bank file (ISO 20022 pain.001 XML,
or CSV). `format` picks the file (PDF/A-3 with the canonical JSON inside, XLSX, the canonical JSON), `lang`
the PDF's language. Who may read what is decided by `o2o.services.hub_documents` with the caller.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from o2o.api.auth import Reader
from o2o.api.deps import WS
from o2o.api.models import Open
from o2o.api.problems import responses
from o2o.services import hub_documents
from o2o.services.hub_documents import MEDIA_TYPES, DocumentFile

router = APIRouter(prefix="/documents", tags=["documents"], responses=responses(401, 403))

Lang = Annotated[Literal["en", "ru"], Query(description="The PDF's language.")]
DocFormat = Annotated[Literal["pdf", "xlsx", "json"], Query(alias="format")]
PayFormat = Annotated[Literal["xml", "csv", "pdf", "xlsx", "json"], Query(alias="format")]


def _files(*formats: str) -> dict[int | str, dict[str, Any]]:
    binary = {"schema": {"type": "string", "format": "binary"}}
    content = {MEDIA_TYPES[f].split(";")[0]: binary for f in formats}
    return {
        200: {"description": "The document as a file (Content-Disposition names it).", "content": content}
    }


def _served(found: DocumentFile) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{found.name}"'}
    if found.digest is not None:
        headers["X-Document-Digest"] = found.digest
    return Response(found.content, media_type=found.media_type, headers=headers)


DOCS = _files("pdf", "xlsx", "json")


@router.get("/statements/{statement_id}", response_class=Response, responses=DOCS | responses(404, 422))
def statement(statement_id: str, actor: Reader, ws: WS, fmt: DocFormat = "pdf", lang: Lang = "en") -> Any:
    """The statement of traffic and charges of one of the caller's agreements."""
    return _served(hub_documents.statement(ws, actor, statement_id, fmt, lang))


@router.get("/statements/{statement_id}/invoices", response_model=list[Open], responses=responses(404, 422))
def invoices(statement_id: str, actor: Reader, ws: WS) -> Any:
    """The invoices of one of the caller's signed statements (one per service line invoiced)."""
    return hub_documents.invoices(ws, actor, statement_id)


@router.get(
    "/statements/{statement_id}/invoices/{service}",
    response_class=Response,
    responses=DOCS | responses(404, 422),
)
def invoice(
    statement_id: str, service: str, actor: Reader, ws: WS, fmt: DocFormat = "pdf", lang: Lang = "en"
) -> Any:
    """The invoice of one service line of a signed statement (provider to customer)."""
    return _served(hub_documents.invoice(ws, actor, statement_id, service, fmt, lang))


@router.get(
    "/netting-rounds/{round_id}/setoff-act", response_class=Response, responses=DOCS | responses(404, 422)
)
def setoff_act(
    round_id: str,
    actor: Reader,
    ws: WS,
    fmt: DocFormat = "pdf",
    lang: Lang = "en",
    operator: Annotated[
        str | None, Query(max_length=32, description="The participant (the hub's admin only).")
    ] = None,
) -> Any:
    """The caller's multilateral set-off act in a netting round: its obligations set off, against whom,
    what remains."""
    return _served(hub_documents.setoff_act(ws, actor, round_id, operator, fmt, lang))


@router.get(
    "/netting-rounds/{round_id}/payments",
    response_class=Response,
    responses=_files("xml", "csv", "pdf", "xlsx", "json") | responses(404, 422),
)
def payments(
    round_id: str,
    actor: Reader,
    ws: WS,
    fmt: PayFormat = "xml",
    lang: Lang = "en",
    currency: Annotated[str | None, Query(min_length=3, max_length=3)] = None,
) -> Any:
    """The payments the caller makes in a netting round, as its bank file: ISO 20022 pain.001.001.09 XML
    (validated against the official XSD; one message per currency: name it when there are several) or CSV;
    or the instructions as a document."""
    return _served(hub_documents.payments(ws, actor, round_id, fmt, lang, currency))


@router.get("/account-act", response_class=Response, responses=DOCS | responses(404, 422))
def account_act(
    actor: Reader,
    ws: WS,
    counterparty: Annotated[str, Query(min_length=1, max_length=32)],
    date_from: Annotated[date, Query(alias="from")],
    date_to: Annotated[date, Query(alias="to")],
    fmt: DocFormat = "pdf",
    lang: Lang = "en",
) -> Any:
    """The act of reconciliation of mutual settlements between the caller and a counterparty over [from, to]."""
    return _served(hub_documents.account_act(ws, actor, counterparty, date_from, date_to, fmt, lang))
