"""Errors of the chain adapter: each one line for the user (the CLI prints it, exit 1)."""

from __future__ import annotations

from o2o.domain.errors import O2OError


class ChainError(O2OError):
    """The node cannot be reached, is another chain, or a key or configuration is wrong."""


class ChainRefused(ChainError):
    """The contract refused a transaction (its revert reason is in the message)."""
