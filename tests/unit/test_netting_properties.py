"""Properties of every netting round, re-checked from the outside on random obligations (hypothesis)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from o2o.domain.money import from_minor, to_minor
from o2o.domain.obligations import Obligation
from o2o.netting import CurrencyNetting, DirectOptions, NettingMode, net_obligations

OPERATORS = ["ALFA", "BETA", "GAMMA", "DELTA", "EPS", "ZETA"]
CURRENCIES = ["EUR", "JPY"]


@st.composite
def obligation_lists(draw: st.DrawFn) -> list[Obligation]:
    count = draw(st.integers(1, 25))
    items = []
    for k in range(count):
        debtor, creditor = draw(st.lists(st.sampled_from(OPERATORS), min_size=2, max_size=2, unique=True))
        currency = draw(st.sampled_from(CURRENCIES))
        minor = draw(st.integers(0, 50_000))
        due = draw(st.none() | st.integers(0, 40).map(lambda d: date(2026, 10, 1) + timedelta(days=d)))
        items.append(Obligation(f"o{k}", debtor, creditor, from_minor(minor, currency), currency, due))
    return items


def largest_setoff(items: list[Obligation]) -> int:
    if not items:
        return 0
    graph = nx.DiGraph()
    for o in items:
        amount = to_minor(o.amount, o.currency)
        if graph.has_edge(o.debtor, o.creditor):
            graph[o.debtor][o.creditor]["capacity"] += amount
        else:
            graph.add_edge(o.debtor, o.creditor, capacity=amount, weight=-1)
    cost, _ = nx.network_simplex(graph)
    return -int(cost)


def verify(result: CurrencyNetting, items: list[Obligation], mode: NettingMode, hub: str) -> None:
    by_id = {o.id: o for o in items}
    setoff = {s.obligation: s.amount for s in result.setoffs}
    assert all(Decimal(0) < amount <= by_id[ident].amount for ident, amount in setoff.items())
    gross = sum((o.amount for o in items), Decimal(0))
    assert result.gross_total == gross
    assert result.cleared_total == sum(setoff.values(), Decimal(0))
    assert result.remaining_total == gross - result.cleared_total
    # The set-off is a circulation: each operator's set-off debts equal its set-off claims.
    paid_off: dict[str, Decimal] = defaultdict(Decimal)
    for ident, amount in setoff.items():
        paid_off[by_id[ident].debtor] += amount
        paid_off[by_id[ident].creditor] -= amount
    assert all(v == 0 for v in paid_off.values())
    net: dict[str, Decimal] = defaultdict(Decimal)
    for o in items:
        net[o.creditor] += o.amount
        net[o.debtor] -= o.amount
    assert {p.operator: p.net for p in result.positions} == {k: v for k, v in net.items()}
    assert result.net_internal_debt == sum((v for v in net.values() if v > 0), Decimal(0))
    assert result.cleared_total == from_minor(largest_setoff(items), result.currency)
    assert all(p.amount > 0 for p in result.payments)
    moved: dict[str, Decimal] = defaultdict(Decimal)
    for p in result.payments:
        moved[p.payee] += p.amount
        moved[p.payer] -= p.amount
    if mode is NettingMode.CONSERVATIVE:
        remaining: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for o in items:
            left = o.amount - setoff.get(o.id, Decimal(0))
            if left:
                remaining[(o.debtor, o.creditor)] += left
        assert {(p.payer, p.payee): p.amount for p in result.payments} == dict(remaining)
    else:
        assert moved.pop(hub, Decimal(0)) == 0
        assert {k: v for k, v in moved.items() if v} == {k: v for k, v in net.items() if v}
    if mode is NettingMode.CLEARING_HOUSE:
        assert result.payments_count == sum(1 for v in net.values() if v)
        assert (
            sum((p.amount for p in result.payments if p.payee == hub), Decimal(0)) == result.net_internal_debt
        )
    if mode is NettingMode.DIRECT:
        assert result.direct is not None
        nonzero = sum(1 for v in net.values() if v)
        assert result.direct.lower_bound <= result.payments_count <= max(nonzero - 1, 0)
        assert all(net[p.payer] < 0 < net[p.payee] for p in result.payments)


@settings(max_examples=60, deadline=None)
@given(obligation_lists(), st.sampled_from(list(NettingMode)))
def test_every_round_keeps_its_invariants_and_is_optimal(items: list[Obligation], mode: NettingMode) -> None:
    result = net_obligations(items, mode=mode, direct_options=DirectOptions(milp_seconds=1.0))
    assert [c.currency for c in result.currencies] == sorted({o.currency for o in items})
    for item in result.currencies:
        verify(item, [o for o in items if o.currency == item.currency], mode, "HUB")


@settings(max_examples=30, deadline=None)
@given(obligation_lists(), st.randoms(use_true_random=False))
def test_input_order_changes_neither_totals_nor_positions(items: list[Obligation], rnd: object) -> None:
    shuffled = list(items)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    first = net_obligations(items, mode=NettingMode.CLEARING_HOUSE)
    second = net_obligations(shuffled, mode=NettingMode.CLEARING_HOUSE)
    for a, b in zip(first.currencies, second.currencies, strict=True):
        assert (a.cleared_total, a.positions, a.payments) == (b.cleared_total, b.positions, b.payments)


@settings(max_examples=40, deadline=None)
@given(obligation_lists())
def test_withheld_obligations_stay_out_and_the_rest_still_holds(items: list[Obligation]) -> None:
    withheld = {o.id for o in items[::3]}
    result = net_obligations(items, mode=NettingMode.CONSERVATIVE, withheld=withheld)
    for item in result.currencies:
        assert {e.obligation for e in item.excluded} == {
            o.id for o in items if o.id in withheld and o.currency == item.currency
        }
        assert not {s.obligation for s in item.setoffs} & withheld
        kept = [o for o in items if o.currency == item.currency and o.id not in withheld]
        verify(item, kept, NettingMode.CONSERVATIVE, "HUB")
