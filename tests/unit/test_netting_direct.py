"""The `direct` mode: fewest payments, checked against a brute-force search over payment graphs."""

from __future__ import annotations

import itertools
import random

import networkx as nx
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from o2o.netting.direct import fewest_payments
from o2o.netting.results import DirectMethod


def brute_force_fewest(values: list[int]) -> int:
    """Fewest debtor->creditor edges that can carry a settlement (tried by size, feasibility by max flow)."""
    debtors = [i for i, v in enumerate(values) if v < 0]
    creditors = [i for i, v in enumerate(values) if v > 0]
    edges = [(d, c) for d in debtors for c in creditors]
    owed = -sum(values[d] for d in debtors)
    if owed == 0:
        return 0
    for k in range(1, len(edges) + 1):
        for chosen in itertools.combinations(edges, k):
            graph = nx.DiGraph()
            for d in debtors:
                graph.add_edge("s", d, capacity=-values[d])
            for c in creditors:
                graph.add_edge(c, "t", capacity=values[c])
            graph.add_edges_from(chosen)  # no capacity: unbounded
            if nx.maximum_flow_value(graph, "s", "t") == owed:
                return k
    raise AssertionError("a complete bipartite graph always settles")


@st.composite
def positions(draw: st.DrawFn, max_size: int = 6) -> list[int]:
    head = draw(st.lists(st.integers(-6, 6).map(lambda v: v * 100), min_size=1, max_size=max_size - 1))
    return [*head, -sum(head)]


def settles(values: list[int], plan_payer: np.ndarray, plan_payee: np.ndarray, paid: np.ndarray) -> bool:
    moved = [0] * len(values)
    for a, b, m in zip(plan_payer.tolist(), plan_payee.tolist(), paid.tolist(), strict=True):
        if m <= 0 or values[a] >= 0 or values[b] <= 0:
            return False
        moved[a] -= m
        moved[b] += m
    return moved == values


@settings(max_examples=40, deadline=None)
@given(positions())
def test_exact_search_finds_the_brute_force_minimum(values: list[int]) -> None:
    plan = fewest_payments(np.array(values, dtype=np.int64))
    assert plan.method is DirectMethod.EXACT
    assert plan.optimal
    assert settles(values, plan.payer, plan.payee, plan.paid)
    assert len(plan.paid) == brute_force_fewest(values) == plan.lower_bound


@settings(max_examples=15, deadline=None)
@given(positions(max_size=5))
def test_milp_finds_the_brute_force_minimum(values: list[int]) -> None:
    if sum(1 for v in values if v) == 0:
        return
    plan = fewest_payments(np.array(values, dtype=np.int64), exact_limit=0, milp_limit=50, milp_seconds=5.0)
    assert plan.method is DirectMethod.MILP
    assert settles(values, plan.payer, plan.payee, plan.paid)
    assert len(plan.paid) == brute_force_fewest(values)
    assert plan.optimal


@settings(max_examples=40, deadline=None)
@given(positions(max_size=12))
def test_greedy_needs_at_most_r_minus_one_payments(values: list[int]) -> None:
    plan = fewest_payments(np.array(values, dtype=np.int64), exact_limit=0, milp_limit=0)
    r = sum(1 for v in values if v)
    assert plan.method is (DirectMethod.GREEDY if r else DirectMethod.EXACT)
    assert settles(values, plan.payer, plan.payee, plan.paid)
    assert plan.lower_bound <= len(plan.paid) <= max(r - 1, 0)


def test_exact_search_on_twenty_positions_finds_the_planted_groups() -> None:
    # Six zero-sum groups with large random values (no other zero-sum subsets): the minimum is 20 - 6.
    rng = random.Random(5)
    values: list[int] = []
    for size in (2, 3, 3, 4, 4, 4):
        head = [rng.randrange(10**6, 10**9) * rng.choice((-1, 1)) for _ in range(size - 1)]
        values += [*head, -sum(head)]
    rng.shuffle(values)
    plan = fewest_payments(np.array(values, dtype=np.int64))
    assert plan.method is DirectMethod.EXACT
    assert settles(values, plan.payer, plan.payee, plan.paid)
    assert len(plan.paid) == 20 - 6


def test_nothing_to_pay_when_every_position_is_zero() -> None:
    plan = fewest_payments(np.zeros(4, dtype=np.int64))
    assert len(plan.paid) == 0
    assert plan.optimal
