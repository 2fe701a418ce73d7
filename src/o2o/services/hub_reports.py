"""The hub admin's read-back of what a run produced: a statement's reconciliation figures per service line
(the record counts of the matching and the rated amounts, never a path into the lake nor a record), and a
netting round with its mode, state and registered figures. `o2o demo --hub` reads its summary from these."""

from __future__ import annotations

import json
from typing import Any, Final

from o2o.bootstrap import Workspace
from o2o.domain.identity import Actor, Permission
from o2o.services.hub_cycle import plain
from o2o.services.hub_policy import statement_for

# What a line's reconciliation figures show: the counts of the matching and each side's rated amount.
MATCH_COUNTS: Final = (
    "ours", "theirs", "matched", "exact", "partial", "duration_mismatch", "only_ours", "only_theirs",
    "duplicates_ours", "duplicates_theirs", "clock_offset_s",
)  # fmt: skip
SIDE_FIGURES: Final = ("amount", "records", "rated", "billed_quantity")


def statement_reconciliation(ws: Workspace, actor: Actor, statement_id: str) -> dict[str, Any]:
    """The statement's lines with the figures of their reconciliation (None for a line without matching,
    e.g. a flat fee)."""
    actor.require(Permission.ADMIN)
    with ws.uow() as uow:
        st = statement_for(uow, actor, statement_id)
        lines = uow.cycles.lines(st.id)
        disputes = [d.id for d in uow.cycles.disputes(st.id)]
    evidence = json.loads(st.evidence)
    out = []
    for line in lines:
        figures = evidence.get(line.service, {})
        match = figures.get("match")
        out.append(
            {
                "service": line.service, "provider": line.provider, "customer": line.customer,
                "outcome": line.outcome,
                "match": None if match is None else {k: match.get(k) for k in MATCH_COUNTS},
                "provider_figures": {k: (figures.get("provider") or {}).get(k) for k in SIDE_FIGURES},
                "customer_figures": {k: (figures.get("customer") or {}).get(k) for k in SIDE_FIGURES},
                "difference": figures.get("difference"),
                "days_over_tolerance": figures.get("days_over_tolerance", []),
            }
        )  # fmt: skip
    return dict(plain({"statement": st.id, "agreement": st.agreement_id, "period": st.period,
                       "disputes": disputes, "lines": out}))  # fmt: skip


def netting_round(ws: Workspace, actor: Actor, round_id: str) -> dict[str, Any]:
    """A netting round: its period, mode, state and the figures registered for it."""
    actor.require(Permission.ADMIN)
    with ws.uow() as uow:
        rnd = uow.cycles.round(round_id)
    return dict(plain({"id": rnd.id, "period": rnd.period, "mode": rnd.mode, "state": rnd.state,
                       "figures": dict(rnd.figures)}))  # fmt: skip
