"""The largest liquidity-free set-off: a maximum circulation bounded by each pair's debt, made basic.

Invariants of `max_setoff`: the result `f` per pair is an integer circulation (every participant's set-off
payables equal its set-off receivables), `0 <= f <= pair_amount`, zero on pairs outside a strong component,
each capped participant's set-off is at most its cap, `sum(f)` is the maximum over all such circulations,
and the pairs with `0 < f < pair_amount` form a forest (at most n-1 of them in a component of n
participants), so that as few debts as possible are split between set-off and payment.

All strong components go into one OR-Tools solve as a disjoint union (arcs between components removed):
the same optimum as one solve per component, without thousands of solver calls for tiny components.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from ortools.graph.python import min_cost_flow

from o2o.netting.checks import NettingCheckError
from o2o.netting.graph import BoolArray, IntArray, NodeArray, PairGraph

NO_CAP = -1


def _arcs_with_caps(
    tails: NodeArray, heads: NodeArray, n_nodes: int, node_cap: IntArray | None
) -> tuple[IntArray, IntArray, IntArray, int]:
    """Split every capped participant v into v_in -> v with capacity cap(v); return extra arcs' ends and caps.

    Arcs into a capped participant are redirected to its v_in, so all its set-off passes the cap arc.
    """
    if node_cap is None:
        empty = np.zeros(0, dtype=np.int64)
        return heads.astype(np.int64), empty, empty, n_nodes
    used = np.zeros(n_nodes, dtype=bool)
    used[tails] = True
    used[heads] = True
    capped = np.flatnonzero(used & (node_cap >= 0))
    in_node = np.full(n_nodes, -1, dtype=np.int64)
    in_node[capped] = n_nodes + np.arange(len(capped))
    heads64 = heads.astype(np.int64)
    redirected = np.where(in_node[heads64] >= 0, in_node[heads64], heads64)
    return redirected, capped.astype(np.int64), node_cap[capped], n_nodes + len(capped)


def max_setoff(graph: PairGraph, inside: BoolArray, node_cap: IntArray | None = None) -> IntArray:
    """The maximum circulation on the pairs inside strong components, tidied to a basic solution."""
    flow = np.zeros(graph.n_pairs, dtype=np.int64)
    arcs = np.flatnonzero(inside & (graph.pair_amount > 0))
    if len(arcs) == 0:
        return flow
    tails = graph.pair_debtor[arcs].astype(np.int64)
    heads, cap_nodes, cap_amounts, n_ext = _arcs_with_caps(
        graph.pair_debtor[arcs], graph.pair_creditor[arcs], graph.n_nodes, node_cap
    )
    all_tails = np.concatenate([tails, n_ext - len(cap_nodes) + np.arange(len(cap_nodes))])
    all_heads = np.concatenate([heads, cap_nodes])
    capacity = np.concatenate([graph.pair_amount[arcs], cap_amounts]).astype(np.int64)
    # Each unit set off on a debt earns one; the cap arcs are free passages.
    cost = np.concatenate([np.full(len(arcs), -1, dtype=np.int64), np.zeros(len(cap_nodes), dtype=np.int64)])
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(all_tails, all_heads, capacity, cost)
    status = solver.solve()
    if status != solver.OPTIMAL:
        raise NettingCheckError(f"the set-off solver did not reach an optimum (status {status})")
    solved = np.asarray(solver.flows(np.arange(len(all_tails))), dtype=np.int64)
    basic = tidy_to_basic(
        all_tails, all_heads, capacity, cost, _towards_vertex(all_tails, all_heads, capacity, solved)
    )
    if int(basic.dot(cost)) != solver.optimal_cost():
        raise NettingCheckError("netting check failed: tidying changed the largest set-off")
    flow[arcs] = basic[: len(arcs)]
    return flow


def _towards_vertex(tails: IntArray, heads: IntArray, capacity: IntArray, flow: IntArray) -> IntArray:
    """Re-route the flow on free arcs (0 < f < cap) by a min-cost flow with distinct pseudo-random costs.

    At an optimum every cycle of free arcs costs nothing, so any flow on them with the same node balances
    keeps the set-off; a min-cost flow with generic costs lands on a vertex, which leaves the cycle
    cancelling in `tidy_to_basic` little or nothing to do.
    """
    free = np.flatnonzero((flow > 0) & (flow < capacity))
    if len(free) == 0:
        return flow
    t, h, f = tails[free], heads[free], flow[free]
    nodes, local = np.unique(np.concatenate([t, h]), return_inverse=True)
    local = local.reshape(-1)
    lt, lh = local[: len(free)], local[len(free) :]
    supply = np.zeros(len(nodes), dtype=np.int64)
    np.add.at(supply, lt, f)
    np.add.at(supply, lh, -f)
    # Deterministic, well spread costs (a multiplicative hash of the arc's position).
    generic = (free.astype(np.uint64) * np.uint64(2654435761)) % np.uint64(100_003) + np.uint64(1)
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(lt, lh, capacity[free], generic.astype(np.int64))
    solver.set_nodes_supplies(np.arange(len(nodes)), supply)
    if solver.solve() != solver.OPTIMAL:
        return flow
    moved = flow.copy()
    moved[free] = solver.flows(np.arange(len(free)))
    return moved


def _forest(
    free: list[int], tails: list[int], heads: list[int]
) -> tuple[dict[int, int], dict[int, int], list[int]]:
    """A BFS spanning forest of the free arcs: parent arc and depth per node, and the arcs left out."""
    adjacency: dict[int, list[int]] = {}
    for a in free:
        adjacency.setdefault(tails[a], []).append(a)
        adjacency.setdefault(heads[a], []).append(a)
    parent_arc: dict[int, int] = {}
    depth: dict[int, int] = {}
    in_tree: set[int] = set()
    for root in adjacency:
        if root in depth:
            continue
        depth[root] = 0
        parent_arc[root] = -1
        queue = deque([root])
        while queue:
            x = queue.popleft()
            for a in adjacency[x]:
                y = heads[a] if tails[a] == x else tails[a]
                if y not in depth:
                    depth[y] = depth[x] + 1
                    parent_arc[y] = a
                    in_tree.add(a)
                    queue.append(y)
    return parent_arc, depth, [a for a in free if a not in in_tree]


def _cycle(
    arc: int, tails: list[int], heads: list[int], parent_arc: dict[int, int], depth: dict[int, int]
) -> list[tuple[int, int]]:
    """The cycle closed by non-tree arc u->v as (arc, +1 forward | -1 backward): u->v, then v back to u."""
    u, v = tails[arc], heads[arc]
    up_from_v: list[tuple[int, int]] = []  # walked v -> lca
    up_from_u: list[tuple[int, int]] = []  # walked u -> lca, later reversed
    x, y = v, u
    while x != y:
        if depth[x] >= depth[y]:
            a = parent_arc[x]
            up_from_v.append((a, 1 if tails[a] == x else -1))
            x = heads[a] if tails[a] == x else tails[a]
        else:
            a = parent_arc[y]
            # Travelled downwards (parent -> y) on the way back to u.
            up_from_u.append((a, 1 if heads[a] == y else -1))
            y = heads[a] if tails[a] == y else tails[a]
    return [(arc, 1), *up_from_v, *reversed(up_from_u)]


def tidy_to_basic(
    tails_a: IntArray, heads_a: IntArray, capacity_a: IntArray, cost_a: IntArray, flow_a: IntArray
) -> IntArray:
    """Push flow around cycles of free arcs (0 < f < cap) until they form a forest, never raising the cost.

    At an optimum every such cycle costs nothing in one direction, so the total set-off is unchanged;
    each push brings at least one arc to a bound, so the loop ends.
    """
    tails: list[int] = tails_a.tolist()
    heads: list[int] = heads_a.tolist()
    capacity: list[int] = capacity_a.tolist()
    cost: list[int] = cost_a.tolist()
    flow: list[int] = flow_a.tolist()
    free = [a for a in range(len(flow)) if 0 < flow[a] < capacity[a]]
    while True:
        parent_arc, depth, non_tree = _forest(free, tails, heads)
        if not non_tree:
            return np.asarray(flow, dtype=np.int64)
        for arc in non_tree:
            if not 0 < flow[arc] < capacity[arc]:
                continue
            cycle = _cycle(arc, tails, heads, parent_arc, depth)
            # A tree arc brought to a bound earlier in this pass breaks the tree: leave it for the next pass.
            if any(not 0 < flow[a] < capacity[a] for a, _ in cycle):
                continue
            if sum(sign * cost[a] for a, sign in cycle) > 0:
                cycle = [(a, -sign) for a, sign in cycle]
            delta = min(capacity[a] - flow[a] if sign > 0 else flow[a] for a, sign in cycle)
            for a, sign in cycle:
                flow[a] += sign * delta
        free = [a for a in free if 0 < flow[a] < capacity[a]]
