"""Exact component matching against a brute-force search of every matching."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from o2o.reconcile.components import Edge, matching_cost, solve_component, solve_components, split_components


def brute_force_cost(edges: Sequence[Edge]) -> tuple[int, int, int]:
    """The best (−pairs, Σ|duration gap|, Σ|time gap|) over every matching of `edges`."""
    ours = sorted({e[0] for e in edges})
    by_o: dict[int, list[Edge]] = {o: [e for e in edges if e[0] == o] for o in ours}
    best: list[tuple[int, int, int]] = []

    def walk(i: int, used: frozenset[int], chosen: list[tuple[int, int]]) -> None:
        if i == len(ours):
            cost = matching_cost(edges, chosen)
            if not best or cost < best[0]:
                best[:] = [cost]
            return
        walk(i + 1, used, chosen)
        for _, t, _, _ in by_o[ours[i]]:
            if t not in used:
                walk(i + 1, used | {t}, [*chosen, (ours[i], t)])

    walk(0, frozenset(), [])
    return best[0]


def _is_matching(edges: Sequence[Edge], pairs: Sequence[tuple[int, int]]) -> bool:
    known = {(o, t) for o, t, _, _ in edges}
    return (
        all(p in known for p in pairs)
        and len({o for o, _ in pairs}) == len(pairs)
        and len({t for _, t in pairs}) == len(pairs)
    )


edge_lists = st.lists(
    st.tuples(
        st.integers(0, 5),
        st.integers(10, 15),
        st.one_of(st.none(), st.integers(-120, 120)) | st.integers(-2, 2),
        st.integers(-5, 5),
    ),
    min_size=1,
    max_size=14,
    unique_by=lambda e: (e[0], e[1]),
)


@settings(max_examples=300, deadline=None)
@given(edge_lists)
def test_components_give_the_best_maximum_matching(edges: list[Edge]) -> None:
    result = solve_components(edges)
    assert _is_matching(edges, result.pairs)
    assert matching_cost(edges, result.pairs) == brute_force_cost(edges)


def test_redial_pairs_by_duration_not_by_time() -> None:
    # Ours: a 3 s call at 0 and its redial of 120 s at 4; theirs saw them at 3 and 5 with their own clock.
    # Greedy by time gap would pair ours@4 with theirs@3 (1 s); by duration first, each call keeps its twin.
    edges: list[Edge] = [(1, 11, 0, 3), (1, 12, 117, 5), (2, 11, -117, -1), (2, 12, 0, 1)]
    assert sorted(solve_component(edges)) == [(1, 11), (2, 12)]


def test_maximum_beats_a_better_single_pair() -> None:
    # o1–t1 agree perfectly, but o2 has only t1: the maximum matching takes o1–t2 and o2–t1.
    edges: list[Edge] = [(1, 11, 0, 0), (1, 12, 30, 4), (2, 11, 9, 2)]
    assert sorted(solve_component(edges)) == [(1, 12), (2, 11)]


def test_unknown_duration_ranks_after_any_known_gap() -> None:
    edges: list[Edge] = [(1, 11, None, 0), (1, 12, 500, 5)]
    assert solve_component(edges) == [(1, 12)]


def test_components_split_by_shared_records() -> None:
    edges: list[Edge] = [(1, 11, 0, 0), (2, 11, 0, 1), (3, 13, 0, 0), (4, 14, 0, 0), (4, 15, 1, 0)]
    groups = split_components(edges)
    assert sorted(len(g) for g in groups) == [1, 2, 2]
    assert solve_components(edges).components == 2


def test_a_large_dense_component_agrees_with_networkx() -> None:
    import random

    import networkx as nx

    rng = random.Random(4)
    edges: list[Edge] = [
        (o, 1000 + t, rng.randint(-30, 30), rng.randint(-5, 5))
        for o in range(45)
        for t in range(38)
        if rng.random() < 0.3
    ]
    pairs = solve_component(edges)
    graph = nx.Graph()
    for o, t, d, g in edges:
        graph.add_edge(("o", o), ("t", t), weight=10**7 - (abs(d or 0) * 1000 + abs(g)))
    reference = [
        (u[1], v[1]) if u[0] == "o" else (v[1], u[1])
        for u, v in nx.max_weight_matching(graph, maxcardinality=True)
    ]
    assert _is_matching(edges, pairs)
    assert matching_cost(edges, pairs) == matching_cost(edges, reference)
