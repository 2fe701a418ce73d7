"""Money after the statements: Netting (`/netting`: who owed whom before, what was set off, who pays whom
after; the payee confirms a payment), Accounts (`/accounts`: balances, statement of account, ageing, a
partner's extract reconciled) and the Ledger (`/ledger`: the signed head, the caller's entries, and
`/ledger/entries/{seq}` checked through its inclusion proof)."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from o2o.api.deps import workspace
from o2o.bootstrap import Workspace
from o2o.domain.errors import ValidationError
from o2o.domain.identity import Permission
from o2o.portal import charts
from o2o.portal.web import Caller, Page, form_caller, render
from o2o.services import hub_cycle, portal_views

router = APIRouter(include_in_schema=False)
WS = Annotated[Workspace, Depends(workspace)]
FormCaller = Annotated[Caller, Depends(form_caller)]
MAX_EXTRACT_BYTES = 20 * 1024 * 1024


@router.get("/netting", response_class=HTMLResponse)
def netting(
    request: Request, caller: Page, ws: WS, period: Annotated[str, Query(max_length=7)] = "", done: str = ""
) -> Response:
    per = period or portal_views.default_period(ws, caller.actor)
    view = portal_views.netting(ws, caller.actor, per)
    before: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for o in view["obligations"]:
        before[(o.debtor, o.creditor, o.currency)] += o.amount
    currency = next(iter({k[2] for k in before}), "")
    chart_before = charts.graph(
        [(d, c, amt) for (d, c, _), amt in sorted(before.items())], f"Obligations of {per}: who owes whom",
        currency,
    )  # fmt: skip
    after: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for rnd in view["rounds"]:
        for p in rnd["payments"]:
            after[(p.payer, p.payee, p.currency)] += p.amount
    chart_after = charts.graph(
        [(d, c, amt) for (d, c, _), amt in sorted(after.items())], f"Payments after netting {per}", currency
    )
    return render(
        request, caller, "netting.html", view=view, before=chart_before, after=chart_after, done=done,
        periods=portal_views.periods(ws, caller.actor),
    )  # fmt: skip


@router.post("/payments/{payment_id}/confirm")
def confirm_payment(
    payment_id: str,
    caller: FormCaller,
    ws: WS,
    reference: Annotated[str, Form(min_length=1, max_length=200)],
    period: Annotated[str, Form(max_length=7)] = "",
) -> Response:
    caller.actor.require(Permission.SIGN)
    hub_cycle.confirm_payment(ws, caller.actor, payment_id, reference)
    return RedirectResponse(f"/netting?period={period}&done=confirmed", status_code=303)


# --- accounts ------------------------------------------------------------------------------------


def _ageing_chart(rows: list[dict[str, Any]], me: str) -> Any:
    bands: list[tuple[str, list[tuple[str, Decimal]]]] = []
    for r in rows:
        other = r["debtor"] if r["creditor"] == me else r["creditor"]
        side = "owes us" if r["creditor"] == me else "we owe"
        bands.append((f"{other} {side} ({r['currency']})", sorted(r["buckets"].items())))
    return charts.stacked(bands, "Open balances by days past due")


@router.get("/accounts", response_class=HTMLResponse)
def accounts(
    request: Request,
    caller: Page,
    ws: WS,
    counterparty: Annotated[str, Query(max_length=64)] = "",
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
) -> Response:
    view = portal_views.accounts(ws, caller.actor)
    statement = None
    if counterparty:
        today = date.today()  # noqa: DTZ011  (the books' dates are calendar days, not moments)
        start = date_from or today.replace(month=1, day=1)
        statement = hub_cycle.account_statement(ws, caller.actor, counterparty, start, date_to or today)
    return render(
        request, caller, "accounts.html", view=view, statement=statement, counterparty=counterparty,
        chart=_ageing_chart(view["ageing"], view["operator"]), reconciliation=None,
    )  # fmt: skip


@router.post("/accounts/reconcile", response_class=HTMLResponse)
async def reconcile_extract(
    request: Request,
    caller: FormCaller,
    ws: WS,
    counterparty: Annotated[str, Form(min_length=1, max_length=64)],
    extract: Annotated[UploadFile, File()],
    as_of: Annotated[date | None, Form()] = None,
    tolerance_days: Annotated[int, Form(ge=0, le=366)] = 3,
) -> Response:
    caller.actor.require(Permission.ANALYSE)
    data = await extract.read(MAX_EXTRACT_BYTES + 1)
    if len(data) > MAX_EXTRACT_BYTES:
        raise ValidationError(f"extract: larger than {MAX_EXTRACT_BYTES // (1024 * 1024)} MiB")
    with tempfile.TemporaryDirectory(prefix="o2o-extract-") as tmp:
        path = Path(tmp) / Path(extract.filename or "extract.csv").name
        path.write_bytes(data)
        when = as_of or date.today()  # noqa: DTZ011
        result = hub_cycle.reconcile_extract(ws, caller.actor, counterparty, path, when, tolerance_days)
    view = portal_views.accounts(ws, caller.actor)
    return render(
        request, caller, "accounts.html", view=view, statement=None, counterparty=counterparty,
        chart=_ageing_chart(view["ageing"], view["operator"]), reconciliation=result,
    )  # fmt: skip


# --- the ledger ----------------------------------------------------------------------------------


@router.get("/ledger", response_class=HTMLResponse)
def ledger(request: Request, caller: Page, ws: WS) -> Response:
    head = hub_cycle.ledger_head(ws)
    entries = portal_views.ledger_entries(ws, caller.actor)
    return render(request, caller, "ledger.html", head=head, entries=entries)


@router.get("/ledger/entries/{seq}", response_class=HTMLResponse)
def ledger_entry(request: Request, seq: int, caller: Page, ws: WS) -> Response:
    if not 0 <= seq <= 2**62:
        raise ValidationError(f"entry {seq}: not a ledger position")
    checked = portal_views.verify_entry(ws, caller.actor, seq)
    return render(request, caller, "entry.html", checked=checked)
