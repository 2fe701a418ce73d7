"""The settlement documents of a period, assembled from the store's final state as typed `Document`s.

Statement of traffic and charges (per agreement and period), invoice (per signed statement line, provider to
customer), multilateral set-off act (per netting round and participant), act of reconciliation of mutual
settlements (two operators, any dates), payment instructions of a round. The period report is in
`o2o.services.documents_report`; writing files in each format is in `o2o.services.document_files`.
Read-only: each use case opens a unit of work and never commits. Every amount is the store's own figure at its
currency's minor unit (or finer, as a statement line was rounded by its agreement), per currency, never summed
across currencies.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from o2o.bootstrap import Workspace
from o2o.documents.model import (
    BankAccount,
    Cell,
    CellKind,
    Column,
    Document,
    DocumentKind,
    Fact,
    LegalParty,
    Section,
    SignatureLine,
    Table,
    Total,
    money_text,
)
from o2o.domain.agreements import SettledAgreement
from o2o.domain.disputes import Dispute
from o2o.domain.errors import NotFoundError, ValidationError
from o2o.domain.money import from_minor
from o2o.domain.obligations import Obligation, ObligationStatus, PaymentInstruction
from o2o.domain.periods import Period
from o2o.domain.statements import Statement, StatementState
from o2o.services import accounts_reports
from o2o.services.registry_data import read_settled
from o2o.store.uow import UnitOfWork

# An obligation that counts as invoiced: booked to the accounts (a withheld or cancelled part never was).
_INVOICED = (ObligationStatus.OPEN, ObligationStatus.NETTED, ObligationStatus.SETTLED)


def legal_party(uow: UnitOfWork, operator: str, role: str) -> LegalParty:
    """The operator as a document names it, with its legal data from the operators file (if given)."""
    op = uow.operators.get(operator)
    if op.legal is None:
        return LegalParty(op.id, role, op.name)
    bank = BankAccount(op.legal.bank.iban, op.legal.bank.bic, op.legal.bank.bank_name)
    return LegalParty(op.id, role, op.name, op.legal.legal_name, op.legal.address, op.legal.tax_id, bank)


def zero(currency: str) -> Decimal:
    return from_minor(0, currency)


# --- statement of traffic and charges ---------------------------------------------------------------------


def _tolerance_rule(agreement: SettledAgreement) -> str:
    tol = agreement.tolerance
    parts = []
    if tol.relative is not None:
        parts.append(f"{tol.relative * 100:g}% of the provider's amount")
    if tol.absolute is not None:
        parts.append(f"{tol.absolute} {agreement.currency}")
    if not parts:
        return "no tolerance: any difference is disputed"
    joined = (" or " if tol.combine == "either" else " and ").join(parts)
    return (
        f"a difference within {joined} is agreed without dispute; the {tol.figure.value}'s figure then stands"
    )


def statement_document(ws: Workspace, statement_id: str) -> Document:
    """The statement of traffic and charges: per service line both parties' figures, agreed and disputed."""
    with ws.uow() as uow:
        return _statement_document(uow, uow.cycles.statement(statement_id))


