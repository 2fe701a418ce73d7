"""The settlement cycle as the hub serves it: each use case takes the authenticated caller (`Actor`), sees
only what `hub_policy` lets it see, and acts through the same services as the local CLI, so every change
lands on the ledger in the same transaction, naming the user and token that made it.

Results are plain JSON data: amounts are decimal strings (never floats), dates ISO-8601. Lake paths (where
the hub keeps usage, rated and match files) are never served: the evidence of a disputed line is served as
its records, and a counterparty's raw usage file not at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from o2o.bootstrap import Workspace
from o2o.domain.cycle import DisputeState, PaymentStatus, parse_state
from o2o.domain.errors import NotFoundError, O2OError, ValidationError
from o2o.domain.identity import Actor, Permission
from o2o.domain.obligations import ObligationStatus
from o2o.domain.periods import Period
from o2o.services import accounts_reports, disputes, settlement, statements
from o2o.services.hub_policy import (
    agreement_for,
    concerns,
    counterparty_for,
    dispute_for,
    obligation_visible,
    payment_for,
    payment_visible,
    statement_for,
    visible_agreement_ids,
    visible_agreements,
)
from o2o.services.ledger import current_head, prove_entry

# How many evidence records one answer carries at most (the `limit` query parameter lowers it).
MAX_EVIDENCE_RECORDS = 10_000
# Keys of the reconciliation figures that name files in the hub's lake.
_LAKE_KEYS = frozenset({"summary", "unrated_file", "files", "file"})


def plain(value: Any) -> Any:
    """JSON data of a value: Decimal as its exact text, dates ISO-8601, enums by value, dataclasses as dicts."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


def _without_lake_paths(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_lake_paths(v) for k, v in value.items() if k not in _LAKE_KEYS}
    if isinstance(value, list):
        return [_without_lake_paths(v) for v in value]
    return value


def _period(period: str | None) -> str | None:
    return None if period is None else str(Period.parse(period))


# --- who and which agreements ---------------------------------------------------------------------


def me(ws: Workspace, actor: Actor) -> dict[str, Any]:
    """The caller: its user, operator, role, what the role may do, and its agreements."""
    with ws.uow() as uow:
        agreements = sorted(a.id for a in visible_agreements(uow, actor))
    return {
        "user": actor.user_name,
        "user_id": actor.user_id,
        "operator": actor.ledger_name,
        "role": actor.role.value,
        "permissions": sorted(p.value for p in Permission if actor.can(p)),
        "token_id": actor.token_id,
        "agreements": agreements,
    }


def agreements(ws: Workspace, actor: Actor) -> list[dict[str, Any]]:
    with ws.uow() as uow:
        return [
            {
                "id": a.id, "name": a.name, "currency": a.currency, "parties": [a.party_a, a.party_b],
                "revision": a.revision, "sha256": a.sha256, "loaded_at": a.loaded_at.isoformat(),
            }
            for a in visible_agreements(uow, actor)
        ]  # fmt: skip


def agreement(ws: Workspace, actor: Actor, agreement_id: str) -> dict[str, Any]:
    """One of the caller's agreements with its validated document."""
    with ws.uow() as uow:
        a = agreement_for(uow, actor, agreement_id)
    return {
        "id": a.id, "name": a.name, "currency": a.currency, "parties": [a.party_a, a.party_b],
        "revision": a.revision, "sha256": a.sha256, "document": json.loads(a.document),
    }  # fmt: skip


def cycles(ws: Workspace, actor: Actor, period: str | None) -> list[dict[str, Any]]:
    """The status of the caller's cycles (of `period`)."""
    found = settlement.cycle_status(ws, _period(period))
    with ws.uow() as uow:
        mine = visible_agreement_ids(uow, actor)
    return [c for c in found if c["agreement"] in mine]


# --- statements ----------------------------------------------------------------------------------


def list_statements(ws: Workspace, actor: Actor, period: str | None) -> list[dict[str, Any]]:
    found = statements.list_statements(ws, _period(period))
    with ws.uow() as uow:
        mine = visible_agreement_ids(uow, actor)
    return [plain(v.summary()) for v in found if v.statement.agreement_id in mine]


def show_statement(ws: Workspace, actor: Actor, statement_id: str) -> dict[str, Any]:
    """The statement with its canonical document (the exact text a party signs) and its digest."""
    with ws.uow() as uow:
        statement_for(uow, actor, statement_id)
    view = statements.show_statement(ws, statement_id)
    out = plain(view.to_dict())
    out.pop("evidence", None)  # served by `statement_evidence`, without the lake's paths
    out["canonical"] = view.statement.document
    out["signing"] = {
        "algorithm": "Ed25519",
        "message": "the UTF-8 bytes of `canonical` (RFC 8785 JSON); sha256 of them is `digest`",
        "signature": "128 hexadecimal characters",
    }
    return dict(out)


