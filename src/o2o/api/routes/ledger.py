"""The ledger as an operator checks it: the signed tree head and proofs of the entries that concern it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query

from o2o.api.auth import Reader
from o2o.api.deps import WS
from o2o.api.models import Open
from o2o.api.problems import responses
from o2o.services import hub_cycle

router = APIRouter(tags=["ledger"], responses=responses(401, 403))


@router.get("/ledger/head", response_model=Open, responses=responses(404))
def head(actor: Reader, ws: WS) -> Any:
    """The signed tree head over the whole ledger (RFC 9162 style): size, root, time, signature."""
    return hub_cycle.ledger_head(ws)


@router.get("/ledger/entries/{seq}/proof", response_model=Open, responses=responses(404, 422))
def proof(
    actor: Reader,
    ws: WS,
    seq: int = Path(ge=0, le=2**62),
    since: int | None = Query(default=None, ge=0, le=2**62, description="An older tree size to prove."),
) -> Any:
    """Entry `seq` (one that concerns the caller) with its inclusion proof in the current head, and the
    head's consistency with an older size."""
    return hub_cycle.ledger_proof(ws, actor, seq, since)
