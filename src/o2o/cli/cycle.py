"""Commands of the settlement cycle: rate and reconcile imported usage, netting rounds, payments, opening
and closing a period, and the cycle's status (statements and disputes are in cli/statements.py)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from o2o.cli.context import workspace
from o2o.cli.net import net_app
from o2o.cli.output import console, print_json, print_table
from o2o.cli.rate import EngineOpt, SparkMasterOpt, rate_app, render
from o2o.services import settlement
from o2o.services.rating import rate_declarations

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
cycle_app = typer.Typer(help="The settlement cycle of each agreement and period.", no_args_is_help=True)
payment_app = typer.Typer(help="Payment instructions after netting.", no_args_is_help=True)
period_app = typer.Typer(help="Settlement periods.", no_args_is_help=True)


def rate_declared(
    ctx: typer.Context,
    agreement: Annotated[
        str | None, typer.Option("--agreement", help="Agreement id (imported usage).")
    ] = None,
    period: Annotated[str | None, typer.Option("--period", help="Period YYYY-MM.")] = None,
    declarer: Annotated[
        str | None, typer.Option("--declarer", help="Only this party's declarations.")
    ] = None,
    engine: EngineOpt = "duckdb",
    spark_master: SparkMasterOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Rate imported declarations: `o2o rate --agreement ID --period P [--declarer OP] [--engine spark]`."""
    if ctx.invoked_subcommand is not None:
        return
    if not (agreement and period):
        console.print(ctx.get_help())
        raise typer.Exit(0 if agreement is None and period is None else 2)
    results = rate_declarations(
        workspace(), agreement, period, declarer, engine=engine, spark_master=spark_master
    )
    if json_out:
        print_json([r.to_dict() for r in results])
        return
    for r in results:
        render(r, as_json=False)


