"""What the portal's pages show, read for the signed-in caller (`Actor`) through `hub_policy` and `hub_cycle`:
the same isolation as the API (a foreign id is unknown), assembled into the rows a page lists.

Amounts stay `Decimal` (the page formats them with the currency's minor units); "ours" and "theirs" are
from the caller's side (the provider's figure is ours when the caller provides the service). The hub's
admin sees every pair, from the provider's side.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from o2o.bootstrap import Workspace
from o2o.domain.cycle import CycleState, DisputeState, PaymentStatus
from o2o.domain.errors import NotFoundError
from o2o.domain.identity import Actor, Permission
from o2o.domain.periods import Period
from o2o.ledger.merkle import leaf_hash
from o2o.ledger.tree_heads import InclusionProof, SignedTreeHead
from o2o.services import accounts_reports, hub_cycle, settlement
from o2o.services.cycle_common import missing_declarations
from o2o.services.hub_policy import obligation_visible, payment_visible, statement_for, visible_agreements
from o2o.services.registry_data import is_roaming, read_settled
from o2o.store.repositories import now_utc

SORT_KEYS = ("agreement", "service", "state", "difference", "ours", "theirs")


@dataclass(frozen=True, slots=True)
class MonthRow:
    """One agreement and service of a month, from the caller's side."""

    agreement: str
    counterparty: str
    service: str
    provider: str
    customer: str
    currency: str
    state: str
    declarations: dict[str, dict[str, int]]  # provider | customer -> rows, rejected
    ours: Decimal | None
    theirs: Decimal | None
    outcome: str  # agreed (within tolerance) | disputed | resolved | pending
    statement: str | None
    dispute: str | None
    signatures: tuple[str, ...]
    waits_on_me: tuple[str, ...]

    @property
    def difference(self) -> Decimal | None:
        return None if self.ours is None or self.theirs is None else self.ours - self.theirs


@dataclass(frozen=True, slots=True)
class Month:
    period: str
    periods: list[str]
    rows: list[MonthRow]
    counterparties: list[str]
    states: list[str]
    waiting: int = field(default=0)
    to_confirm: list[str] = field(default_factory=list)  # the period's payments the caller is to confirm


def periods(ws: Workspace, actor: Actor) -> list[str]:
    """The periods of the caller's cycles, newest first."""
    with ws.uow() as uow:
        mine = {a.id for a in visible_agreements(uow, actor)}
        return sorted({c.period for c in uow.cycles.cycles() if c.agreement_id in mine}, reverse=True)


def default_period(ws: Workspace, actor: Actor) -> str:
    found = periods(ws, actor)
    return found[0] if found else now_utc().strftime("%Y-%m")


def _side(actor: Actor, provider: str) -> bool:
    """Whether the caller sees a line from the provider's side (the admin does)."""
    return actor.operator is None or actor.operator == provider


def month(
    ws: Workspace, actor: Actor, period: str, *, counterparty: str = "", state: str = "", sort: str = "",
    descending: bool = False,
) -> Month:  # fmt: skip
    """One row per agreement and service of the caller's cycles of `period`, filtered and sorted."""
    per = str(Period.parse(period))
    rows: list[MonthRow] = []
    with ws.uow() as uow:
        repo = uow.cycles
        # Only the caller's cycles are read (the status of every cycle of the hub is not needed here).
        for ag in visible_agreements(uow, actor):
            cycle = repo.cycle(ag.id, per)
            if cycle is None:
                continue
            declared = uow.declarations.all(ag.id, per)
            st = repo.statement_of(ag.id, per)
            waiting: list[str] = []
            if cycle.state is CycleState.OPEN:
                agreement, _ = read_settled(uow, ag.id)
                waiting = missing_declarations(agreement, {(d.service, d.role) for d in declared})
            cyc = {
                "state": cycle.state.value,
                "waiting_for": waiting,
                "signatures": [x.operator for x in repo.signatures(st.id)] if st else [],
            }
            lines = {ln.service: ln for ln in repo.lines(st.id)} if st else {}
            disputes = {d.service: d for d in repo.disputes(st.id)} if st else {}
            proposals = {
                d.id: repo.proposals(d.id) for d in disputes.values() if d.state is DisputeState.OPEN
            }
            for svc in json.loads(ag.document).get("services", []):
                rows.append(_row(actor, ag, svc, cyc, declared, st, lines, disputes, proposals))
    all_counterparties = sorted({r.counterparty for r in rows})
    all_states = sorted({r.state for r in rows})
    shown = [r for r in rows if (not counterparty or r.counterparty == counterparty)]
    shown = [r for r in shown if (not state or state in (r.state, r.outcome))]
    if sort in SORT_KEYS:
        shown.sort(key=lambda r: _sort_key(r, sort), reverse=descending)
    waits = sum(1 for r in rows if r.waits_on_me)
    to_confirm: list[str] = []
    if actor.operator is not None and actor.can(Permission.SIGN):
        with ws.uow() as uow:
            for rnd in uow.cycles.rounds(per):
                pending = uow.cycles.payments(rnd.id, PaymentStatus.PENDING)
                to_confirm += [p.id for p in pending if p.payee == actor.operator]
    periods_ = periods(ws, actor) or [per]
    return Month(per, periods_, shown, all_counterparties, all_states, waits, to_confirm)