def _statement_document(uow: UnitOfWork, st: Statement) -> Document:
    repo = uow.cycles
    agreement, _ = read_settled(uow, st.agreement_id)
    lines = repo.lines(st.id)
    disputes = {d.service: d for d in repo.disputes(st.id)}
    cur = st.currency
    columns = (
        Column("service", "Service", CellKind.TEXT),
        Column("provider", "Provider", CellKind.TEXT),
        Column("customer", "Customer", CellKind.TEXT),
        Column("provider_amount", "Provider's figure", CellKind.AMOUNT),
        Column("customer_amount", "Customer's figure", CellKind.AMOUNT),
        Column("agreed_amount", "Agreed", CellKind.AMOUNT),
        Column("disputed_amount", "Disputed", CellKind.AMOUNT),
        Column("outcome", "Outcome", CellKind.TEXT),
        Column("dispute", "Dispute", CellKind.TEXT),
    )
    rows = tuple(
        (ln.service, ln.provider, ln.customer, ln.provider_amount, ln.customer_amount, ln.agreed_amount,
         ln.disputed_amount, ln.outcome.value, _dispute_text(disputes.get(ln.service)))
        for ln in lines
    )  # fmt: skip
    agreed = sum((ln.agreed_amount for ln in lines), zero(cur))
    disputed = sum((ln.disputed_amount for ln in lines), zero(cur))
    totals_row = (("Total", None, None, None, None, agreed, disputed, None, None),) if lines else ()
    facts = (
        Fact("agreement", "Agreement", f"{agreement.id} ({agreement.name})"),
        Fact("period", "Period", st.period),
        Fact("currency", "Currency", cur),
        Fact("state", "State", st.state.value),
        Fact("tolerance", "Tolerance rule", _tolerance_rule(agreement)),
        Fact("rounding", "Rounding", json.loads(st.document).get("rounding", "")),
        Fact("platform_digest", "Digest of the signed statement (SHA-256)", st.digest),
    )
    table = Table("lines", "Service lines", columns, rows, cur, totals_row)
    signed = {s.operator: s for s in repo.signatures(st.id)}
    signatures = tuple(
        SignatureLine(op, role, signed[op].key_id if op in signed else None,
                      signed[op].signature if op in signed else None)
        for op, role in zip(agreement.operator_ids, ("party_a", "party_b"), strict=True)
    )  # fmt: skip
    return Document(
        kind=DocumentKind.STATEMENT,
        number=st.id,
        title="Statement of traffic and charges",
        issued=Period.parse(st.period).next.first_day,
        period=st.period,
        parties=tuple(legal_party(uow, op, s.role) for op, s in zip(agreement.operator_ids, signatures, strict=True)),
        sections=(Section("statement", "Statement", facts, (table,)),),
        totals=(Total("agreed", "Agreed", agreed, cur), Total("disputed", "Disputed", disputed, cur)),
        signatures=signatures,
    )  # fmt: skip


def _dispute_text(d: Dispute | None) -> str | None:
    if d is None:
        return None
    if d.resolved_amount is not None:
        return f"{d.id} {d.state.value} at {d.resolved_amount}"
    return f"{d.id} {d.state.value}"


# --- invoices -----------------------------------------------------------------------------------------------


def invoice_documents(ws: Workspace, statement_id: str) -> list[Document]:
    """One invoice per line of a signed statement with an amount invoiced (provider to customer)."""
    with ws.uow() as uow:
        return _invoices(uow, uow.cycles.statement(statement_id))


def _invoices(uow: UnitOfWork, st: Statement) -> list[Document]:
    if st.state is not StatementState.SIGNED:
        raise ValidationError(f"statement {st.id} is {st.state.value}: invoices follow both signatures")
    repo = uow.cycles
    obligations = [o for o in repo.obligations(st.period, statuses=_INVOICED) if o.source == st.id]
    disputes = {d.id: d for d in repo.disputes(st.id)}
    out = []
    for line in repo.lines(st.id):
        mine = [o for o in obligations if o.creditor == line.provider and o.debtor == line.customer
                and _line_of(o, st) == line.service]  # fmt: skip
        if mine:
            out.append(_invoice(uow, st, line.service, line.provider, line.customer, mine, disputes))
    return out


def _line_of(ob: Obligation, st: Statement) -> str:
    """The service line of an obligation (its id is OBL-<agreement>-<period>-<service>[-disputed])."""
    rest = ob.id.removeprefix(f"OBL-{st.agreement_id}-{st.period}-")
    return rest.removesuffix("-disputed")


def _invoice(
    uow: UnitOfWork, st: Statement, service: str, provider: str, customer: str,
    obligations: list[Obligation], disputes: dict[str, Dispute],
) -> Document:  # fmt: skip
    cur = st.currency
    rows = []
    for ob in obligations:
        if ob.dispute_id is None:
            text = f"{service}: agreed amount of statement {st.id} for {st.period}"
        else:
            d = disputes.get(ob.dispute_id)
            text = f"{service}: resolution of dispute {ob.dispute_id}" + (
                f" (resolved at {d.resolved_amount})"
                if d is not None and d.resolved_amount is not None
                else ""
            )
        rows.append((ob.id, text, ob.due_date, ob.amount))
    total = sum((ob.amount for ob in obligations), zero(cur))
    columns = (
        Column("obligation", "Obligation", CellKind.TEXT),
        Column("description", "Description", CellKind.TEXT),
        Column("due_date", "Due date", CellKind.DATE),
        Column("amount", "Amount", CellKind.AMOUNT),
    )
    table = Table("items", "Items", columns, tuple(rows), cur, (("Total", None, None, total),))
    due = min((o.due_date for o in obligations if o.due_date is not None), default=None)
    facts = (
        Fact("statement", "Statement", f"{st.id} (digest {st.digest})"),
        Fact("period", "Period", st.period),
        Fact("due_date", "Payment due", "" if due is None else due.isoformat()),
        Fact("amount_due", "Amount due", money_text(total, cur)),
    )
    return Document(
        kind=DocumentKind.INVOICE,
        number=f"INV-{st.agreement_id}-{st.period}-{service}",
        title="Invoice",
        issued=Period.parse(st.period).next.first_day,
        period=st.period,
        parties=(legal_party(uow, provider, "provider"), legal_party(uow, customer, "customer")),
        sections=(Section("invoice", "Invoice", facts, (table,)),),
        totals=(Total("amount_due", "Amount due", total, cur),),
        signatures=(SignatureLine(provider, "provider"), SignatureLine(customer, "customer")),
    )


