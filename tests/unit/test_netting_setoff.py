"""The set-off core: pair aggregation, strong components, optimality against networkx, basic solutions."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from o2o.domain.errors import ValidationError
from o2o.netting.allocation import NO_DUE_DATE, allocate_setoff, bilateral_netting
from o2o.netting.circulation import max_setoff, tidy_to_basic
from o2o.netting.graph import aggregate_pairs, cyclic_arcs, strong_components


def arrays(edges: list[tuple[int, int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = np.array([e[0] for e in edges], dtype=np.int32)
    c = np.array([e[1] for e in edges], dtype=np.int32)
    a = np.array([e[2] for e in edges], dtype=np.int64)
    return d, c, a


@st.composite
def debt_graphs(
    draw: st.DrawFn, max_nodes: int = 8, max_edges: int = 24
) -> tuple[int, list[tuple[int, int, int]]]:
    n = draw(st.integers(2, max_nodes))
    edge = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.integers(0, 1000)).filter(
        lambda e: e[0] != e[1]
    )
    return n, draw(st.lists(edge, min_size=1, max_size=max_edges))


def test_pairs_sum_their_obligations_exactly() -> None:
    d, c, a = arrays([(0, 1, 5), (0, 1, 7), (1, 0, 3), (2, 0, 1)])
    graph = aggregate_pairs(3, d, c, a)
    found = {
        (int(t), int(h)): int(x)
        for t, h, x in zip(graph.pair_debtor, graph.pair_creditor, graph.pair_amount, strict=True)
    }
    assert found == {(0, 1): 12, (1, 0): 3, (2, 0): 1}
    assert [found[(int(d[k]), int(c[k]))] for k in range(4)] == [
        int(graph.pair_amount[graph.pair_of[k]]) for k in range(4)
    ]


def test_aggregation_refuses_self_debt_and_negative_amounts() -> None:
    with pytest.raises(ValidationError, match="same debtor and creditor"):
        aggregate_pairs(2, *arrays([(1, 1, 5)]))
    with pytest.raises(ValidationError, match="negative"):
        aggregate_pairs(2, *arrays([(0, 1, -5)]))


@settings(max_examples=60, deadline=None)
@given(debt_graphs(max_nodes=10, max_edges=30))
def test_strong_components_match_networkx(case: tuple[int, list[tuple[int, int, int]]]) -> None:
    n, edges = case
    d, c, _ = arrays(edges)
    labels = strong_components(n, d, c)
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from((t, h) for t, h, _ in edges)
    expected = {frozenset(comp) for comp in nx.strongly_connected_components(graph) if len(comp) > 1}
    found: dict[int, set[int]] = {}
    for node, label in enumerate(labels.tolist()):
        if label >= 0:
            found.setdefault(label, set()).add(node)
    assert {frozenset(s) for s in found.values()} == expected


def networkx_max_setoff(n: int, edges: list[tuple[int, int, int]]) -> int:
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    for t, h, a in edges:
        if graph.has_edge(t, h):
            graph[t][h]["capacity"] += a
        else:
            graph.add_edge(t, h, capacity=a, weight=-1)
    cost, _ = nx.network_simplex(graph)
    return -int(cost)


def is_forest(edges: list[tuple[int, int]]) -> bool:
    graph = nx.Graph()
    graph.add_edges_from(edges)
    return all(len(set(e)) == 2 for e in edges) and nx.is_forest(graph) if edges else True


@settings(max_examples=80, deadline=None)
@given(debt_graphs())
def test_largest_setoff_equals_networkx_and_is_basic(case: tuple[int, list[tuple[int, int, int]]]) -> None:
    n, edges = case
    graph = aggregate_pairs(n, *arrays(edges))
    inside, _ = cyclic_arcs(graph)
    flow = max_setoff(graph, inside)
    assert int(flow.sum()) == networkx_max_setoff(n, edges)
    assert np.all(flow >= 0)
    assert np.all(flow <= graph.pair_amount)
    out = np.zeros(n, dtype=np.int64)
    into = np.zeros(n, dtype=np.int64)
    np.add.at(out, graph.pair_debtor, flow)
    np.add.at(into, graph.pair_creditor, flow)
    assert np.array_equal(out, into)
    partly = (flow > 0) & (flow < graph.pair_amount)
    pairs = list(zip(graph.pair_debtor[partly].tolist(), graph.pair_creditor[partly].tolist(), strict=True))
    assert is_forest(pairs)


def test_no_setoff_without_a_cycle() -> None:
    graph = aggregate_pairs(4, *arrays([(0, 1, 10), (1, 2, 10), (2, 3, 10)]))
    inside, labels = cyclic_arcs(graph)
    assert not inside.any()
    assert (labels == -1).all()
    assert int(max_setoff(graph, inside).sum()) == 0


def test_node_cap_limits_setoff_through_a_participant() -> None:
    # Two cycles through node 0: 0->1->0 (100) and 0->2->0 (50); a cap of 120 on node 0 keeps 120 of 150.
    graph = aggregate_pairs(3, *arrays([(0, 1, 100), (1, 0, 100), (0, 2, 50), (2, 0, 50)]))
    inside, _ = cyclic_arcs(graph)
    cap = np.array([120, -1, -1], dtype=np.int64)
    flow = max_setoff(graph, inside, cap)
    through_zero = int(flow[graph.pair_debtor == 0].sum())
    assert through_zero == 120
    assert int(max_setoff(graph, inside).sum()) == 300


def test_tidy_makes_an_optimal_split_basic_without_changing_the_total() -> None:
    # Two equally long routes 0->1->3 and 0->2->3 back to 0 over 3->0 (10): any split of 10 is optimal;
    # half and half leaves a cycle of partly cleared arcs, which tidying must remove.
    tails = np.array([0, 1, 0, 2, 3], dtype=np.int64)
    heads = np.array([1, 3, 2, 3, 0], dtype=np.int64)
    capacity = np.full(5, 10, dtype=np.int64)
    cost = np.full(5, -1, dtype=np.int64)
    flow = np.array([5, 5, 5, 5, 10], dtype=np.int64)
    basic = tidy_to_basic(tails, heads, capacity, cost, flow)
    assert int(basic.dot(cost)) == int(flow.dot(cost)) == -30
    free = (basic > 0) & (basic < capacity)
    assert not free.any()
    assert sorted(basic.tolist()) == [0, 0, 10, 10, 10]


def test_tidy_never_lowers_the_setoff_of_a_suboptimal_flow() -> None:
    tails = np.array([0, 1, 2, 3, 0, 2], dtype=np.int64)
    heads = np.array([1, 2, 3, 0, 2, 0], dtype=np.int64)
    capacity = np.full(6, 10, dtype=np.int64)
    cost = np.full(6, -1, dtype=np.int64)
    flow = np.array([5, 5, 5, 5, 5, 5], dtype=np.int64)
    basic = tidy_to_basic(tails, heads, capacity, cost, flow)
    assert int(basic.dot(cost)) <= int(flow.dot(cost))
    free = (basic > 0) & (basic < capacity)
    assert is_forest(list(zip(tails[free].tolist(), heads[free].tolist(), strict=True)))


def test_allocation_clears_the_oldest_obligation_first() -> None:
    pair_of = np.array([0, 0, 0, 1], dtype=np.int64)
    amount = np.array([30, 50, 20, 10], dtype=np.int64)
    due = np.array([739_010, 739_001, NO_DUE_DATE, 739_000], dtype=np.int64)
    setoff = allocate_setoff(pair_of, amount, due, np.array([60, 10], dtype=np.int64))
    # Pair 0 gets 60: the obligation due first (50) in full, then 10 of the next (30); none of the undated.
    assert setoff.tolist() == [10, 50, 0, 10]


def test_allocation_breaks_ties_by_input_order() -> None:
    pair_of = np.zeros(3, dtype=np.int64)
    amount = np.array([5, 5, 5], dtype=np.int64)
    due = np.full(3, NO_DUE_DATE, dtype=np.int64)
    assert allocate_setoff(pair_of, amount, due, np.array([7], dtype=np.int64)).tolist() == [5, 2, 0]


def test_bilateral_netting_pays_only_differences() -> None:
    payer, payee, paid = bilateral_netting(
        3,
        np.array([0, 1, 1, 2], dtype=np.int32),
        np.array([1, 0, 2, 1], dtype=np.int32),
        np.array([100, 30, 40, 40], dtype=np.int64),
    )
    assert list(zip(payer.tolist(), payee.tolist(), paid.tolist(), strict=True)) == [(0, 1, 70)]


def test_components_behind_a_long_chain_are_found() -> None:
    # A chain 0->1->…->39 longer than the trimming rounds, ending in the circle 39->40->41->39.
    edges = [(k, k + 1, 5) for k in range(39)] + [(39, 40, 5), (40, 41, 5), (41, 39, 5)]
    d, c, _ = arrays(edges)
    labels = strong_components(42, d, c)
    assert (labels[:39] == -1).all()
    assert len(set(labels[39:].tolist())) == 1
    assert labels[39] >= 0
