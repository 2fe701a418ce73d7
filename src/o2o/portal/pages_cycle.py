"""The cycle's pages: This month (`/`), a statement to sign (`/statements/{id}`), the drill-down of a disputed
line (`/statements/{id}/lines/{service}`, its records as CSV), and disputes (`/disputes`, `/disputes/{id}`:
the timeline with its times in the user's zone; propose, counter, accept, reject, split). Every page reads through the services with the caller's actor; a form's action needs the
role the API would need (analyst for disputes, signer for signatures) and its CSRF token."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import URL

from o2o.api.deps import workspace
from o2o.bootstrap import Workspace
from o2o.domain.errors import ValidationError
from o2o.domain.identity import Permission
from o2o.portal import charts
from o2o.portal.web import Caller, Page, form_caller, render
from o2o.services import hub_cycle, hub_documents, portal_views

router = APIRouter(include_in_schema=False)
WS = Annotated[Workspace, Depends(workspace)]
FormCaller = Annotated[Caller, Depends(form_caller)]
_HEX_SIGNATURE = re.compile(r"^[0-9a-fA-F]{128}$")


def _back(url: str, **query: str) -> RedirectResponse:
    return RedirectResponse(str(URL(url).include_query_params(**query)), status_code=303)


@router.get("/", response_class=HTMLResponse)
def this_month(
    request: Request,
    caller: Page,
    ws: WS,
    period: Annotated[str, Query(max_length=7)] = "",
    counterparty: Annotated[str, Query(max_length=64)] = "",
    state: Annotated[str, Query(max_length=16)] = "",
    sort: Annotated[str, Query(max_length=16)] = "",
    desc: Annotated[int, Query(ge=0, le=1)] = 0,
) -> Response:
    per = period or portal_views.default_period(ws, caller.actor)
    view = portal_views.month(
        ws, caller.actor, per, counterparty=counterparty, state=state, sort=sort, descending=bool(desc)
    )
    return render(
        request, caller, "month.html", view=view, counterparty=counterparty, state=state, sort=sort,
        desc=desc, sort_keys=portal_views.SORT_KEYS,
    )  # fmt: skip


# --- statements and signatures ------------------------------------------------------------------------


@router.get("/statements/{statement_id}", response_class=HTMLResponse)
def statement(request: Request, statement_id: str, caller: Page, ws: WS, done: str = "") -> Response:
    st = portal_views.statement_page(ws, caller.actor, statement_id)
    return render(request, caller, "statement.html", st=st, done=done)


def _download(found: hub_documents.DocumentFile) -> Response:
    disposition = f'attachment; filename="{found.name}"'
    return Response(found.content, media_type=found.media_type, headers={"Content-Disposition": disposition})


@router.get("/statements/{statement_id}/document")
def statement_document(
    statement_id: str, caller: Page, ws: WS, format: str = "pdf", lang: str = "en"
) -> Response:
    """The statement as a file (PDF in English or Russian, XLSX, JSON), as the API serves it."""
    return _download(hub_documents.statement(ws, caller.actor, statement_id, format, lang))


@router.get("/netting/document")
def netting_document(
    caller: Page,
    ws: WS,
    round_id: Annotated[str, Query(alias="round", max_length=64)],
    kind: Annotated[str, Query(pattern="^(setoff-act|payments)$")],
    format: str = "pdf",
) -> Response:
    """The caller's set-off act of a round, or the payments it makes in it (pain.001 XML, CSV, …)."""
    if kind == "setoff-act":
        return _download(hub_documents.setoff_act(ws, caller.actor, round_id, None, format, "en"))
    return _download(hub_documents.payments(ws, caller.actor, round_id, format, "en", None))


def _signature_of(text: str, upload: bytes) -> tuple[str | None, str]:
    """The signature from the form's field or an uploaded file: 128 hex characters, or the JSON
    `{"key_id", "signature"}` that a signing tool writes."""
    raw = (upload.decode("utf-8", errors="replace") if upload else text).strip()
    if raw.startswith("{"):
        try:
            found = json.loads(raw)
            return str(found.get("key_id") or "") or None, str(found["signature"]).strip()
        except (ValueError, KeyError, AttributeError):
            raise ValidationError("signature file: JSON without a `signature` field") from None
    if not _HEX_SIGNATURE.match(raw):
        raise ValidationError("signature: 128 hexadecimal characters (an Ed25519 signature)")
    return None, raw