def statement_evidence(ws: Workspace, actor: Actor, statement_id: str, limit: int) -> dict[str, Any]:
    """The evidence of the statement's disputed lines: the figures and the records behind the days over
    tolerance (never a party's usage file, nor the lines that were agreed)."""
    if not 0 <= limit <= MAX_EVIDENCE_RECORDS:
        raise ValidationError(f"limit: {limit} is not between 0 and {MAX_EVIDENCE_RECORDS}")
    with ws.uow() as uow:
        st = statement_for(uow, actor, statement_id)
        disputed = {d.service: d for d in uow.cycles.disputes(st.id)}
    evidence = json.loads(st.evidence)
    lines = []
    for service, dispute in sorted(disputed.items()):
        figures = evidence.get(service, {})
        records_file = (figures.get("records") or {}).get("file")
        records: list[dict[str, Any]] = []
        if records_file and limit:
            records = _evidence_records(ws.lake.root / records_file, limit)
        lines.append(
            {
                "service": service,
                "dispute": dispute.id,
                "figures": _without_lake_paths(figures),
                "records": records,
                "records_total": sum((figures.get("records") or {}).get("counts", {}).values()),
            }
        )
    return {"statement": st.id, "lines": lines}


def _evidence_records(path: Path, limit: int) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq  # only a disputed line's evidence needs Arrow here

    if not path.is_file():
        return []
    table = pq.read_table(path)
    return [plain(r) for r in table.slice(0, limit).to_pylist()]


def sign_statement(
    ws: Workspace, actor: Actor, statement_id: str, key_id: str, signature: str, reviewed: str | None
) -> dict[str, Any]:
    with ws.uow() as uow:
        statement_for(uow, actor, statement_id)
    result = statements.submit_signature(ws, statement_id, actor, key_id, signature, reviewed)
    return {
        "statement": result.statement_id,
        "operator": result.operator,
        "complete": result.complete,
        "obligations": list(result.obligations),
    }


# --- disputes ------------------------------------------------------------------------------------


def list_disputes(ws: Workspace, actor: Actor, state: str | None) -> list[dict[str, Any]]:
    if state is not None:
        parse_state(DisputeState, state, "state")
    found = disputes.list_disputes(ws, state)
    return [plain(v.to_dict()) for v in found if concerns(actor, v.dispute.provider, v.dispute.customer)]


def show_dispute(ws: Workspace, actor: Actor, dispute_id: str) -> dict[str, Any]:
    with ws.uow() as uow:
        dispute_for(uow, actor, dispute_id)
    out = plain(disputes.show_dispute(ws, dispute_id).to_dict(detail=True))
    out["evidence"] = _without_lake_paths(out["evidence"])
    return dict(out)


def _check_dispute(ws: Workspace, actor: Actor, dispute_id: str) -> str:
    with ws.uow() as uow:
        dispute_for(uow, actor, dispute_id)
    return actor.acting_operator()


def propose(ws: Workspace, actor: Actor, dispute_id: str, amount: str | None, note: str) -> dict[str, Any]:
    operator = _check_dispute(ws, actor, dispute_id)
    view = disputes.propose(ws, dispute_id, operator, amount, note, via=actor)
    return dict(plain(view.to_dict(detail=True)) | {"evidence": None})


def accept(ws: Workspace, actor: Actor, dispute_id: str) -> dict[str, Any]:
    operator = _check_dispute(ws, actor, dispute_id)
    view = disputes.accept(ws, dispute_id, operator, via=actor)
    return dict(plain(view.to_dict(detail=True)) | {"evidence": None})


def concede(ws: Workspace, actor: Actor, dispute_id: str, amount: str, note: str) -> dict[str, Any]:
    """Split the contested amount: the caller's operator gives up `amount` of it, contesting the rest."""
    operator = _check_dispute(ws, actor, dispute_id)
    view = disputes.concede(ws, dispute_id, operator, amount, note, via=actor)
    return dict(plain(view.to_dict(detail=True)) | {"evidence": None})


def reject(ws: Workspace, actor: Actor, dispute_id: str) -> dict[str, Any]:
    operator = _check_dispute(ws, actor, dispute_id)
    view = disputes.reject(ws, dispute_id, operator, via=actor)
    return dict(plain(view.to_dict(detail=True)) | {"evidence": None})


# --- obligations and payments --------------------------------------------------------------------


