"""Reconciliation statements: list, the canonical document to sign, the evidence of disputed lines, and the
signature an operator made on its own side."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from o2o.api.auth import Reader, SignerRole
from o2o.api.deps import WS
from o2o.api.models import (
    ChainSignatureIn,
    ChainSignatureOut,
    ChainTypedData,
    Evidence,
    SignatureIn,
    SignatureOut,
    StatementDetail,
    StatementSummary,
)
from o2o.api.problems import responses
from o2o.services import hub_cycle, registry_signatures

router = APIRouter(tags=["statements"], responses=responses(401, 403))


@router.get("/statements", response_model=list[StatementSummary], responses=responses(422))
def statements(
    actor: Reader, ws: WS, period: str | None = Query(default=None, max_length=7, description="YYYY-MM")
) -> Any:
    """The statements of the caller's agreements (of `period`), with who has signed them."""
    return hub_cycle.list_statements(ws, actor, period)


@router.get("/statements/{statement_id}", response_model=StatementDetail, responses=responses(404))
def statement(statement_id: str, actor: Reader, ws: WS) -> Any:
    """The statement with its canonical document (what a party signs, byte for byte) and its digest."""
    return hub_cycle.show_statement(ws, actor, statement_id)


@router.get("/statements/{statement_id}/evidence", response_model=Evidence, responses=responses(404, 422))
def evidence(
    statement_id: str,
    actor: Reader,
    ws: WS,
    limit: int = Query(default=1000, ge=0, le=hub_cycle.MAX_EVIDENCE_RECORDS),
) -> Any:
    """The evidence of the statement's disputed lines: figures and the differing records of the days over
    tolerance. Never a party's usage file."""
    return hub_cycle.statement_evidence(ws, actor, statement_id, limit)


@router.post(
    "/statements/{statement_id}/signatures",
    response_model=SignatureOut,
    status_code=201,
    responses=responses(404, 409, 422),
)
def sign(statement_id: str, body: SignatureIn, actor: SignerRole, ws: WS) -> Any:
    """The caller's operator signs: the signature (made on its side over `canonical`) is verified against
    its key registered on the ledger; the second signature completes the statement into obligations."""
    return hub_cycle.sign_statement(ws, actor, statement_id, body.key_id, body.signature, body.digest)


@router.get(
    "/statements/{statement_id}/chain-typed-data", response_model=ChainTypedData, responses=responses(404)
)
def chain_typed_data(statement_id: str, actor: Reader, ws: WS) -> Any:
    """On an evm hub: the EIP-712 typed data the caller's operator signs with its chain key for the statement
    to be registered on the settlement contract (404 when the hub's registry is not evm)."""
    return registry_signatures.chain_typed_data(ws, actor, statement_id)


@router.post(
    "/statements/{statement_id}/chain-signatures",
    response_model=ChainSignatureOut,
    status_code=201,
    responses=responses(404, 409, 422),
)
def chain_sign(statement_id: str, body: ChainSignatureIn, actor: SignerRole, ws: WS) -> Any:
    """The caller's operator's EIP-712 signature of the statement, made on its side: kept when it recovers
    to the operator's chain address registered on the ledger; the publisher registers the statement with it."""
    return registry_signatures.submit_chain_signature(ws, actor, statement_id, body.signature)