@router.post("/statements/{statement_id}/signatures")
async def sign(
    statement_id: str,
    caller: FormCaller,
    ws: WS,
    key_id: Annotated[str, Form(max_length=64)] = "",
    signature: Annotated[str, Form(max_length=200)] = "",
    digest: Annotated[str, Form(max_length=64)] = "",
    signature_file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    caller.actor.require(Permission.SIGN)
    upload = await signature_file.read(4096) if signature_file is not None else b""
    file_key, value = _signature_of(signature, upload)
    chosen = key_id.strip() or file_key
    if not chosen:
        raise ValidationError("key_id: the id of your key registered on the ledger")
    hub_cycle.sign_statement(ws, caller.actor, statement_id, chosen, value, digest.strip() or None)
    return _back(f"/statements/{statement_id}", done="signed")


# --- the drill-down of a disputed line -------------------------------------------------------------


def _records_of_day(line: dict[str, Any], day: str) -> list[dict[str, Any]]:
    return [r for r in line["records"] if not day or r.get("day") == day]


@router.get("/statements/{statement_id}/lines/{service}", response_class=HTMLResponse)
def line(
    request: Request,
    statement_id: str,
    service: str,
    caller: Page,
    ws: WS,
    day: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    found = portal_views.line_evidence(
        ws, caller.actor, statement_id, service, hub_cycle.MAX_EVIDENCE_RECORDS
    )
    allowed = Decimal(str(found["figures"].get("allowed", "0")))
    chart = charts.bars(
        [(d["day"], d["difference"]) for d in found["days"]],
        f"Daily difference (provider − customer) of {service}, days over tolerance",
        tolerance=allowed,
    )
    return render(
        request, caller, "line.html", line=found, chart=chart, day=day, records=_records_of_day(found, day)
    )


@router.get("/statements/{statement_id}/lines/{service}/records.csv")
def line_csv(
    statement_id: str, service: str, caller: Page, ws: WS, day: Annotated[str, Query(max_length=10)] = ""
) -> Response:
    found = portal_views.line_evidence(
        ws, caller.actor, statement_id, service, hub_cycle.MAX_EVIDENCE_RECORDS
    )
    rows = _records_of_day(found, day)
    out = io.StringIO()
    columns = list(rows[0]) if rows else ["day", "kind"]
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    name = f"{statement_id}-{service}{'-' + day if day else ''}.csv"
    return Response(
        out.getvalue(), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )  # fmt: skip


# --- disputes ------------------------------------------------------------------------------------


@router.get("/disputes", response_class=HTMLResponse)
def disputes(
    request: Request, caller: Page, ws: WS, state: Annotated[str, Query(max_length=16)] = ""
) -> Response:
    found = hub_cycle.list_disputes(ws, caller.actor, state or None)
    return render(request, caller, "disputes.html", disputes=found, state=state)


@router.get("/disputes/{dispute_id}", response_class=HTMLResponse)
def dispute(request: Request, dispute_id: str, caller: Page, ws: WS, done: str = "") -> Response:
    found = hub_cycle.show_dispute(ws, caller.actor, dispute_id)
    me = caller.actor.operator
    pending = [p for p in found["proposals"] if p["status"] == "pending"]
    theirs = pending[-1] if pending and pending[-1]["by"] != me else None
    return render(request, caller, "dispute.html", d=found, theirs=theirs, done=done)


@router.post("/disputes/{dispute_id}/proposals")
def propose(
    dispute_id: str,
    caller: FormCaller,
    ws: WS,
    amount: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
    split: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    caller.actor.require(Permission.ANALYSE)
    chosen = None if split or not amount.strip() else amount.strip()
    hub_cycle.propose(ws, caller.actor, dispute_id, chosen, note)
    return _back(f"/disputes/{dispute_id}", done="proposed")


@router.post("/disputes/{dispute_id}/concessions")
def concede(
    dispute_id: str,
    caller: FormCaller,
    ws: WS,
    amount: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Split: give up `amount` of the contested amount and keep contesting the rest."""
    caller.actor.require(Permission.ANALYSE)
    hub_cycle.concede(ws, caller.actor, dispute_id, amount.strip(), note)
    return _back(f"/disputes/{dispute_id}", done="split")


@router.post("/disputes/{dispute_id}/accept")
def accept(dispute_id: str, caller: FormCaller, ws: WS) -> Response:
    caller.actor.require(Permission.ANALYSE)
    hub_cycle.accept(ws, caller.actor, dispute_id)
    return _back(f"/disputes/{dispute_id}", done="accepted")


@router.post("/disputes/{dispute_id}/reject")
def reject(dispute_id: str, caller: FormCaller, ws: WS) -> Response:
    caller.actor.require(Permission.ANALYSE)
    hub_cycle.reject(ws, caller.actor, dispute_id)
    return _back(f"/disputes/{dispute_id}", done="rejected")