# --- multilateral set-off act -----------------------------------------------------------------------------


def setoff_act(ws: Workspace, round_id: str, operator: str) -> Document:
    """The set-off act of `operator` in a netting round: each of its obligations set off, against whom, what
    remains to pay or to receive; and the round's payments that concern it."""
    with ws.uow() as uow:
        return _setoff_act(uow, round_id, operator)


def round_obligations(uow: UnitOfWork, round_id: str) -> tuple[list[Obligation], dict[str, Decimal]]:
    """The obligations a round netted and the set-off of each (obligations of its period netted after it:
    those it set off, and those it netted with nothing set off unless an earlier round of the period set
    them off). With one round per period, as the cycle makes, this is exactly the round's obligations."""
    repo = uow.cycles
    rnd = repo.round(round_id)
    setoffs = {s.obligation_id: s.amount for s in repo.setoffs(round_id)}
    earlier: set[str] = set()
    for other in repo.rounds(rnd.period):
        if other.id != round_id and _round_no(other.id) < _round_no(round_id):
            earlier.update(s.obligation_id for s in repo.setoffs(other.id))
    netted = repo.obligations(rnd.period, statuses=(ObligationStatus.NETTED, ObligationStatus.SETTLED))
    return [o for o in netted if o.id in setoffs or o.id not in earlier], setoffs


def _round_no(round_id: str) -> int:
    return int(round_id.rsplit("-", 1)[1])


_SETOFF_COLUMNS = (
    Column("obligation", "Obligation", CellKind.TEXT),
    Column("side", "Side", CellKind.TEXT),
    Column("counterparty", "Against", CellKind.TEXT),
    Column("currency", "Currency", CellKind.TEXT),
    Column("due_date", "Due date", CellKind.DATE),
    Column("amount", "Obligation", CellKind.AMOUNT, "currency"),
    Column("set_off", "Set off", CellKind.AMOUNT, "currency"),
    Column("remaining", "Remaining", CellKind.AMOUNT, "currency"),
)


