"""Rendering of the accounts reports for the CLI: statements, reconciliations and ageing as tables or JSON.

JSON amounts are decimal strings (via `o2o.cli.output.print_json`); tables show the same figures.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from o2o.cli.output import console, print_table
from o2o.services.accounts_reports import AGEING_BUCKETS, BookReconciliation, debit_credit

if TYPE_CHECKING:
    from o2o.accounts.ageing import AgeingRow
    from o2o.accounts.book_reconciliation import BookLine, Difference
    from o2o.accounts.statement import StatementOfAccount


def print_statement(st: StatementOfAccount) -> None:
    a, b = st.party_a, st.party_b
    title = f"Statement of account {a} / {b}, {st.date_from} to {st.date_to}"
    if not st.sections:
        console.print(f"{title}: no balance and no documents")
    cols = [
        "date",
        "document",
        "kind",
        "description",
        f"{a} debit",
        f"{a} credit",
        f"{b} debit",
        f"{b} credit",
    ]
    for sec in st.sections:
        od, oc = debit_credit(sec.opening)
        cd, cc = debit_credit(sec.closing)
        rows: list[list[Any]] = [[st.date_from, "", "", "opening balance", od, oc, oc, od]]
        rows += [
            [
                ln.value_date,
                ln.document,
                ln.kind.value,
                ln.description,
                ln.debit,
                ln.credit,
                ln.credit,
                ln.debit,
            ]
            for ln in sec.lines
        ]
        td, tc = sec.debit_turnover, sec.credit_turnover
        rows.append(["", "", "", "turnover", td, tc, tc, td])
        rows.append([st.date_to, "", "", "closing balance", cd, cc, cc, cd])
        print_table(f"{title} ({sec.currency})", cols, rows)


def _line(x: BookLine | None) -> dict[str, Any] | None:
    if x is None:
        return None
    return {
        "ref": x.ref,
        "date": x.day,
        "document": x.document,
        "description": x.description,
        "amount": x.amount,
    }


def difference_dict(d: Difference) -> dict[str, Any]:
    return {
        "kind": d.kind.value,
        "document": d.document,
        "contribution": d.contribution,
        "amount_difference": d.amount_difference,
        "days_apart": d.days_apart,
        "ours": _line(d.ours),
        "theirs": _line(d.theirs),
    }


def reconciliation_dict(r: BookReconciliation) -> dict[str, Any]:
    """Amounts of lines are signed from our side (+ the partner owes us); balances each from its side."""
    return {
        "operator": r.operator,
        "counterparty": r.counterparty,
        "as_of": r.as_of,
        "tolerance_days": r.tolerance_days,
        "extract": r.source,
        "agreed": r.agreed,
        "currencies": [
            {
                "currency": c.currency,
                "our_balance": c.our_balance,
                "their_balance": c.their_balance,
                "gap": c.gap,
                "explained": sum((d.contribution for d in c.differences), c.gap - c.gap),
                "matched": len(c.matched),
                "differences": [difference_dict(d) for d in c.differences],
                "matched_lines": [{"ours": _line(o), "theirs": _line(t)} for o, t in c.matched],
            }
            for c in r.currencies
        ],
    }


def print_reconciliation(r: BookReconciliation) -> None:
    state = "books agree" if r.agreed else "books differ"
    console.print(
        f"[bold]{r.operator}[/bold] books vs [bold]{r.counterparty}[/bold] extract {r.source} "
        f"as of {r.as_of}: {state}"
    )
    for c in r.currencies:
        console.print(
            f"{c.currency}: our balance {c.our_balance} (+ {r.counterparty} owes us), "
            f"theirs {c.their_balance} (+ we owe them), gap {c.gap}; {len(c.matched)} lines matched"
        )
        if c.differences:
            cols = ["kind", "document", "our line", "their line", "ours", "theirs", "days", "gap share"]
            rows = [
                [
                    d.kind.value,
                    d.document,
                    f"{d.ours.ref} {d.ours.day}" if d.ours else "",
                    f"{d.theirs.ref} {d.theirs.day}" if d.theirs else "",
                    d.ours.amount if d.ours else "",
                    d.theirs.amount if d.theirs else "",
                    d.days_apart,
                    d.contribution,
                ]
                for d in c.differences
            ]
            print_table(f"Differences ({c.currency})", cols, rows)


def ageing_rows(rows: list[AgeingRow], operator: str | None) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        item: dict[str, Any] = {
            "creditor": r.creditor,
            "debtor": r.debtor,
            "currency": r.currency,
            "total": r.total,
            "buckets": dict(r.buckets),
            "oldest_due": r.oldest_due,
        }
        if operator is not None:
            item["counterparty"] = r.debtor if r.creditor == operator else r.creditor
            item["side"] = "receivable" if r.creditor == operator else "payable"
        out.append(item)
    return out


def print_ageing(rows: list[AgeingRow], as_of: date, operator: str | None) -> None:
    cols = ["creditor", "debtor", "currency", "total", *AGEING_BUCKETS]
    title = f"Ageing of open balances as of {as_of}" + (f" ({operator})" if operator else "")
    print_table(
        title,
        cols,
        ([r.creditor, r.debtor, r.currency, r.total, *(r.buckets[b] for b in AGEING_BUCKETS)] for r in rows),
    )
