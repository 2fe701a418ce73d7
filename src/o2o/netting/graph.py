"""The obligation graph in arrays: debts aggregated per (debtor, creditor) pair, and its strong components.

Invariants: nodes are integers `0..n-1`; obligations and pairs are numpy arrays (int32 node indices,
int64 minor units); `pair_of[k]` is the pair of obligation `k`, so `pair_amount` is the exact integer sum
of its obligations; no pair is a self-loop. Components are labelled per node; an arc can carry set-off
only if both its ends lie in the same component (a debt that runs in no circle cannot be set off).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from o2o.domain.errors import ValidationError

IntArray = npt.NDArray[np.int64]
NodeArray = npt.NDArray[np.int32]
BoolArray = npt.NDArray[np.bool_]

# Sums of minor units stay exact in int64 and inside OR-Tools' capacity range below this total.
MAX_TOTAL_MINOR = 1 << 60
_TRIM_ROUNDS = 8


def sum_by(index: npt.NDArray[np.integer], values: IntArray, size: int) -> IntArray:
    """Exact integer sums of `values` grouped by `index` (np.bincount would go through float64)."""
    out = np.zeros(size, dtype=np.int64)
    np.add.at(out, index, values)
    return out


@dataclass(frozen=True, slots=True)
class PairGraph:
    """Obligations aggregated per (debtor, creditor) pair."""

    n_nodes: int
    pair_debtor: NodeArray
    pair_creditor: NodeArray
    pair_amount: IntArray
    pair_of: IntArray  # per obligation: index of its pair

    @property
    def n_pairs(self) -> int:
        return len(self.pair_amount)


def aggregate_pairs(n_nodes: int, debtor: NodeArray, creditor: NodeArray, amount: IntArray) -> PairGraph:
    """Sum obligations per (debtor, creditor) pair, keeping for each obligation the index of its pair."""
    if len(debtor) and int(amount.min()) < 0:
        raise ValidationError("an obligation has a negative amount")
    if np.any(debtor == creditor):
        raise ValidationError("an obligation has the same debtor and creditor")
    # int64 sums could wrap: only when the cheap bound fails is the exact (Python int) total needed.
    if (
        len(amount)
        and int(amount.max()) * len(amount) >= MAX_TOTAL_MINOR
        and sum(amount.tolist()) >= MAX_TOTAL_MINOR
    ):
        raise ValidationError("the round's total is too large to net exactly")
    key = debtor.astype(np.int64) * n_nodes + creditor.astype(np.int64)
    unique_keys, pair_of = np.unique(key, return_inverse=True)
    pair_of = pair_of.astype(np.int64).reshape(-1)
    return PairGraph(
        n_nodes=n_nodes,
        pair_debtor=(unique_keys // n_nodes).astype(np.int32),
        pair_creditor=(unique_keys % n_nodes).astype(np.int32),
        pair_amount=sum_by(pair_of, amount, len(unique_keys)),
        pair_of=pair_of,
    )


def _trim(n_nodes: int, tails: NodeArray, heads: NodeArray) -> BoolArray:
    """Arcs that survive repeatedly removing nodes without incoming or without outgoing arcs.

    Such nodes are singleton components; removing them in bulk with numpy leaves Tarjan the core only.
    """
    alive = np.ones(len(tails), dtype=bool)
    # A few rounds catch most such nodes; a long chain is left to Tarjan rather than peeled one per round.
    for _ in range(_TRIM_ROUNDS):
        t, h = tails[alive], heads[alive]
        outdeg = np.bincount(t, minlength=n_nodes)
        indeg = np.bincount(h, minlength=n_nodes)
        keep_node = (outdeg > 0) & (indeg > 0)
        still = alive & keep_node[tails] & keep_node[heads]
        if int(still.sum()) == int(alive.sum()):
            break
        alive = still
    return alive


def _pop_component(stack: list[int], on_stack: list[bool], comp: list[int], root: int, label: int) -> None:
    while True:
        w = stack.pop()
        on_stack[w] = False
        comp[w] = label
        if w == root:
            return


def _tarjan(n_nodes: int, tails: NodeArray, heads: NodeArray) -> IntArray:
    """Component label per node (iterative Tarjan over a CSR built with numpy); -1 for nodes without arcs."""
    order = np.argsort(tails, kind="stable")
    indptr: list[int] = np.searchsorted(tails[order], np.arange(n_nodes + 1)).tolist()
    adj: list[int] = heads[order].tolist()
    index = [-1] * n_nodes
    low = [0] * n_nodes
    on_stack = [False] * n_nodes
    comp = [-1] * n_nodes
    stack: list[int] = []
    counter = 0
    n_comp = 0
    for root in range(n_nodes):
        if index[root] != -1 or indptr[root] == indptr[root + 1]:
            continue
        # Each frame is (node, position of its next arc); entering a node numbers it and stacks it.
        frames = [[root, indptr[root]]]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        while frames:
            frame = frames[-1]
            v, i = frame
            end = indptr[v + 1]
            while i < end and index[adj[i]] != -1:
                w = adj[i]
                if on_stack[w]:
                    low[v] = min(low[v], index[w])
                i += 1
            frame[1] = i + 1
            if i < end:
                w = adj[i]
                index[w] = low[w] = counter
                counter += 1
                stack.append(w)
                on_stack[w] = True
                frames.append([w, indptr[w]])
                continue
            frames.pop()
            if low[v] == index[v]:
                _pop_component(stack, on_stack, comp, v, n_comp)
                n_comp += 1
            if frames:
                u = frames[-1][0]
                low[u] = min(low[u], low[v])
    return np.asarray(comp, dtype=np.int64)


def strong_components(n_nodes: int, tails: NodeArray, heads: NodeArray) -> IntArray:
    """Per node, the label of its strongly connected component, or -1 for a node in no cycle."""
    alive = _trim(n_nodes, tails, heads)
    labels = np.full(n_nodes, -1, dtype=np.int64)
    if not alive.any():
        return labels
    t, h = tails[alive], heads[alive]
    comp = _tarjan(n_nodes, t, h)
    sizes = np.bincount(comp[comp >= 0], minlength=int(comp.max()) + 1) if (comp >= 0).any() else None
    if sizes is None:
        return labels
    big = comp >= 0
    big[big] = sizes[comp[big]] > 1
    # Number the components with more than one node densely as 0..k-1.
    _, dense = np.unique(comp[big], return_inverse=True)
    labels[big] = dense.reshape(-1)
    return labels


def cyclic_arcs(graph: PairGraph) -> tuple[BoolArray, IntArray]:
    """Which pairs lie inside a strong component (only those can be set off), and the node labels."""
    labels = strong_components(graph.n_nodes, graph.pair_debtor, graph.pair_creditor)
    lt = labels[graph.pair_debtor]
    inside = (lt >= 0) & (lt == labels[graph.pair_creditor])
    return inside, labels