def _setoff_act(uow: UnitOfWork, round_id: str, operator: str) -> Document:
    repo = uow.cycles
    rnd = repo.round(round_id)
    obligations, setoffs = round_obligations(uow, round_id)
    mine = [o for o in obligations if operator in (o.debtor, o.creditor)]
    if not mine:
        raise NotFoundError(f"{operator} has no obligation in netting round {round_id}")
    mine.sort(key=lambda o: (o.currency, o.debtor != operator, o.id))
    rows: list[tuple[Cell, ...]] = []
    totals_rows: list[tuple[Cell, ...]] = []
    totals: list[Total] = []
    currencies = sorted({o.currency for o in mine})
    for cur in currencies:
        for side in ("payable", "receivable"):
            these = [o for o in mine if o.currency == cur and (o.debtor == operator) == (side == "payable")]
            if not these:
                continue
            cleared = [setoffs.get(o.id, zero(cur)) for o in these]
            for o, set_off in zip(these, cleared, strict=True):
                against = o.creditor if side == "payable" else o.debtor
                rows.append((o.id, side, against, cur, o.due_date, o.amount, set_off, o.amount - set_off))
            gross = sum((o.amount for o in these), zero(cur))
            off = sum(cleared, zero(cur))
            totals_rows.append((f"Total {side}", side, None, cur, None, gross, off, gross - off))
            totals.append(Total(f"{side}_set_off", f"{side.title()} set off", off, cur))
            totals.append(Total(f"{side}_remaining", f"{side.title()} remaining", gross - off, cur))
    table = Table(
        "obligations", "Obligations set off", _SETOFF_COLUMNS, tuple(rows), None, tuple(totals_rows)
    )
    pays = [p for p in repo.payments(round_id) if operator in (p.payer, p.payee)]
    pay_table = _payments_table(pays, "payments", "What remains is settled by these payments")
    counterparties = sorted({o.creditor if o.debtor == operator else o.debtor for o in mine})
    effect = (
        "the amounts set off are extinguished without payment, by the multilateral set-off of every "
        "participant of the round"
    )
    position = "; ".join(_position_text(rnd.figures, cur, operator) for cur in currencies)
    facts = (
        Fact("round", "Netting round", f"{rnd.id} ({rnd.mode}), period {rnd.period}, {rnd.state.value}"),
        Fact("legal_basis", "Effect", effect),
        Fact("position", "Net position", position),
    )
    parties = (
        legal_party(uow, operator, "participant"),
        *(legal_party(uow, c, "counterparty") for c in counterparties),
    )
    return Document(
        kind=DocumentKind.SETOFF_ACT,
        number=f"SOA-{round_id}-{operator}",
        title="Multilateral set-off act",
        issued=Period.parse(rnd.period).next.first_day,
        period=rnd.period,
        parties=parties,
        sections=(
            Section("setoff", "Set-off", facts, (table,)),
            Section("payments", "Payments", (), (pay_table,)),
        ),
        totals=tuple(totals),
        signatures=(SignatureLine(operator, "participant"),),
    )


def _position_text(figures: object, currency: str, operator: str) -> str:
    cur = figures.get("currencies", {}).get(currency, {}) if isinstance(figures, dict) else {}
    pos = cur.get("positions", {}).get(operator)
    if pos is None:
        return f"{currency}: none"
    return f"{currency}: payable {pos['payable']}, receivable {pos['receivable']}, net {pos['net']}"


def _payments_table(pays: Iterable[PaymentInstruction], key: str, title: str) -> Table:
    columns = (
        Column("payment", "Payment", CellKind.TEXT),
        Column("payer", "Payer", CellKind.TEXT),
        Column("payee", "Payee", CellKind.TEXT),
        Column("currency", "Currency", CellKind.TEXT),
        Column("amount", "Amount", CellKind.AMOUNT, "currency"),
        Column("status", "Status", CellKind.TEXT),
        Column("reference", "Bank reference", CellKind.TEXT),
    )
    rows = tuple((p.id, p.payer, p.payee, p.currency, p.amount, p.status.value, p.reference) for p in pays)
    return Table(key, title, columns, rows)


# --- act of reconciliation of mutual settlements -------------------------------------------------------------


def account_act(ws: Workspace, party_a: str, party_b: str, date_from: date, date_to: date) -> Document:
    """The act of reconciliation of mutual settlements of A and B over the dates: per currency the opening
    balance, each document, the turnover and the closing balance, in both parties' columns."""
    soa = accounts_reports.statement(ws, party_a, party_b, date_from, date_to)
    with ws.uow() as uow:
        parties = (legal_party(uow, party_a, "party_a"), legal_party(uow, party_b, "party_b"))
    a, b = party_a, party_b
    columns = (
        Column("date", "Date", CellKind.DATE),
        Column("document", "Document", CellKind.TEXT),
        Column("description", "Description", CellKind.TEXT),
        Column("a_debit", f"{a} debit", CellKind.AMOUNT),
        Column("a_credit", f"{a} credit", CellKind.AMOUNT),
        Column("b_debit", f"{b} debit", CellKind.AMOUNT),
        Column("b_credit", f"{b} credit", CellKind.AMOUNT),
    )
    sections, totals = [], []
    for sec in soa.sections:
        cur = sec.currency
        od, oc = accounts_reports.debit_credit(sec.opening)
        cd, cc = accounts_reports.debit_credit(sec.closing)
        rows = [(date_from, "opening balance", "", od, oc, oc, od)]
        rows += [(ln.value_date, ln.document, ln.description, ln.debit, ln.credit, ln.credit, ln.debit)
                 for ln in sec.lines]  # fmt: skip
        foot = (
            (None, "turnover", "", sec.debit_turnover, sec.credit_turnover, sec.credit_turnover, sec.debit_turnover),
            (date_to, "closing balance", "", cd, cc, cc, cd),
        )  # fmt: skip
        table = Table(f"account_{cur}", f"Mutual settlements in {cur}", columns, tuple(rows), cur, foot)
        owes = f"{b} owes {a}" if sec.closing > 0 else f"{a} owes {b}" if sec.closing < 0 else "no debt"
        facts = (Fact("closing", "Closing balance", f"{owes}: {money_text(abs(sec.closing), cur)}"),)
        sections.append(Section(f"currency_{cur}", cur, facts, (table,)))
        totals += [Total("opening", f"Opening balance {cur} ({a}'s side)", sec.opening, cur),
                   Total("debit_turnover", f"Debit turnover {cur}", sec.debit_turnover, cur),
                   Total("credit_turnover", f"Credit turnover {cur}", sec.credit_turnover, cur),
                   Total("closing", f"Closing balance {cur} ({a}'s side)", sec.closing, cur)]  # fmt: skip
    return Document(
        kind=DocumentKind.ACCOUNT_ACT,
        number=f"ACT-{a}-{b}-{date_from.isoformat()}-{date_to.isoformat()}",
        title="Act of reconciliation of mutual settlements",
        issued=date_to,
        period=None,
        parties=parties,
        sections=tuple(sections),
        totals=tuple(totals),
        signatures=(SignatureLine(a, "party_a"), SignatureLine(b, "party_b")),
    )