def reconcile(
    period: Annotated[str, typer.Option("--period", help="Period YYYY-MM.")],
    agreement: Annotated[
        str | None, typer.Option("--agreement", help="Agreement id (default: every declared one).")
    ] = None,
    correct_clock: Annotated[
        bool, typer.Option("--correct-clock", help="Correct switch clock offsets.")
    ] = False,
    engine: EngineOpt = "duckdb",
    spark_master: SparkMasterOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Rate both parties' declarations, match records, apply tolerance: the statement, agreed or disputed."""
    # Imported here: matching loads DuckDB, Arrow and OR-Tools, which the other cycle commands never need.
    from o2o.services import period_reconciliation

    ids = [agreement] if agreement else None
    reports = period_reconciliation.reconcile_period(
        workspace(), period, ids, correct_clock=correct_clock, engine=engine, spark_master=spark_master
    )
    rows: list[dict[str, Any]] = [
        {
            "agreement": r.agreement_id,
            "statement": r.statement_id,
            "state": r.state.value,
            "disputes": list(r.disputes),
            "seconds": round(r.seconds, 2),
            "lines": [
                {
                    "service": ln.service.id,
                    "provider_amount": ln.verdict.provider_amount,
                    "customer_amount": ln.verdict.customer_amount,
                    "agreed_amount": ln.agreed_amount,
                    "disputed_amount": ln.disputed_amount,
                    "matched": ln.match.matched if ln.match else None,
                }
                for ln in r.lines
            ]
            + [
                {
                    "service": ln.service,
                    "provider_amount": ln.provider_amount,
                    "customer_amount": ln.customer_amount,
                    "agreed_amount": ln.agreed_amount,
                    "disputed_amount": ln.disputed_amount,
                    "matched": None,
                }
                for ln in r.roaming_lines
            ],
        }
        for r in reports
    ]
    if json_out:
        print_json(rows)
        return
    print_table(
        f"Reconciliation {period}",
        ["agreement", "state", "service", "provider", "customer", "agreed", "disputed", "matched"],
        (
            (r["agreement"], r["state"], ln["service"], ln["provider_amount"], ln["customer_amount"],
             ln["agreed_amount"], ln["disputed_amount"], ln["matched"] or "")
            for r in rows for ln in r["lines"]
        ),
    )  # fmt: skip


@cycle_app.command("status")
def cycle_status(
    period: Annotated[str | None, typer.Option("--period")] = None, json_out: JsonOpt = False
) -> None:
    """Each agreement's cycle: state, statement, signatures, open disputes, obligations."""
    rows = settlement.cycle_status(workspace(), period)
    if json_out:
        print_json(rows)
        return
    cols = [
        "cycle",
        "state",
        "waiting_for",
        "signatures",
        "disputes_open",
        "obligations",
        "obligations_amount",
    ]
    print_table(
        "Settlement cycles",
        cols,
        ([_cell(c, r[c]) for c in cols] for r in rows),
    )


def _cell(column: str, value: Any) -> Any:
    if column in ("signatures", "waiting_for"):
        return ", ".join(value)
    if column == "obligations_amount":  # per currency
        return ", ".join(f"{amount} {cur}" for cur, amount in value.items())
    return value


def net_run(
    period: Annotated[str, typer.Option("--period", help="Period YYYY-MM.")],
    mode: Annotated[
        str, typer.Option("--mode", help="conservative | clearing-house | direct")
    ] = "clearing-house",
    json_out: JsonOpt = False,
) -> None:
    """Net a period's signed obligations: set-offs and the payment instructions that remain."""
    issued = settlement.run_netting(workspace(), period, mode)
    data = {
        "round": issued.round.id,
        **issued.round.figures,
        "payments": [p.to_dict() for p in issued.payments],
    }
    if json_out:
        print_json(data)
        return
    for cur, f in data["currencies"].items():
        print_table(
            f"Netting round {data['round']} ({cur}, {data['mode']})",
            ["figure", "amount"],
            _round_rows(data["mode"], f),
        )


# How each mode settles what set-off leaves, as a finance reader ticks it: remaining − reduction = moved.
_REDUCTION_LABEL = {
    "conservative": "− reduced by settlement (none: each pair pays what remains)",
    "direct": "− reduced by direct settlement (net positions paid directly)",
    "clearing-house": "− reduced by clearing through the hub (net positions)",
}
_MOVED_LABEL = {
    "conservative": "= money moved (paid by debtors)",
    "direct": "= money moved (paid by net debtors)",
    "clearing-house": "= money moved (paid into the hub by net debtors)",
}


def _round_rows(mode: str, f: dict[str, Any]) -> list[tuple[str, Any]]:
    """A round's figures in the order they add up (gross − set off = remaining; remaining − reduction
    = money moved), then the hub's pay-out, the net internal debt and the counts."""
    rows: list[tuple[str, Any]] = [
        ("gross obligations", f["gross_total"]),
        ("− set off", f["cleared_total"]),
        ("= remaining", f["remaining_total"]),
        (_REDUCTION_LABEL[mode], f["reduced_by_settlement"]),
        (_MOVED_LABEL[mode], f["money_moved"]),
    ]
    if mode == "clearing-house":
        rows.append(("paid out by the hub to net creditors", f["hub_paid_out"]))
    rows += [
        ("net internal debt (least money)", f["net_internal_debt"]),
        ("obligations → payments", f"{f['obligations_count']} → {f['payments_count']}"),
    ]
    return rows


@payment_app.command("list")
def payment_list(
    round_id: Annotated[str | None, typer.Option("--round")] = None,
    status: Annotated[str | None, typer.Option("--status", help="pending | confirmed")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Payment instructions and whether they are confirmed."""
    rows = [p.to_dict() for p in settlement.list_payments(workspace(), round_id, status)]
    if json_out:
        print_json(rows)
        return
    cols = ["id", "payer", "payee", "amount", "currency", "status", "confirmed_by", "reference"]
    print_table("Payment instructions", cols, ([r[c] for c in cols] for r in rows))


@payment_app.command("confirm")
def payment_confirm(
    payment_id: str,
    confirmed_by: Annotated[
        str, typer.Option("--as", help="Who confirms: the payee (the creditor who received it) or HUB.")
    ],
    reference: Annotated[str, typer.Option("--reference", help="The bank's reference of the transfer.")],
    json_out: JsonOpt = False,
) -> None:
    """Confirm a payment was received; the last of a round settles the period's cycles."""
    done = settlement.confirm_payment(workspace(), payment_id, reference=reference, confirmed_by=confirmed_by)
    data = {"payment": done.payment.id, "round": done.payment.round_id, "round_settled": done.round_settled,
            "confirmed_by": done.payment.confirmed_by, "reference": done.payment.reference}  # fmt: skip
    if json_out:
        print_json(data)
    else:
        settled = " — round settled" if data["round_settled"] else ""
        console.print(f"confirmed {payment_id} by {confirmed_by}, reference {data['reference']}{settled}")


@period_app.command("open")
def period_open(period: str, json_out: JsonOpt = False) -> None:
    """Open the period for every agreement (`cycle status` then shows who has yet to declare)."""
    opened = settlement.open_period(workspace(), period)
    if json_out:
        print_json({"period": period, "opened": opened})
    else:
        console.print(f"opened {len(opened)} cycle(s) for {period}")


@period_app.command("close")
def period_close(period: str, json_out: JsonOpt = False) -> None:
    """Close a settled period."""
    closed = settlement.close_period(workspace(), period)
    if json_out:
        print_json({"period": period, "closed": closed})
    else:
        console.print(f"closed {len(closed)} cycle(s) of {period}")


def register(app: typer.Typer) -> None:
    rate_app.callback(invoke_without_command=True)(rate_declared)
    app.command("reconcile")(reconcile)
    net_app.command("run")(net_run)
    app.add_typer(cycle_app, name="cycle")
    app.add_typer(payment_app, name="payment")
    app.add_typer(period_app, name="period")
