"""From pairs back to obligations: each pair's set-off allocated oldest due date first; bilateral netting.

Invariants: `allocate_setoff` gives every obligation `0 <= set-off <= amount`, the set-offs of a pair
sum exactly to the pair's set-off, and within a pair an obligation is set off only when every obligation
due before it (no due date counts as latest; ties by input order) is set off in full, so at most one
obligation per pair is split. `bilateral_netting` nets each unordered pair of participants on its own.
"""

from __future__ import annotations

import numpy as np

from o2o.netting.graph import IntArray, NodeArray, sum_by

# A due date of None sorts after every real date.
NO_DUE_DATE = np.iinfo(np.int64).max


def allocate_setoff(
    pair_of: IntArray, amount: IntArray, due_key: IntArray, pair_setoff: IntArray
) -> IntArray:
    """Spread each pair's set-off over its obligations, oldest due date first."""
    m = len(amount)
    setoff = np.zeros(m, dtype=np.int64)
    if m == 0:
        return setoff
    order = np.lexsort((np.arange(m), due_key, pair_of))
    pair_sorted = pair_of[order]
    amount_sorted = amount[order]
    cumulative = np.cumsum(amount_sorted)
    before = cumulative - amount_sorted  # total of earlier obligations in the whole sorted list
    starts = np.flatnonzero(np.r_[True, pair_sorted[1:] != pair_sorted[:-1]])
    group = np.cumsum(np.r_[True, pair_sorted[1:] != pair_sorted[:-1]]) - 1
    before_in_pair = before - before[starts][group]
    setoff[order] = np.clip(pair_setoff[pair_sorted] - before_in_pair, 0, amount_sorted)
    return setoff


def pair_payments(
    pair_debtor: NodeArray, pair_creditor: NodeArray, pair_of: IntArray, remainder: IntArray
) -> tuple[IntArray, IntArray, IntArray]:
    """One payment per pair of what remains of its obligations (the conservative mode)."""
    per_pair = sum_by(pair_of, remainder, len(pair_debtor))
    owing = per_pair > 0
    return (
        pair_debtor[owing].astype(np.int64),
        pair_creditor[owing].astype(np.int64),
        per_pair[owing],
    )


def bilateral_netting(
    n_nodes: int, pair_debtor: NodeArray, pair_creditor: NodeArray, pair_amount: IntArray
) -> tuple[IntArray, IntArray, IntArray]:
    """Each unordered pair of participants pays only the difference of what they owe each other."""
    d = pair_debtor.astype(np.int64)
    c = pair_creditor.astype(np.int64)
    low = np.minimum(d, c)
    high = np.maximum(d, c)
    signed = np.where(d == low, pair_amount, -pair_amount)  # positive: low owes high
    keys, inverse = np.unique(low * n_nodes + high, return_inverse=True)
    net = sum_by(inverse.reshape(-1), signed, len(keys))
    lows, highs = keys // n_nodes, keys % n_nodes
    nonzero = net != 0
    payer = np.where(net > 0, lows, highs)[nonzero]
    payee = np.where(net > 0, highs, lows)[nonzero]
    return payer, payee, np.abs(net)[nonzero]


def hub_payments(net: IntArray, hub: int) -> tuple[IntArray, IntArray, IntArray]:
    """Clearing house: each net debtor pays the hub its debt, the hub pays each net creditor its claim."""
    debtors = np.flatnonzero(net < 0)
    creditors = np.flatnonzero(net > 0)
    payer = np.concatenate([debtors, np.full(len(creditors), hub)]).astype(np.int64)
    payee = np.concatenate([np.full(len(debtors), hub), creditors]).astype(np.int64)
    paid = np.concatenate([-net[debtors], net[creditors]]).astype(np.int64)
    return payer, payee, paid
