"""Commands of the mutual-settlement books: `accounts statement|reconcile|ageing|balances`, and
`accounts post invoice|payment|adjustment`, `accounts opening`, `accounts reverse`.

Thin: parse options, call `o2o.services.accounts` / `accounts_reports`, render a table or JSON
(decimals as strings). Dates are `YYYY-MM-DD`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from o2o.cli.accounts_views import (
    ageing_rows,
    print_ageing,
    print_reconciliation,
    print_statement,
    reconciliation_dict,
)
from o2o.cli.context import workspace
from o2o.cli.output import console, print_json, print_table
from o2o.domain.currencies import check_currency
from o2o.domain.money import parse_amount
from o2o.domain.periods import parse_day
from o2o.services import accounts as svc
from o2o.services import accounts_reports as reports

if TYPE_CHECKING:
    from o2o.accounts.journal import Transfer

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
AsOf = Annotated[str | None, typer.Option("--as-of", help="Date YYYY-MM-DD (default: today).")]
Actor = Annotated[
    str, typer.Option("--actor", help="Who posts: one of the two parties, or HUB (registered on the ledger).")
]

accounts_app = typer.Typer(help="Mutual-settlement books per operator pair.", no_args_is_help=True)
post_app = typer.Typer(help="Post a document to the books by hand.", no_args_is_help=True)


def _date(text: str, option: str) -> date:
    return parse_day(text, option)


def _opt_date(text: str | None, option: str) -> date | None:
    return None if text is None else _date(text, option)


def transfer_row(t: Transfer) -> dict[str, Any]:
    return {
        "id": t.id,
        "kind": t.kind.value,
        "document": t.document,
        "debit": t.debit_party,
        "credit": t.credit_party,
        "amount": t.amount,
        "currency": t.currency,
        "value_date": t.value_date,
        "booking_date": t.booking_date,
        "due_date": t.due_date,
        "reverses": t.reverses,
        "description": t.description,
    }


def _print_transfers(transfers: list[Transfer], json_out: bool) -> None:
    rows = [transfer_row(t) for t in transfers]
    if json_out:
        print_json(rows)
        return
    cols = ["id", "kind", "document", "debit", "credit", "amount", "currency", "value_date"]
    print_table("Transfers booked", cols, ([r[c] for c in cols] for r in rows))


@accounts_app.command("statement")
def statement(
    between: Annotated[
        tuple[str, str], typer.Option("--between", help="The two operators: A B (A's side first).")
    ],
    date_from: Annotated[str, typer.Option("--from", help="First date YYYY-MM-DD.")],
    date_to: Annotated[str, typer.Option("--to", help="Last date YYYY-MM-DD.")],
    csv_file: Annotated[Path | None, typer.Option("--csv", help="Also write the statement as CSV.")] = None,
    xlsx_file: Annotated[
        Path | None, typer.Option("--xlsx", help="Also write the statement as XLSX.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Statement of account of two operators: opening balance, documents, turnover, closing balance."""
    a, b = between
    st = reports.statement(workspace(), a, b, _date(date_from, "--from"), _date(date_to, "--to"))
    reports.write_statement(st, csv_file, xlsx_file)
    if json_out:
        print_json(reports.statement_document(st))
    elif csv_file is None and xlsx_file is None:
        print_statement(st)
    else:
        written = ", ".join(str(p) for p in (csv_file, xlsx_file) if p is not None)
        console.print(f"statement of account {a}/{b} written to {written}")


@accounts_app.command("reconcile")
def reconcile(
    counterparty: Annotated[str, typer.Option("--counterparty", help="The partner whose extract this is.")],
    extract: Annotated[Path, typer.Option("--with", help="The partner's ledger extract (CSV).")],
    as_of: Annotated[str, typer.Option("--as-of", help="Reconcile the balances as of this date.")],
    operator: Annotated[
        str,
        typer.Option("--operator", envvar="O2O_OPERATOR", help="Whose books are ours (or $O2O_OPERATOR)."),
    ],
    tolerance_days: Annotated[
        int, typer.Option("--tolerance-days", help="Dates this many days apart still match.")
    ] = 5,
    json_out: JsonOpt = False,
) -> None:
    """Match a partner's ledger extract against our books; explain the closing-balance gap line by line."""
    result = reports.reconcile_with_extract(
        workspace(), operator, counterparty, extract, _date(as_of, "--as-of"), tolerance_days
    )
    if json_out:
        print_json(reconciliation_dict(result))
    else:
        print_reconciliation(result)


@accounts_app.command("extract")
def extract(
    operator: Annotated[str, typer.Option("--operator", help="Whose books: the partner giving the extract.")],
    counterparty: Annotated[
        str, typer.Option("--counterparty", help="The operator it gives the extract to.")
    ],
    out: Annotated[Path, typer.Option("--out", help="The CSV file to write (`accounts reconcile --with`).")],
    as_of: AsOf = None,
) -> None:
    """Write OPERATOR's books with COUNTERPARTY as the ledger extract `accounts reconcile --with` reads."""
    text = reports.partner_extract(workspace(), operator, counterparty, _opt_date(as_of, "--as-of"))
    out.write_text(text, encoding="utf-8")
    console.print(
        f"wrote {len(text.splitlines()) - 1} line(s) of {operator}'s books with {counterparty} to {out}"
    )