def _sort_key(r: MonthRow, key: str) -> tuple[int, Any]:
    value = r.difference if key == "difference" else getattr(r, key)
    return (1, value) if value is None else (0, abs(value) if key == "difference" else value)


def _row(
    actor: Actor, ag: Any, svc: dict[str, Any], cyc: dict[str, Any], declared: list[Any], st: Any,
    lines: dict[str, Any], disputes: dict[str, Any], proposals: dict[str, list[Any]],
) -> MonthRow:  # fmt: skip
    sid = str(svc.get("id"))
    provider, customer = str(svc.get("provider")), str(svc.get("customer"))
    me = actor.operator
    counterparty = (ag.party_b if me == ag.party_a else ag.party_a) if me else f"{ag.party_a}–{ag.party_b}"
    decl: dict[str, dict[str, int]] = {}
    for d in declared:
        if d.service == sid:
            decl[d.role.value] = {"rows": d.totals.rows, "rejected": d.totals.rejected}
    line = lines.get(sid)
    dispute = disputes.get(sid)
    ours = theirs = None
    outcome = "pending"
    if line is not None:
        from_provider = _side(actor, provider)
        ours = line.provider_amount if from_provider else line.customer_amount
        theirs = line.customer_amount if from_provider else line.provider_amount
        outcome = line.outcome.value
    waits = _waits(actor, sid, provider, customer, cyc, st, dispute, proposals)
    return MonthRow(
        ag.id, counterparty, sid, provider, customer, ag.currency, str(cyc["state"]), decl, ours, theirs,
        outcome, st.id if st else None, dispute.id if dispute else None, tuple(cyc["signatures"]), waits,
    )  # fmt: skip


def _waits(
    actor: Actor, service: str, provider: str, customer: str, cyc: dict[str, Any], st: Any, dispute: Any,
    proposals: dict[str, list[Any]],
) -> tuple[str, ...]:  # fmt: skip
    me = actor.operator
    if me is None:
        return ()
    waits: list[str] = []
    if any(w.startswith(f"{me} ") and w.endswith(f" for {service}") for w in cyc["waiting_for"]):
        waits.append("declare")
    if dispute is not None and dispute.state is DisputeState.OPEN:
        pending = [p for p in proposals.get(dispute.id, []) if p.status.value == "pending"]
        if not pending or pending[-1].by != me:
            waits.append("answer the dispute" if pending else "propose an amount")
    if st is not None and st.state.value == "agreed" and me not in cyc["signatures"]:
        waits.append("sign")
    del provider, customer
    return tuple(waits)


# --- statements: signatures verified, the drill-down -----------------------------------------------