def list_obligations(
    ws: Workspace, actor: Actor, period: str | None, status: str | None
) -> list[dict[str, Any]]:
    wanted = () if status is None else (parse_state(ObligationStatus, status, "status"),)
    with ws.uow() as uow:
        found = uow.cycles.obligations(_period(period), statuses=wanted)
    return [plain(o) for o in found if obligation_visible(actor, o)]


def list_payments(ws: Workspace, actor: Actor, status: str | None) -> list[dict[str, Any]]:
    if status is not None:
        parse_state(PaymentStatus, status, "status")
    found = settlement.list_payments(ws, None, status)
    return [plain(p) for p in found if payment_visible(actor, p)]


def confirm_payment(ws: Workspace, actor: Actor, payment_id: str, reference: str) -> dict[str, Any]:
    with ws.uow() as uow:
        payment_for(uow, actor, payment_id)
    done = settlement.confirm_payment(
        ws, payment_id, reference=reference, confirmed_by=actor.ledger_name, via=actor
    )
    return {"payment": plain(done.payment), "round_settled": done.round_settled}


# --- the books -----------------------------------------------------------------------------------


def account_statement(
    ws: Workspace, actor: Actor, counterparty: str, date_from: date, date_to: date
) -> dict[str, Any]:
    """The caller's statement of account with a counterparty it has an agreement with."""
    if date_from > date_to:
        raise ValidationError(f"from: {date_from} is after to: {date_to}")
    me_ = actor.acting_operator()
    with ws.uow() as uow:
        counterparty_for(uow, actor, counterparty)
    st = accounts_reports.statement(ws, me_, counterparty, date_from, date_to)
    return dict(plain(accounts_reports.statement_document(st)))


def reconcile_extract(
    ws: Workspace, actor: Actor, counterparty: str, extract: Path, as_of: date, tolerance_days: int
) -> dict[str, Any]:
    """The caller's books against the counterparty's extract (a CSV the caller uploaded)."""
    me_ = actor.acting_operator()
    with ws.uow() as uow:
        counterparty_for(uow, actor, counterparty)
    with uploaded_as(extract):
        r = accounts_reports.reconcile_with_extract(ws, me_, counterparty, extract, as_of, tolerance_days)
    return {
        "operator": r.operator,
        "counterparty": r.counterparty,
        "as_of": r.as_of.isoformat(),
        "tolerance_days": r.tolerance_days,
        "agreed": r.agreed,
        "currencies": [
            {
                "currency": c.currency,
                "our_balance": str(c.our_balance),
                "their_balance": str(c.their_balance),
                "gap": str(c.gap),
                "matched": len(c.matched),
                "differences": plain(list(c.differences)),
            }
            for c in r.currencies
        ],
    }


@contextmanager
def uploaded_as(path: Path) -> Iterator[None]:
    """Errors about an uploaded file name it as the caller named it, not where the hub spooled it."""
    try:
        yield
    except O2OError as exc:
        raise type(exc)(str(exc).replace(str(path), path.name)) from None


# --- the ledger ----------------------------------------------------------------------------------


def ledger_head(ws: Workspace) -> dict[str, Any]:
    """The signed tree head over the whole ledger (a size and a root: it tells nothing of any pair)."""
    return dict(current_head(ws).to_dict())


def _visible_subjects(ws: Workspace, actor: Actor) -> set[str]:
    """The ledger subjects that concern the caller: its agreements, their cycles, statements, disputes,
    obligations and its payments, and its own keys."""
    with ws.uow() as uow:
        mine = visible_agreement_ids(uow, actor)
        repo = uow.cycles
        subjects = set(mine) | {actor.ledger_name}
        for c in repo.cycles():
            if c.agreement_id in mine:
                subjects.add(c.id)
                st = repo.statement_of(c.agreement_id, c.period)
                if st is not None:
                    subjects.add(st.id)
                    subjects.update(d.id for d in repo.disputes(st.id))
        subjects.update(o.id for o in repo.obligations() if obligation_visible(actor, o))
        subjects.update(p.id for p in repo.payments() if payment_visible(actor, p))
    return subjects


visible_subjects = _visible_subjects  # the portal lists the caller's ledger entries by the same rule


def ledger_proof(ws: Workspace, actor: Actor, seq: int, since_size: int | None) -> dict[str, Any]:
    """Entry `seq` with its inclusion proof in the current head (and consistency with `since_size`), if
    the entry concerns the caller; an entry of other pairs answers as one that does not exist."""
    bundle = prove_entry(ws, seq, since_size)
    if not actor.is_hub and bundle.entry.subject not in _visible_subjects(ws, actor):
        raise NotFoundError(
            f"entry {seq} is not in the ledger's signed tree of {bundle.head.tree_size} entries"
        )
    return dict(bundle.to_dict())