@accounts_app.command("ageing")
def ageing(
    as_of: AsOf = None,
    operator: Annotated[str | None, typer.Option("--operator", help="Only this operator's accounts.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Open balances per counterparty by days past due (not due, 1-30, 31-60, 61-90, over 90)."""
    when = _opt_date(as_of, "--as-of") or svc.today()
    rows = reports.ageing(workspace(), when, operator)
    if json_out:
        print_json({"as_of": when, "rows": ageing_rows(rows, operator)})
    else:
        print_ageing(rows, when, operator)


@accounts_app.command("balances")
def balances(
    as_of: AsOf = None,
    operator: Annotated[str | None, typer.Option("--operator", help="Only this operator's accounts.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Balance of every account (owner with counterparty, per currency) as of a date."""
    found = reports.balances(workspace(), operator, _opt_date(as_of, "--as-of"))
    rows = [
        {
            "owner": bal.account.owner,
            "counterparty": bal.account.counterparty,
            "currency": bal.account.currency,
            "balance": bal.amount,
            "side": bal.side.value,
            "as_of": bal.as_of,
        }
        for bal in found
    ]
    if json_out:
        print_json(rows)
        return
    cols = ["owner", "counterparty", "currency", "balance", "side"]
    print_table("Balances (+ receivable, - payable)", cols, ([r[c] for c in cols] for r in rows))


@post_app.command("invoice")
def post_invoice(
    statement_id: Annotated[str, typer.Option("--statement", help="The signed statement's id.")],
    service: Annotated[str, typer.Option("--service")],
    provider: Annotated[str, typer.Option("--provider", help="Who provided the service (is owed).")],
    customer: Annotated[str, typer.Option("--customer", help="Who used it (owes).")],
    amount: Annotated[str, typer.Option("--amount", help="Positive decimal in the currency's minor unit.")],
    currency: Annotated[str, typer.Option("--currency")],
    on: Annotated[str, typer.Option("--date", help="Value (document) date YYYY-MM-DD.")],
    actor: Actor,
    due: Annotated[str | None, typer.Option("--due", help="Due date YYYY-MM-DD.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Post one direction of a signed statement (the settlement cycle does this on signing)."""
    cur = check_currency(currency.upper())
    transfer = svc.post_by_hand_as(
        workspace(),
        "invoice",
        statement_id=statement_id,
        service=service,
        provider=provider,
        customer=customer,
        amount=parse_amount(amount, cur, "--amount"),
        currency=cur,
        value_date=_date(on, "--date"),
        due_date=_opt_date(due, "--due"),
        actor=actor,
    )
    _print_transfers([transfer], json_out)


@post_app.command("payment")
def post_payment(
    payment_id: Annotated[str, typer.Option("--id", help="Payment reference.")],
    payer: Annotated[str, typer.Option("--payer")],
    payee: Annotated[str, typer.Option("--payee")],
    amount: Annotated[str, typer.Option("--amount", help="Positive decimal, e.g. 1250.00.")],
    currency: Annotated[str, typer.Option("--currency")],
    on: Annotated[str, typer.Option("--date", help="Value date YYYY-MM-DD.")],
    actor: Actor,
    json_out: JsonOpt = False,
) -> None:
    """Post a confirmed payment (the payer's payable to the payee shrinks)."""
    cur = check_currency(currency.upper())
    transfer = svc.post_by_hand_as(
        workspace(),
        "payment",
        payment_id=payment_id,
        payer=payer,
        payee=payee,
        amount=parse_amount(amount, cur, "--amount"),
        currency=cur,
        date=_date(on, "--date"),
        actor=actor,
    )
    _print_transfers([transfer], json_out)


@post_app.command("adjustment")
def post_adjustment(
    dispute_id: Annotated[str, typer.Option("--dispute", help="The resolved dispute's id.")],
    provider: Annotated[str, typer.Option("--provider")],
    customer: Annotated[str, typer.Option("--customer")],
    amount: Annotated[str, typer.Option("--amount", help="> 0 debit note, < 0 credit note.")],
    currency: Annotated[str, typer.Option("--currency")],
    on: Annotated[str, typer.Option("--date", help="Value date YYYY-MM-DD.")],
    actor: Actor,
    json_out: JsonOpt = False,
) -> None:
    """Post a resolved dispute's adjustment to what the customer owes the provider."""
    cur = check_currency(currency.upper())
    transfer = svc.post_by_hand_as(
        workspace(),
        "adjustment",
        dispute_id=dispute_id,
        provider=provider,
        customer=customer,
        amount=parse_amount(amount, cur, "--amount", signed=True),
        currency=cur,
        date=_date(on, "--date"),
        actor=actor,
    )
    _print_transfers([transfer], json_out)


@accounts_app.command("opening")
def opening(
    file: Annotated[
        Path, typer.Argument(help="CSV creditor,debtor,amount,currency,date[,due_date,document]")
    ],
    actor: Annotated[
        str, typer.Option("--actor", help="Who carries the balances in: HUB, or a party of every row.")
    ] = "HUB",
    json_out: JsonOpt = False,
) -> None:
    """Carry opening balances into the books (the whole file or nothing)."""
    _print_transfers(svc.import_opening_balances(workspace(), file, actor), json_out)


@accounts_app.command("reverse")
def reverse(
    transfer_id: Annotated[int, typer.Argument(help="The transfer to cancel.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept on the reversal).")],
    actor: Actor,
    on: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="Value date (default: the original's); a day of an open period to correct a closed one.",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Correct a transfer by a reversing transfer (the journal is never edited)."""
    t = svc.reverse_transfer(workspace(), transfer_id, reason, actor, _opt_date(on, "--date"))
    _print_transfers([t], json_out)


def register(app: typer.Typer) -> None:
    accounts_app.add_typer(post_app, name="post")
    app.add_typer(accounts_app, name="accounts")