def statement_page(ws: Workspace, actor: Actor, statement_id: str) -> dict[str, Any]:
    """The statement (canonical document, digest, lines), each signature checked against its ledger key, and
    the caller's registered key ids (for signing in the browser)."""
    out = hub_cycle.show_statement(ws, actor, statement_id)
    canonical = str(out["canonical"]).encode()
    with ws.uow() as uow:
        ring = uow.ledger.keyring()
        out["signatures"] = [
            s | {"verified": ring.verify(s["operator"], s["key_id"], s["signature"], canonical)}
            for s in out["signatures"]
        ]
        out["my_key_ids"] = [] if actor.operator is None else ring.key_ids(actor.operator)
        parties = uow.agreements.find(str(out["agreement"]))
    out["parties"] = [] if parties is None else [parties.party_a, parties.party_b]
    out["can_sign"] = (
        actor.can(Permission.SIGN)
        and out["state"] == "agreed"
        and actor.operator not in {s["operator"] for s in out["signatures"]}
    )
    return out


def line_evidence(ws: Workspace, actor: Actor, statement_id: str, service: str, limit: int) -> dict[str, Any]:
    """One disputed line's evidence: the days over tolerance with their difference, the clock offset, and
    the records behind them (at most `limit`)."""
    found = hub_cycle.statement_evidence(ws, actor, statement_id, limit)
    for line in found["lines"]:
        if line["service"] == service:
            days = line["figures"].get("days_over_tolerance", [])
            line["days"] = [
                {"day": d["day"], "provider": Decimal(d["provider"]), "customer": Decimal(d["customer"]),
                 "difference": Decimal(d["provider"]) - Decimal(d["customer"])}
                for d in days
            ]  # fmt: skip
            line["statement"] = statement_id
            return dict(line)
    with ws.uow() as uow:
        statement_for(uow, actor, statement_id)
    raise NotFoundError(f"statement {statement_id} has no disputed line {service!r}")


# --- netting ---------------------------------------------------------------------------------------


def netting(ws: Workspace, actor: Actor, period: str) -> dict[str, Any]:
    """The period's netting rounds as the caller may see them: its own obligations (before) with their
    set-offs, its payments (after), its own net position; the round-wide figures for the hub's admin."""
    per = str(Period.parse(period))
    with ws.uow() as uow:
        repo = uow.cycles
        obligations = [o for o in repo.obligations(per) if obligation_visible(actor, o)]
        rounds = []
        for rnd in repo.rounds(per):
            setoffs = {s.obligation_id: s.amount for s in repo.setoffs(rnd.id)}
            figures = {}
            for cur, fig in dict(rnd.figures).get("currencies", {}).items():
                positions = fig.get("positions", {})
                own = {k: v for k, v in positions.items() if actor.operator is None or k == actor.operator}
                # Round-wide totals sum other pairs' debts: the hub's admin sees them, an operator its own.
                figures[cur] = (fig if actor.operator is None else {}) | {"positions": own}
            lines = [
                {"id": o.id, "debtor": o.debtor, "creditor": o.creditor, "amount": o.amount,
                 "currency": o.currency, "set_off": setoffs.get(o.id, Decimal(0)),
                 "remaining": o.amount - setoffs.get(o.id, Decimal(0))}
                for o in obligations
            ]  # fmt: skip
            pays = [p for p in repo.payments(rnd.id) if payment_visible(actor, p)]
            rounds.append(
                {"id": rnd.id, "mode": rnd.mode, "state": rnd.state.value, "figures": figures,
                 "obligations": lines, "payments": pays}
            )  # fmt: skip
    gross = sum((o.amount for o in obligations), Decimal(0))
    return {"period": per, "obligations": obligations, "rounds": rounds, "gross": gross}


def payments(ws: Workspace, actor: Actor) -> list[Any]:
    return [p for p in settlement.list_payments(ws, None, None) if payment_visible(actor, p)]


# --- the ledger ----------------------------------------------------------------------------------


def ledger_entries(ws: Workspace, actor: Actor, limit: int = 200) -> list[dict[str, Any]]:
    """The newest ledger entries that concern the caller (all of them for the hub's admin)."""
    subjects = None if actor.is_hub else hub_cycle.visible_subjects(ws, actor)
    with ws.uow() as uow:
        found = uow.ledger_store.newest(limit, None if subjects is None else sorted(subjects))
    return [
        {"seq": e.seq, "time": e.time, "kind": e.kind, "subject": e.subject, "actor": e.actor, "hash": e.hash}
        for e in found
    ]


