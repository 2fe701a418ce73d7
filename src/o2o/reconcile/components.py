"""Exact matching of the contested components left after the mutual-best rounds.

A candidate edge is (ours line, theirs line, duration gap, time gap), gaps signed theirs − ours (a duration
gap may be None when a duration is unknown; it ranks after every known gap). The edges split into
connected components; each is solved as an assignment problem so that the matching is
1. maximum (as many pairs as possible), then
2. of least total |duration gap|, then
3. of least total |time gap|.
The three goals become one integer cost per edge (|duration gap| · S + |time gap|) with S larger than any
total of time gaps, and an "unmatched" cost U per record larger than any total of edge costs; the
component is padded to a square assignment (each record may take its own dummy) and solved by OR-Tools
(`SimpleLinearSumAssignment`, arcs linear in the edges, so a large component stays cheap).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ortools.graph.python import linear_sum_assignment

Edge = tuple[int, int, int | None, int]

# An unknown duration gap ranks after every known one (durations are under a year).
UNKNOWN_DURATION_GAP = 10**8


@dataclass(frozen=True, slots=True)
class ComponentResult:
    """The pairs chosen and how many components (with more than one edge) were solved."""

    pairs: list[tuple[int, int]]
    components: int


class _DisjointSets:
    """Union-find over hashable nodes, with path halving."""

    def __init__(self) -> None:
        self.parent: dict[tuple[int, int], tuple[int, int]] = {}

    def find(self, node: tuple[int, int]) -> tuple[int, int]:
        parent = self.parent
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def union(self, a: tuple[int, int], b: tuple[int, int]) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def split_components(edges: Iterable[Edge]) -> list[list[Edge]]:
    """The edges grouped by connected component, in a deterministic order (by first edge seen)."""
    sets = _DisjointSets()
    listed = list(edges)
    for o, t, _, _ in listed:
        sets.union((0, o), (1, t))
    groups: dict[tuple[int, int], list[Edge]] = {}
    for edge in listed:
        groups.setdefault(sets.find((0, edge[0])), []).append(edge)
    return list(groups.values())


def edge_costs(edges: Sequence[Edge]) -> tuple[list[int], int]:
    """The scalar cost of each edge and the cost U of leaving one record unmatched."""
    ours = {e[0] for e in edges}
    theirs = {e[1] for e in edges}
    most_pairs = min(len(ours), len(theirs))
    max_time = max(abs(e[3]) for e in edges)
    scale = most_pairs * max_time + 1
    costs = [(UNKNOWN_DURATION_GAP if d is None else abs(d)) * scale + abs(t) for _, _, d, t in edges]
    unmatched = most_pairs * max(costs) + 1
    return costs, unmatched


def solve_component(edges: Sequence[Edge]) -> list[tuple[int, int]]:
    """An optimal matching of one component (see the module's docstring) as (ours, theirs) pairs."""
    if len(edges) == 1:
        return [(edges[0][0], edges[0][1])]
    ours = sorted({e[0] for e in edges})
    theirs = sorted({e[1] for e in edges})
    o_index = {line: i for i, line in enumerate(ours)}
    t_index = {line: i for i, line in enumerate(theirs)}
    n_o, n_t = len(ours), len(theirs)
    costs, unmatched = edge_costs(edges)
    solver = linear_sum_assignment.SimpleLinearSumAssignment()
    # Left: our records, then one dummy per their record. Right: their records, then one dummy per ours.
    for (o, t, _, _), cost in zip(edges, costs, strict=True):
        solver.add_arc_with_cost(o_index[o], t_index[t], cost)
    for i in range(n_o):
        solver.add_arc_with_cost(i, n_t + i, unmatched)
    for j in range(n_t):
        solver.add_arc_with_cost(n_o + j, j, unmatched)
    # A dummy of t may take the dummy of o only along an edge (o, t): when o–t is matched both dummies are
    # free for each other, so every matching still completes, with arcs linear in the edges.
    for o, t, _, _ in edges:
        solver.add_arc_with_cost(n_o + t_index[t], n_t + o_index[o], 0)
    status = solver.solve()
    if status != solver.OPTIMAL:
        raise RuntimeError(f"assignment solver failed on a component of {len(edges)} edges: {status}")
    pairs = []
    for i, o in enumerate(ours):
        j = solver.right_mate(i)
        if j < n_t:
            pairs.append((o, theirs[j]))
    return pairs


def solve_components(edges: Iterable[Edge]) -> ComponentResult:
    """Optimal pairs over all components of `edges`."""
    pairs: list[tuple[int, int]] = []
    contested = 0
    for component in split_components(edges):
        if len(component) > 1:
            contested += 1
        pairs.extend(solve_component(component))
    return ComponentResult(pairs, contested)


def matching_cost(edges: Sequence[Edge], pairs: Iterable[tuple[int, int]]) -> tuple[int, int, int]:
    """(−pairs, total |duration gap|, total |time gap|) of a matching: smaller is better."""
    by_pair = {(o, t): (d, g) for o, t, d, g in edges}
    count = total_d = total_t = 0
    for pair in pairs:
        d, g = by_pair[pair]
        count += 1
        total_d += UNKNOWN_DURATION_GAP if d is None else abs(d)
        total_t += abs(g)
    return (-count, total_d, total_t)
