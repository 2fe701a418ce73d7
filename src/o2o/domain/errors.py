"""Domain errors: the mistakes a user can make, each with a clear one-line message.

Entry points print `str(error)` without a traceback and exit non-zero (CLI) or map to 4xx (API).
"""

from __future__ import annotations


class O2OError(Exception):
    """Base of every error a user can cause; the message is meant for the user."""


class ValidationError(O2OError):
    """Input that does not follow the rules (bad field, bad value)."""


class MoneyError(ValidationError):
    """An amount that is not exact (float), or currencies that do not match."""


class UnknownCurrencyError(ValidationError):
    """A currency code that is not ISO 4217 or not supported."""


class NotFoundError(O2OError):
    """An operator, agreement, declaration, statement … that does not exist."""


class AlreadyExistsError(O2OError):
    """Something that must be unique already exists."""


class InvalidTransitionError(O2OError):
    """An action that the current state does not allow."""


class ConcurrencyError(O2OError):
    """Someone else changed the same aggregate first (optimistic lock)."""


class ImportRefusedError(O2OError):
    """A usage file refused as a whole (unreadable, empty, missing columns, not UTF-8)."""


class SignatureError(O2OError):
    """A signature that does not verify, or a missing key."""


class RecordMismatchError(O2OError):
    """What the store holds differs from what the ledger registered for it (money must not move on it)."""
