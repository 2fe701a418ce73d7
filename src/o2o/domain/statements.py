"""A reconciliation statement of one agreement and period: its service lines, the canonical document the
two parties sign, and their signatures.

A statement is `agreed` (every line within tolerance) or `disputed` (some line contested) when reconciled;
a dispute resolved before anyone signed re-issues it (a new document and digest, `agreed` once no dispute is
left open); the second signature makes it `signed`, which is final. `document` is the canonical JSON text
whose SHA-256 is `digest`: what is signed is that text, byte for byte. Values are frozen; a move returns the
new value or refuses with a clear error.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from o2o.domain.errors import InvalidTransitionError


class StatementState(StrEnum):
    AGREED = "agreed"
    DISPUTED = "disputed"
    SIGNED = "signed"


class LineOutcome(StrEnum):
    """A line's verdict: within tolerance, contested, or resolved by its dispute before signing."""

    AGREED = "agreed"
    DISPUTED = "disputed"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One service line: both parties' figures, the agreed and the disputed amount, and the verdict."""

    service: str
    provider: str
    customer: str
    provider_amount: Decimal
    customer_amount: Decimal
    agreed_amount: Decimal
    disputed_amount: Decimal
    outcome: LineOutcome


@dataclass(frozen=True, slots=True)
class Signature:
    """`operator` signed the statement's document with its key `key_id`."""

    statement_id: str
    operator: str
    key_id: str
    signature: str
    signed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Statement:
    """The statement as stored, at the version read (a re-issue or a signature changes the version)."""

    id: str
    cycle_id: str
    agreement_id: str
    period: str
    currency: str
    state: StatementState
    digest: str
    document: str  # the canonical JSON text the parties sign
    evidence: str  # the reconciliation's figures and files (JSON text)
    created_at: datetime | None = None
    version: int = 1

    def reissued(self, document: str, digest: str, *, disputes_open: bool) -> Statement:
        """The statement with a new document (a dispute resolved before anyone signed)."""
        if self.state is StatementState.SIGNED:
            raise InvalidTransitionError(f"statement {self.id} is signed: it cannot be re-issued")
        state = StatementState.DISPUTED if disputes_open else StatementState.AGREED
        return replace(self, document=document, digest=digest, state=state)

    def signed(self) -> Statement:
        """Signed by both parties."""
        if self.state is StatementState.SIGNED:
            raise InvalidTransitionError(f"statement {self.id} is already signed by both parties")
        return replace(self, state=StatementState.SIGNED)