def verify_entry(ws: Workspace, actor: Actor, seq: int) -> dict[str, Any]:
    """Entry `seq` checked as an auditor would: its leaf recomputed from the entry, the inclusion proof
    folded up to the root of the signed tree head, the head's signature checked with the hub's key."""
    bundle = hub_cycle.ledger_proof(ws, actor, seq, None)  # a foreign entry is unknown, as in the API
    proof = bundle["inclusion_proof"]
    head = bundle["tree_head"]
    with ws.uow() as uow:
        entry = uow.ledger_store.entry(seq)
        keys = uow.ledger.keyring()
    assert entry is not None
    leaf = leaf_hash(entry.leaf_input()).hex()
    inclusion = InclusionProof(proof["seq"], proof["tree_size"], leaf, list(proof["path"]))
    checks = {
        "leaf": leaf == proof["leaf_hash"],
        "inclusion": inclusion.verify(head["root_hash"]),
        "head_signature": SignedTreeHead.from_dict(head).verify(keys),
    }
    return {
        "entry": bundle["entry"], "proof": proof, "head": head, "leaf_hash": leaf, "checks": checks,
        "verified": all(checks.values()),
    }  # fmt: skip


# --- the books -----------------------------------------------------------------------------------


def accounts(ws: Workspace, actor: Actor) -> dict[str, Any]:
    """The caller's balances per counterparty and currency, and what is open by age."""
    me = actor.acting_operator()
    balances = [b for b in accounts_reports.balances(ws, me)]
    ageing = accounts_reports.ageing(ws, None, me)
    return {
        "operator": me,
        "balances": [
            {"counterparty": b.account.counterparty, "currency": b.account.currency, "amount": b.amount,
             "side": b.side.value}
            for b in balances
        ],
        "ageing": [
            {"creditor": a.creditor, "debtor": a.debtor, "currency": a.currency, "total": a.total,
             "buckets": dict(a.buckets), "oldest_due": a.oldest_due}
            for a in ageing
        ],
        "counterparties": sorted({b.account.counterparty for b in balances}),
    }  # fmt: skip


# --- declarations --------------------------------------------------------------------------------


def declarations(ws: Workspace, actor: Actor, period: str) -> list[dict[str, Any]]:
    """The caller's operator's active declarations of `period` (every party's for the hub's admin): what it
    declared, with the rows taken and rejected; the counterparty's declarations are not listed."""
    per = str(Period.parse(period))
    with ws.uow() as uow:
        out = []
        for ag in visible_agreements(uow, actor):
            for d in uow.declarations.all(ag.id, per):
                if actor.operator is None or d.declarer == actor.operator:
                    out.append(
                        {"id": d.id, "agreement": d.agreement_id, "service": d.service, "role": d.role.value,
                         "declarer": d.declarer, "rows": d.totals.rows, "rejected": d.totals.rejected,
                         "source": d.source_name, "created_at": d.created_at}
                    )  # fmt: skip
    return out


def declarable(ws: Workspace, actor: Actor) -> list[dict[str, Any]]:
    """What the caller's operator may declare: each of its interconnect agreements with the services it is a
    party to (as provider or customer), and each of its roaming agreements (`kind` roaming, no service: its
    BWRP usage report declares both directions)."""
    me = actor.operator
    with ws.uow() as uow:
        found: list[dict[str, Any]] = []
        for ag in visible_agreements(uow, actor):
            if is_roaming(ag):
                partner = ag.party_b if ag.party_a == me else ag.party_a
                found.append({"id": ag.id, "kind": "roaming", "partner": partner, "services": []})
                continue
            services = [
                {"id": str(s.get("id")), "role": "provider" if s.get("provider") == me else "customer"}
                for s in json.loads(ag.document).get("services", [])
                if me in (s.get("provider"), s.get("customer"))
            ]
            if services:
                found.append({"id": ag.id, "kind": "interconnect", "services": services})
    return found