# --- payment instructions ----------------------------------------------------------------------------------


def payments_document(ws: Workspace, round_id: str, payer: str | None = None) -> Document:
    """The payment instructions of a round (those `payer` makes, when named: `PAY-<ROUND>-<PAYER>`), with
    each payer's and payee's bank details."""
    with ws.uow() as uow:
        return _payments_document(uow, round_id, payer)


def _payments_document(uow: UnitOfWork, round_id: str, payer: str | None = None) -> Document:
    repo = uow.cycles
    rnd = repo.round(round_id)
    pays = [p for p in repo.payments(round_id) if payer is None or p.payer == payer]
    obligations, _ = round_obligations(uow, round_id)
    due = min((o.due_date for o in obligations if o.due_date is not None), default=None)
    known = {op.id for op in uow.operators.all()}
    parties = tuple(
        legal_party(uow, op, "payer_or_payee") for op in sorted({p.payer for p in pays} | {p.payee for p in pays})
        if op in known
    )  # fmt: skip
    table = _payments_table(pays, "payments", "Payment instructions")
    totals = []
    for cur in sorted({p.currency for p in pays}):
        moved = sum((p.amount for p in pays if p.currency == cur), zero(cur))
        totals.append(Total("total", f"Total {cur}", moved, cur))
    facts = (
        Fact("round", "Netting round", f"{rnd.id} ({rnd.mode}), period {rnd.period}, {rnd.state.value}"),
        Fact("execution_date", "Requested execution date", "" if due is None else due.isoformat()),
        Fact("count", "Payments", str(len(pays))),
    )
    return Document(
        kind=DocumentKind.PAYMENTS,
        number=f"PAY-{round_id}" if payer is None else f"PAY-{round_id}-{payer}",
        title="Payment instructions",
        issued=Period.parse(rnd.period).next.first_day,
        period=rnd.period,
        parties=parties,
        sections=(Section("payments", "Payments", facts, (table,)),),
        totals=tuple(totals),
    )


def execution_date(ws: Workspace, round_id: str) -> date:
    """When a round's payments are due: the earliest due date of the obligations it netted."""
    with ws.uow() as uow:
        rnd = uow.cycles.round(round_id)
        obligations, _ = round_obligations(uow, round_id)
    due = [o.due_date for o in obligations if o.due_date is not None]
    return min(due) if due else Period.parse(rnd.period).next.first_day


def json_parties(st: Statement) -> list[str]:
    """The two parties of a statement, as its signed document names them."""
    return [str(p) for p in json.loads(st.document)["parties"]]


def round_participants(ws: Workspace, round_id: str) -> list[str]:
    """Every operator with an obligation in the round, in order."""
    with ws.uow() as uow:
        obligations, _ = round_obligations(uow, round_id)
    return sorted({o.debtor for o in obligations} | {o.creditor for o in obligations})
