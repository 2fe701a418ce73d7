"""The API's request and response bodies (OpenAPI schemas). Amounts are decimal strings, never numbers:
a JSON number would pass through binary floating point in most clients."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Open(BaseModel):
    """A response whose documented fields are always there; nested documents may carry more."""

    model_config = ConfigDict(extra="allow")


class Me(BaseModel):
    user: str
    user_id: str
    operator: str = Field(description="The caller's operator, or HUB for the hub's admin.")
    role: str
    permissions: list[str]
    token_id: str
    agreements: list[str]


class AgreementSummary(BaseModel):
    id: str
    name: str
    currency: str
    parties: list[str]
    revision: int
    sha256: str
    loaded_at: str


class AgreementDetail(Open):
    id: str
    name: str
    currency: str
    parties: list[str]
    revision: int
    sha256: str
    document: dict[str, Any]


class CycleStatus(Open):
    cycle: str
    agreement: str
    period: str
    state: str
    waiting_for: list[str]
    statement: str | None
    signatures: list[str]
    disputes_open: int
    obligations: int
    obligations_amount: dict[str, str]


class StatementSummary(Open):
    id: str
    agreement: str
    period: str
    state: str
    currency: str
    digest: str
    signatures: list[str]
    disputes: list[str]


class StatementDetail(Open):
    id: str
    agreement: str
    period: str
    currency: str
    state: str
    digest: str = Field(description="sha256 (hex) of `canonical`.")
    canonical: str = Field(description="The canonical document (RFC 8785 JSON) a party signs, byte for byte.")
    document: dict[str, Any]
    lines: list[dict[str, Any]]
    signatures: list[dict[str, Any]]
    disputes: list[dict[str, Any]]


class EvidenceLine(Open):
    service: str
    dispute: str
    figures: dict[str, Any]
    records: list[dict[str, Any]]
    records_total: int


class Evidence(BaseModel):
    statement: str
    lines: list[EvidenceLine]


class SignatureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key_id: str = Field(
        min_length=1, max_length=64, description="The operator's key registered on the ledger."
    )
    signature: str = Field(
        min_length=1, max_length=256, description="Ed25519 over the UTF-8 bytes of `canonical`, hex."
    )
    digest: str | None = Field(
        default=None, max_length=64, description="The digest reviewed: refused if the statement changed."
    )


class SignatureOut(BaseModel):
    statement: str
    operator: str
    complete: bool
    obligations: list[str]


class ChainTypedData(BaseModel):
    statement: str
    digest: str
    chain_id: int
    contract: str
    typed_data: dict[str, Any] = Field(description="EIP-712 typed data (eth_signTypedData_v4) to sign.")
    hash: str = Field(description="Its EIP-712 hash, what the secp256k1 key signs.")
    signer: str | None = Field(description="The caller's chain address registered on the ledger.")
    signed_by: list[str]


class ChainSignatureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signature: str = Field(
        min_length=1, max_length=140, description="The 65-byte EIP-712 signature (r, s, v), hex."
    )


class ChainSignatureOut(BaseModel):
    statement: str
    operator: str
    address: str
    signed_by: list[str]


class RoundTypedData(BaseModel):
    round: str
    digest: str = Field(description="The round's ledger fact digest, what its participants accept.")
    chain_id: int
    contract: str
    typed_data: dict[str, Any] = Field(description="EIP-712 typed data (eth_signTypedData_v4) to sign.")
    hash: str = Field(description="Its EIP-712 hash, what the secp256k1 key signs.")
    signer: str | None = Field(description="The caller's chain address registered on the ledger.")
    participants: list[str]
    accepted_by: list[str]


class RoundAcceptanceOut(BaseModel):
    round: str
    operator: str
    address: str
    accepted_by: list[str]


class DisputeSummary(Open):
    id: str
    statement: str
    service: str
    provider: str
    customer: str
    currency: str
    provider_amount: str
    customer_amount: str
    contested_amount: str
    resolved_amount: str | None
    split_offer: str
    state: str
    deadline: str


class DisputeDetail(DisputeSummary):
    proposals: list[dict[str, Any]]
    evidence: dict[str, Any] | None


class ProposalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: str | None = Field(
        default=None,
        max_length=40,
        description="The amount for the whole line; omitted: split the difference.",
    )
    note: str = Field(default="", max_length=500)


class ConcessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: str = Field(
        min_length=1, max_length=40, description="The part of the contested amount given up (less than all)."
    )
    note: str = Field(default="", max_length=500)


class ObligationOut(Open):
    id: str
    debtor: str
    creditor: str
    amount: str
    currency: str
    status: str
    period: str


class PaymentOut(Open):
    id: str
    round_id: str
    payer: str
    payee: str
    amount: str
    currency: str
    status: str


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str = Field(min_length=1, max_length=200, description="The bank's reference of the payment.")


class Confirmed(BaseModel):
    payment: PaymentOut
    round_settled: bool


class OperatorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    currency: str = Field(min_length=3, max_length=3)
    country_code: str = Field(min_length=1, max_length=8)
    trunk_prefix: str = Field(default="0", max_length=8)
    international_prefix: str = Field(default="00", max_length=8)


class OperatorOut(BaseModel):
    id: str
    name: str
    currency: str
    country_code: str
    trunk_prefix: str
    international_prefix: str


class AgreementLoaded(BaseModel):
    id: str
    revision: int
    unchanged: bool
    services: list[str]


class PeriodChange(BaseModel):
    period: str
    cycles: list[str]


class TokenOut(BaseModel):
    id: str
    user: str
    user_id: str
    operator: str
    role: str
    state: str
    created_at: str | None
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None


class RequestLogLine(Open):
    id: int
    time: str
    method: str
    path: str
    operator: str | None
    user_id: str | None
    token_id: str | None
    status: int
    outcome: str


class KeyRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public_key: str = Field(min_length=64, max_length=64, description="The raw Ed25519 public key, hex.")
    possession: str = Field(
        min_length=128, max_length=128, description="The key's signature over its registration message, hex."
    )


class KeyRejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class KeyRequestOut(BaseModel):
    id: str
    operator: str
    key_id: str
    public_key: str
    state: str
    requested_by: str
    requested_at: str | None
    decided_by: str | None
    decided_at: str | None
    reason: str | None
    ledger_seq: int | None
