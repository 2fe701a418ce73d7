"""`o2o hub status|statements|declare|events|evidence|dispute …|payment …`: an operator's client of a hub, with its own token.

The hub's address comes from `--hub` or `O2O_HUB_URL`, the token from `--token` or `O2O_HUB_TOKEN`; the
commands run on the operator's side, against a hub of any host (signing is `o2o statement sign --hub`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer

from o2o.cli.output import console, print_json, print_table
from o2o.domain.errors import ValidationError
from o2o.services import hub_client as client_svc

HubOpt = Annotated[
    str | None,
    typer.Option(
        "--hub", envvar="O2O_HUB_URL", show_envvar=True, help="The hub, e.g. http://127.0.0.1:8000."
    ),
]
TokenOpt = Annotated[
    str | None, typer.Option("--token", envvar="O2O_HUB_TOKEN", show_envvar=True, help="Your API token.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
PeriodOpt = Annotated[str | None, typer.Option("--period", help="Only this period YYYY-MM.")]


def _client(hub: str | None, token: str | None, what: str) -> client_svc.HubClient:
    if not hub:
        raise ValidationError(f"no hub to {what}: give --hub URL or set O2O_HUB_URL")
    return client_svc.HubClient(hub, token)


def _say(line: str) -> None:
    console.print(line, soft_wrap=True, highlight=False, markup=False)


def hub_status(
    period: PeriodOpt = None,
    hub: HubOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Who your token is and the state of your operator's cycles (what each waits for)."""
    client_svc.check_period(period)
    with _client(hub, token, "read the cycles") as client:
        data = client_svc.status(client, period)
    if json_out:
        print_json(data)
        return
    me = data["me"]
    _say(f"{me.get('user')} ({me.get('role')} of {me.get('operator')}) on {hub}")
    columns = ["agreement", "period", "state", "waiting_for", "statement", "signatures", "disputes_open"]
    _table("Cycles", columns, data["cycles"])


