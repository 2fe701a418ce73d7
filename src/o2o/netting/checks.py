"""The checks every netting round must pass before anything is reported; a failure aborts the round.

Checked on integer minor units, per obligation and per participant:
- 0 <= set-off <= obligation, and withheld or opted-out obligations are not in the round at all;
- the set-off is a circulation: every participant's set-off payables equal its set-off receivables;
- each capped participant's set-off is within its cap;
- net positions are unchanged by the set-off;
- the payments settle exactly the remainder: per (debtor, creditor) pair when remaining debts are paid as
  they stand, per participant (the hub netting to zero) when paid through the hub or directly.
The checks use `raise`, never `assert`, so they also run under `python -O`.
"""

from __future__ import annotations

import numpy as np

from o2o.domain.errors import O2OError
from o2o.netting.graph import IntArray, NodeArray, sum_by


class NettingCheckError(O2OError):
    """A netting round that broke one of its invariants; nothing of it may be used."""


def _fail_where(bad: np.ndarray, what: str) -> None:
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise NettingCheckError(
            f"netting check failed: {what} (first at index {first}, {int(bad.sum())} in all)"
        )


def check_setoff(
    n_nodes: int,
    debtor: NodeArray,
    creditor: NodeArray,
    amount: IntArray,
    setoff: IntArray,
    node_cap: IntArray | None = None,
) -> None:
    """Set-off bounds, circulation, caps and unchanged net positions."""
    if setoff.shape != amount.shape:
        raise NettingCheckError("netting check failed: set-off does not cover every obligation")
    _fail_where(setoff < 0, "a set-off is negative")
    _fail_where(setoff > amount, "a set-off exceeds its obligation")
    paid_off = sum_by(debtor, setoff, n_nodes)
    received_off = sum_by(creditor, setoff, n_nodes)
    _fail_where(paid_off != received_off, "the set-off is not a circulation")
    if node_cap is not None:
        _fail_where((node_cap >= 0) & (paid_off > node_cap), "a participant's set-off exceeds its cap")
    remainder = amount - setoff
    net_before = sum_by(creditor, amount, n_nodes) - sum_by(debtor, amount, n_nodes)
    net_after = sum_by(creditor, remainder, n_nodes) - sum_by(debtor, remainder, n_nodes)
    _fail_where(net_before != net_after, "a net position changed")


def check_payments_per_pair(
    n_nodes: int,
    pair_debtor: NodeArray,
    pair_creditor: NodeArray,
    pair_of: IntArray,
    remainder: IntArray,
    payer: IntArray,
    payee: IntArray,
    paid: IntArray,
) -> None:
    """Every (debtor, creditor) pair is paid exactly what remains of its obligations, and nobody else is paid.

    Pairs come sorted by key (debtor * n + creditor), so each payment finds its pair by binary search.
    """
    _fail_where(paid <= 0, "a payment is not positive")
    pair_key = pair_debtor.astype(np.int64) * n_nodes + pair_creditor.astype(np.int64)
    paid_key = payer * n_nodes + payee
    at = np.minimum(np.searchsorted(pair_key, paid_key), max(len(pair_key) - 1, 0))
    if len(paid_key):
        _fail_where(pair_key[at] != paid_key, "a payment between participants who owe each other nothing")
    owed = sum_by(pair_of, remainder, len(pair_key))
    settled = sum_by(at, paid, len(pair_key))
    _fail_where(owed != settled, "payments do not settle the remaining obligations pair by pair")


def check_payments_per_participant(
    n_nodes: int,
    debtor: NodeArray,
    creditor: NodeArray,
    remainder: IntArray,
    payer: IntArray,
    payee: IntArray,
    paid: IntArray,
) -> None:
    """Payments move every participant by exactly its net position; a hub (node n) nets to zero."""
    _fail_where(paid <= 0, "a payment is not positive")
    size = n_nodes + 1
    net = sum_by(creditor, remainder, size) - sum_by(debtor, remainder, size)
    moved = sum_by(payee, paid, size) - sum_by(payer, paid, size)
    # A participant owed money (net > 0) must receive exactly that much on balance, and vice versa.
    _fail_where(net != moved, "payments do not settle a participant's net position")
