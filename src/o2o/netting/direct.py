"""The fewest direct payments that settle a set of net positions (the `direct` mode).

Positions sum to zero. A settlement with k payments on r non-zero positions needs at least
r - g payments, where g is the largest number of disjoint zero-sum groups the positions split into, and
settling each group on its own reaches that bound. Minimising is NP-hard, so the search is chosen by size:
exact subset search (up to 20 positions), a HiGHS MILP under a time limit (medium sizes; the better of
it and greedy is kept), greedy (largest debtor pays largest creditor; at most r-1 payments) beyond.
Invariants: every payment is positive and goes from a net debtor to a net creditor; the payments move each
participant by exactly its net position; `lower_bound <= payments count`, equal when `optimal`.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np
from highspy import HighsLp, HighsModelStatus, HighsVarType, MatrixFormat
from highspy._core import _Highs  # the wrapper class prints a banner to stdout when it is built
from ortools.graph.python import min_cost_flow

from o2o.netting.graph import IntArray
from o2o.netting.results import DirectMethod

EXACT_LIMIT = 20
MILP_LIMIT = 60
MILP_SECONDS = 5.0

Transfers = list[tuple[int, int, int]]  # (payer node, payee node, minor units)


@dataclass(frozen=True, slots=True)
class DirectPlan:
    payer: IntArray
    payee: IntArray
    paid: IntArray
    method: DirectMethod
    positions: int
    lower_bound: int
    optimal: bool


def _greedy(nodes: list[int], values: list[int]) -> Transfers:
    """Opposite equal positions pay each other first; then the largest debtor pays the largest creditor."""
    transfers: Transfers = []
    waiting: dict[int, list[int]] = {}
    for node, value in zip(nodes, values, strict=True):
        if value > 0:
            waiting.setdefault(value, []).append(node)
    debtors: list[tuple[int, int]] = []
    matched: set[int] = set()
    for node, value in zip(nodes, values, strict=True):
        if value < 0 and waiting.get(-value):
            creditor = waiting[-value].pop(0)
            matched.add(creditor)
            transfers.append((node, creditor, -value))
        elif value < 0:
            debtors.append((value, node))  # most negative first in a min-heap
    creditors = [(-v, n) for n, v in zip(nodes, values, strict=True) if v > 0 and n not in matched]
    heapq.heapify(debtors)
    heapq.heapify(creditors)
    while debtors and creditors:
        owe, d = heapq.heappop(debtors)
        due, c = heapq.heappop(creditors)
        amount = min(-owe, -due)
        transfers.append((d, c, amount))
        if -owe > amount:
            heapq.heappush(debtors, (owe + amount, d))
        if -due > amount:
            heapq.heappush(creditors, (due + amount, c))
    return transfers


def _zero_sum_groups(values: list[int]) -> list[list[int]]:
    """Split positions (indices into `values`) into the largest number of zero-sum groups, by subset DP.

    best[mask] is the most zero-sum prefixes of any ordering of mask's members; built layer by layer of
    popcount with numpy, 20 positions take about a million masks.
    """
    r = len(values)
    full = (1 << r) - 1
    sums = np.zeros(1 << r, dtype=np.int64)
    count = np.zeros(1 << r, dtype=np.int64)
    for i, value in enumerate(values):
        sums[1 << i : 1 << (i + 1)] = sums[: 1 << i] + value
        count[1 << i : 1 << (i + 1)] = count[: 1 << i] + 1
    best = np.zeros(1 << r, dtype=np.int64)
    by_count = np.argsort(count, kind="stable")
    bounds = np.searchsorted(count[by_count], np.arange(r + 2))
    for k in range(1, r + 1):
        masks = by_count[bounds[k] : bounds[k + 1]]
        layer = np.zeros(len(masks), dtype=np.int64)
        for i in range(r):
            has = (masks >> i) & 1 == 1
            layer[has] = np.maximum(layer[has], best[masks[has] ^ (1 << i)])
        best[masks] = layer + (sums[masks] == 0)
    removal: list[int] = []
    mask = full
    while mask:
        target = int(best[mask]) - int(sums[mask] == 0)
        i = next(i for i in range(r) if mask >> i & 1 and int(best[mask ^ (1 << i)]) == target)
        removal.append(i)
        mask ^= 1 << i
    groups: list[list[int]] = [[]]
    running = 0
    for i in reversed(removal):
        groups[-1].append(i)
        running += values[i]
        if running == 0:
            groups.append([])
    return [g for g in groups if g]


def _exact(nodes: list[int], values: list[int]) -> Transfers:
    transfers: Transfers = []
    for group in _zero_sum_groups(values):
        transfers.extend(_greedy([nodes[i] for i in group], [values[i] for i in group]))
    return transfers


def _quiet_highs(seconds: float) -> _Highs:
    solver = _Highs()
    solver.setOptionValue("output_flag", False)
    solver.setOptionValue("time_limit", float(seconds))
    solver.setOptionValue("threads", 1)
    return solver


def _milp_model(
    debt: list[tuple[int, int]], claim: list[tuple[int, int]], pairs: list[tuple[int, int]]
) -> HighsLp:
    """min sum(y) s.t. each debtor pays and each creditor receives its position, x <= bound * y, y binary."""
    nd, nc, p = len(debt), len(claim), len(pairs)
    scale = 1000.0 / max(amount for _, amount in [*debt, *claim])
    bound = np.array([min(debt[i][1], claim[j][1]) * scale for i, j in pairs])
    lp = HighsLp()
    lp.num_col_ = 2 * p
    lp.num_row_ = nd + nc + p
    lp.col_cost_ = np.r_[np.zeros(p), np.ones(p)]
    lp.col_lower_ = np.zeros(2 * p)
    lp.col_upper_ = np.r_[bound, np.ones(p)]
    rhs = np.r_[[a * scale for _, a in debt], [b * scale for _, b in claim]]
    lp.row_lower_ = np.r_[rhs, np.full(p, -math.inf)]
    lp.row_upper_ = np.r_[rhs, np.zeros(p)]
    lp.integrality_ = [HighsVarType.kContinuous] * p + [HighsVarType.kInteger] * p
    k = np.arange(p)
    rows_x = np.column_stack([[i for i, _ in pairs], [nd + j for _, j in pairs], nd + nc + k]).reshape(-1)
    lp.a_matrix_.format_ = MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.r_[np.arange(0, 3 * p, 3), 3 * p + np.arange(0, p + 1)].astype(np.int32)
    lp.a_matrix_.index_ = np.r_[rows_x, nd + nc + k].astype(np.int32)
    lp.a_matrix_.value_ = np.r_[np.ones(3 * p), -bound]
    return lp


def _integral_payments(
    debt: list[tuple[int, int]], claim: list[tuple[int, int]], used: list[tuple[int, int]]
) -> Transfers | None:
    """Exact integer payments using only the `used` debtor-creditor pairs, if they can settle everything."""
    nd, nc = len(debt), len(claim)
    flows = min_cost_flow.SimpleMinCostFlow()
    tails = np.array([i for i, _ in used], dtype=np.int64)
    heads = np.array([nd + j for _, j in used], dtype=np.int64)
    caps = np.array([min(debt[i][1], claim[j][1]) for i, j in used], dtype=np.int64)
    flows.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, np.zeros(len(used), dtype=np.int64))
    supplies = np.array([a for _, a in debt] + [-b for _, b in claim], dtype=np.int64)
    flows.set_nodes_supplies(np.arange(nd + nc), supplies)
    if flows.solve() != flows.OPTIMAL:
        return None
    moved = flows.flows(np.arange(len(used)))
    return [(debt[i][0], claim[j][0], int(f)) for (i, j), f in zip(used, moved, strict=True) if int(f) > 0]


def _milp(nodes: list[int], values: list[int], seconds: float) -> tuple[Transfers, int, bool] | None:
    """Fewest payments as a MILP (amount x and used-flag y per debtor-creditor pair); None if it found none.

    Amounts are scaled for the solver; the integer payments are then recomputed exactly as a flow on the
    pairs the MILP used, so solver tolerances never reach the money.
    """
    debt = [(n, -v) for n, v in zip(nodes, values, strict=True) if v < 0]
    claim = [(n, v) for n, v in zip(nodes, values, strict=True) if v > 0]
    pairs = [(i, j) for i in range(len(debt)) for j in range(len(claim))]
    solver = _quiet_highs(seconds)
    solver.passModel(_milp_model(debt, claim, pairs))
    solver.run()
    col = solver.getSolution().col_value
    p = len(pairs)
    if len(col) != 2 * p:
        return None
    used = [pairs[k] for k in range(p) if col[p + k] > 0.5]
    transfers = _integral_payments(debt, claim, used) if used else None
    if transfers is None:
        return None
    dual_bound = math.ceil(solver.getInfo().mip_dual_bound - 1e-6)
    proven = solver.getModelStatus() == HighsModelStatus.kOptimal and len(transfers) <= dual_bound
    return transfers, dual_bound, proven


def fewest_payments(
    net: IntArray,
    *,
    exact_limit: int = EXACT_LIMIT,
    milp_limit: int = MILP_LIMIT,
    milp_seconds: float = MILP_SECONDS,
) -> DirectPlan:
    """Direct payments settling `net` (per node: positive is owed money), as few as the size allows."""
    nodes = np.flatnonzero(net != 0).tolist()
    values = [int(net[n]) for n in nodes]
    r = len(nodes)
    trivial_bound = max(sum(v < 0 for v in values), sum(v > 0 for v in values))
    if r <= exact_limit:
        transfers = _exact(nodes, values)
        method, bound, optimal = DirectMethod.EXACT, len(transfers), True
    else:
        transfers = _greedy(nodes, values)
        method, bound, optimal = DirectMethod.GREEDY, trivial_bound, False
        if r <= milp_limit:
            method = DirectMethod.MILP
            found = _milp(nodes, values, milp_seconds)
            if found is not None:
                milp_transfers, dual_bound, proven = found
                bound = max(bound, dual_bound)
                if len(milp_transfers) < len(transfers):
                    transfers = milp_transfers
                optimal = proven or len(transfers) <= bound
    transfers.sort()
    return DirectPlan(
        payer=np.array([t[0] for t in transfers], dtype=np.int64),
        payee=np.array([t[1] for t in transfers], dtype=np.int64),
        paid=np.array([t[2] for t in transfers], dtype=np.int64),
        method=method,
        positions=r,
        lower_bound=min(bound, len(transfers)),
        optimal=optimal,
    )