def hub_statements(
    period: PeriodOpt = None,
    hub: HubOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The statements of your agreements, with their digest and who has signed them."""
    client_svc.check_period(period)
    with _client(hub, token, "list the statements") as client:
        rows = client_svc.statements(client, period)
    if json_out:
        print_json(rows)
        return
    columns = ["id", "state", "currency", "digest", "signatures", "disputes"]
    shown = ({**r, "digest": str(r.get("digest", ""))[:12]} for r in rows)  # the full one with --json
    _table("Statements", columns, shown)


def hub_declare(
    file: Annotated[
        Path,
        typer.Argument(
            help="Your usage file (CSV or Parquet; clear or pseudonymised; a roaming agreement's: BWRP usage JSON)."
        ),
    ],
    agreement: Annotated[str, typer.Option("--agreement", help="Agreement id.")],
    period: Annotated[str, typer.Option("--period", help="Settlement period YYYY-MM.")],
    service: Annotated[str | None, typer.Option("--service", help="Service id of the agreement.")] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="csv, parquet or bwrp (default: by the file's suffix; .json is bwrp)."),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Confirm a replacement with rejected rows or far fewer rows.")
    ] = False,
    hub: HubOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Declare your usage on the hub (the file streamed up; the hub imports it as `o2o usage import`)."""
    client_svc.check_period(period)
    with _client(hub, token, f"declare {file} for --agreement {agreement}") as client:
        done = client_svc.declare(client, file, agreement, period, service, fmt, replace)
    if json_out:
        print_json(done)
        return
    if "declarations" in done:  # a BWRP usage report: one declaration per direction
        _say_roaming(file, hub, done)
        return
    if done.get("already_imported"):
        _say(f"{file}: already declared as {done.get('id')} (same sha256); nothing to do")
        return
    replaced = f"; replaces {done['replaced']}" if done.get("replaced") else ""
    _say(
        f"declared {file} on {hub} as {done.get('id')}: {done.get('rows')} rows accepted, "
        f"{done.get('rejected')} rejected{replaced}"
    )


def _say_roaming(file: Path, hub: str | None, done: dict[str, Any]) -> None:
    rows = [d for d in done["declarations"] if isinstance(d, dict)]
    if done.get("already_imported"):
        ids = ", ".join(str(d.get("id")) for d in rows)
        _say(f"{file}: already declared as {ids} (same sha256); nothing to do")
        return
    for d in rows:
        replaced = f"; replaces {d['replaced']}" if d.get("replaced") else ""
        _say(
            f"declared {file} on {hub} as {d.get('id')}: {d.get('service')} ({d.get('role')}), "
            f"{d.get('rows')} usage rows{replaced}"
        )


def hub_events(
    after: Annotated[
        int, typer.Option("--after", help="The last event seq you have seen (-1: from the start).")
    ] = -1,
    limit: Annotated[int, typer.Option("--limit", help="At most this many events.", min=1, max=1000)] = 100,
    hub: HubOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """What happened to your agreements after the cursor (ask again with --after NEXT)."""
    with _client(hub, token, "read the events") as client:
        page = client_svc.events(client, after, limit)
    if json_out:
        print_json(page)
        return
    columns = ["seq", "type", "time", "subject", "actor", "agreement"]
    _table("Events", columns, page["events"])
    more = " (more waiting)" if page.get("more") else ""
    _say(f"next: --after {page.get('next_after')}{more}")


dispute_app = typer.Typer(
    help="Your disputes on the hub: list, show, propose, split, accept, reject.", no_args_is_help=True
)
payment_app = typer.Typer(
    help="Payments on the hub: list, and confirm one you received.", no_args_is_help=True
)
DisputeArg = Annotated[str, typer.Argument(help="The dispute id.")]


def dispute_list(
    state: Annotated[
        str | None, typer.Option("--state", help="Only disputes in this state (open, …).")
    ] = None,
    hub: HubOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The disputes between your operator and its counterparties."""
    with _client(hub, token, "list the disputes") as client:
        rows = client_svc.disputes(client, state)
    if json_out:
        print_json(rows)
        return
    columns = [
        "id",
        "state",
        "currency",
        "provider_amount",
        "customer_amount",
        "split_offer",
        "resolved_amount",
    ]
    _table("Disputes", columns, rows)


def dispute_show(
    dispute_id: DisputeArg, hub: HubOpt = None, token: TokenOpt = None, json_out: JsonOpt = False
) -> None:
    """One dispute: its figures and the proposals made so far."""
    with _client(hub, token, f"read dispute {dispute_id}") as client:
        data = client_svc.dispute(client, dispute_id)
    if json_out:
        print_json(data)
        return
    _say_dispute(data)
    columns = ["seq", "by", "amount", "status", "note"]
    proposals = data.get("proposals") or []
    _table("Proposals", columns, proposals)


def dispute_propose(
    dispute_id: DisputeArg,
    amount: Annotated[
        str | None, typer.Option("--amount", help="The amount you propose (default: split the difference).")
    ] = None,
    note: Annotated[str, typer.Option("--note", help="A note for the counterparty.")] = "",
    hub: HubOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Propose an amount for the disputed line (none given: split the difference)."""
    client_svc.check_amount(amount)
    offer = f"--amount {amount}" if amount is not None else "to split the difference"
    with _client(hub, token, f"propose {offer} on dispute {dispute_id}") as client:
        data = client_svc.propose(client, dispute_id, amount, note)
    _done(data, json_out, "proposed on")


def dispute_split(
    dispute_id: DisputeArg,
    amount: Annotated[
        str,
        typer.Option("--amount", help="The part of the contested amount you accept (less than all of it)."),
    ],
    note: Annotated[str, typer.Option("--note", help="A note for the counterparty.")] = "",
    hub: HubOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Split: accept a part of the contested amount and keep contesting the rest."""
    client_svc.check_amount(amount)
    with _client(hub, token, f"split --amount {amount} on dispute {dispute_id}") as client:
        data = client_svc.concede(client, dispute_id, amount, note)
    _done(data, json_out, "split")


def dispute_accept(
    dispute_id: DisputeArg, hub: HubOpt = None, token: TokenOpt = None, json_out: JsonOpt = False
) -> None:
    """Accept the counterparty's latest proposal: the dispute is resolved at its amount."""
    with _client(hub, token, f"accept on dispute {dispute_id}") as client:
        data = client_svc.answer(client, dispute_id, "accept")
    _done(data, json_out, "accepted on")


def dispute_reject(
    dispute_id: DisputeArg, hub: HubOpt = None, token: TokenOpt = None, json_out: JsonOpt = False
) -> None:
    """Reject the counterparty's latest proposal."""
    with _client(hub, token, f"reject on dispute {dispute_id}") as client:
        data = client_svc.answer(client, dispute_id, "reject")
    _done(data, json_out, "rejected on")


def _done(data: dict[str, Any], json_out: bool, did: str) -> None:
    if json_out:
        print_json(data)
        return
    _say(f"{did} {data.get('id')}")
    _say_dispute(data)


def _say_dispute(d: dict[str, Any]) -> None:
    resolved = f", resolved at {d['resolved_amount']}" if d.get("resolved_amount") is not None else ""
    _say(
        f"{d.get('id')} ({d.get('statement')} {d.get('service')}): {d.get('state')}; "
        f"{d.get('provider')} says {d.get('provider_amount')}, {d.get('customer')} says {d.get('customer_amount')} "
        f"{d.get('currency')}; split {d.get('split_offer')}{resolved}"
    )


def hub_evidence(
    statement: Annotated[str, typer.Argument(help="The statement id.")],
    out: Annotated[Path, typer.Option("--out", help="The folder to write the evidence into.")],
    limit: Annotated[
        int, typer.Option("--limit", help="At most this many records per disputed line.", min=0, max=10_000)
    ] = 1000,
    hub: HubOpt = None,
    token: TokenOpt = None,
) -> None:
    """Download the evidence of a statement's disputed lines: the figures and the differing records."""
    with _client(hub, token, f"read the evidence of {statement}") as client:
        written = client_svc.evidence(client, statement, out, limit)
    for path in written:
        _say(f"wrote {path}")


def payment_list(
    status: Annotated[str | None, typer.Option("--status", help="Only payments in this status.")] = None,
    hub: HubOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The payment instructions your operator pays or receives."""
    with _client(hub, token, "list the payments") as client:
        rows = client_svc.payments(client, status)
    if json_out:
        print_json(rows)
        return
    columns = ["id", "round_id", "payer", "payee", "amount", "currency", "status"]
    _table("Payments", columns, rows)


def payment_confirm(
    payment_id: Annotated[str, typer.Argument(help="The payment instruction id.")],
    reference: Annotated[str, typer.Option("--reference", help="The bank's reference of the payment.")],
    hub: HubOpt = None,
    token: TokenOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Confirm, as the payee, that a payment arrived (the last of a round settles the round)."""
    with _client(hub, token, f"confirm payment {payment_id}") as client:
        data = client_svc.confirm_payment(client, payment_id, reference)
    if json_out:
        print_json(data)
        return
    pay = data.get("payment") or {}
    settled = "; the round is settled" if data.get("round_settled") else ""
    _say(
        f"confirmed {pay.get('id')}: {pay.get('amount')} {pay.get('currency')} from {pay.get('payer')} "
        f"to {pay.get('payee')}, {pay.get('status')}{settled}"
    )


def _table(title: str, columns: list[str], rows: Iterable[dict[str, Any]]) -> None:
    print_table(title, columns, ([_cell(r.get(k)) for k in columns] for r in rows))


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def register(app: typer.Typer) -> None:
    """The client's commands go onto the `hub` group (`o2o.cli.hub`, registered beside this module)."""
    from o2o.cli.hub import hub_app

    hub_app.command("status")(hub_status)
    hub_app.command("statements")(hub_statements)
    hub_app.command("declare")(hub_declare)
    hub_app.command("events")(hub_events)
    hub_app.command("evidence")(hub_evidence)
    for name, fn in (("list", dispute_list), ("show", dispute_show), ("propose", dispute_propose),
                     ("split", dispute_split), ("accept", dispute_accept), ("reject", dispute_reject)):  # fmt: skip
        dispute_app.command(name)(fn)
    hub_app.add_typer(dispute_app, name="dispute")
    payment_app.command("list")(payment_list)
    payment_app.command("confirm")(payment_confirm)
    hub_app.add_typer(payment_app, name="payment")
