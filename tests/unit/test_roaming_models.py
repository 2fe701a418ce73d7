"""The roaming discount models held to plain references written here (hypothesis), and the commitment rules.

The references walk the volume unit by unit (a tenth of a unit: volumes and thresholds are drawn in tenths):
each unit costs the linear price of the tier it falls in, and each tier reached adds its flat fee once. That
is the BWRP engine's tier rule told another way; the engine's closed form must agree with it exactly.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from o2o.roaming import (
    CommitmentKind,
    Condition,
    Direction,
    Discount,
    DiscountGroup,
    PlanKind,
    RatingPlan,
    RatioPlan,
    Rules,
    ServicePricing,
    Tier,
    UsageTotals,
    calculate,
)
from o2o.roaming.calculation import SHARE_PLACES

TENTH = Decimal("0.1")
prices = st.decimals(min_value=0, max_value=50, places=4, allow_nan=False, allow_infinity=False)


@st.composite
def tier_lists(draw: st.DrawFn) -> tuple[Tier, ...]:
    gaps = draw(st.lists(st.integers(1, 400), min_size=0, max_size=4))
    starts = [0]
    for gap in gaps:
        starts.append(starts[-1] + gap)
    return tuple(Tier(s * TENTH, draw(prices), draw(prices)) for s in starts)


def reference_tiered(tiers: tuple[Tier, ...], volume_tenths: int) -> Decimal:
    """Walk the volume tenth by tenth: each tenth at its tier's linear price, each reached tier's fee once."""
    total = Decimal(0)
    reached: set[int] = set()
    for unit in range(volume_tenths):
        position = unit * TENTH  # the tenth (position, position + 0.1]
        index = max(i for i, t in enumerate(tiers) if t.start <= position)
        if index not in reached:
            reached.add(index)
            total += tiers[index].fixed
        total += tiers[index].linear * TENTH
    return total


def reference_back_to_first(tiers: tuple[Tier, ...], volume_tenths: int) -> Decimal:
    """Every unit at the price of the last tier the volume passes; that tier's fee once; nothing for 0."""
    volume = volume_tenths * TENTH
    passed = [t for t in tiers if volume > t.start]
    if not passed:
        return Decimal(0)
    return passed[-1].fixed + sum((passed[-1].linear * TENTH for _ in range(volume_tenths)), Decimal(0))


@settings(max_examples=200, deadline=None)
@given(tier_lists(), st.integers(0, 3000))
def test_tiered_equals_the_unit_walk(tiers: tuple[Tier, ...], tenths: int) -> None:
    assert RatingPlan(tiers).value(tenths * TENTH) == reference_tiered(tiers, tenths)


@settings(max_examples=200, deadline=None)
@given(tier_lists(), st.integers(0, 3000))
def test_back_to_first_equals_the_plain_rule(tiers: tuple[Tier, ...], tenths: int) -> None:
    plan = RatingPlan(tiers, PlanKind.BACK_TO_FIRST)
    assert plan.value(tenths * TENTH) == reference_back_to_first(tiers, tenths)


@settings(max_examples=200, deadline=None)
@given(tier_lists(), tier_lists(), st.integers(0, 3000), st.integers(0, 3000))
def test_balanced_unbalanced_splits_at_the_partners_traffic(
    balanced: tuple[Tier, ...], unbalanced: tuple[Tier, ...], own: int, opposite: int
) -> None:
    matched = min(own, opposite)
    expected = reference_tiered(balanced, matched) + reference_tiered(unbalanced, own - matched)
    assert RatioPlan(balanced, unbalanced).value(own * TENTH, opposite * TENTH) == expected


def test_the_bwrp_example_figures() -> None:
    """example3.md: 1500 × 5 + 1500 × 3 = 12000; request1's VOLTE: 2000 × 15 + 1000 × 20 + 1000 = 51000."""
    sms = RatingPlan((Tier(Decimal(0), linear=Decimal(5)), Tier(Decimal(1500), linear=Decimal(3))))
    assert sms.value(Decimal(3000)) == 12000
    volte = RatioPlan(
        (Tier(Decimal(0), linear=Decimal(15)),), (Tier(Decimal(0), Decimal(1000), Decimal(20)),)
    )
    assert volte.value(Decimal(3000), Decimal(2000)) == 51000
    assert volte.value(Decimal(2000), Decimal(3000)) == 30000  # no excess: no unbalanced flat fee
    flat = RatingPlan((Tier(Decimal(0), fixed=Decimal(1500)),))
    assert flat.value(Decimal(0)) == 0 and flat.value(Decimal("0.001")) == 1500


HOME, VISITOR = ("HOME1", "HOME2"), ("VIS1", "VIS2")
SERVICES = ("SMS MO", "MOC Local", "GPRS", "MTC")


@st.composite
def requests(draw: st.DrawFn) -> tuple[Discount, dict[tuple[str, str, str], UsageTotals]]:
    pricings = []
    for name in draw(st.lists(st.sampled_from(SERVICES), min_size=1, max_size=4, unique=True)):
        tiers = draw(tier_lists())
        pricings.append(ServicePricing(name, name, RatingPlan(tiers), draw(st.booleans())))
    kind = draw(st.sampled_from(list(CommitmentKind)))
    condition = Condition(kind, Decimal(draw(st.integers(0, 200000))), draw(st.booleans()))
    discount = Discount("P", condition, (DiscountGroup(HOME, VISITOR, tuple(pricings)),))
    usage = {}
    for name in SERVICES:
        for h in (*HOME, *VISITOR):
            for v in (*HOME, *VISITOR):
                if draw(st.booleans()):
                    usage[(name, h, v)] = UsageTotals(
                        draw(st.integers(0, 3000)) * TENTH,
                        draw(prices),
                        draw(prices),
                        Direction.INBOUND if h in HOME else Direction.OUTBOUND,
                    )
    return discount, usage


@settings(max_examples=200, deadline=None)
@given(requests())
def test_commitments_against_a_plain_reference(
    request: tuple[Discount, dict[tuple[str, str, str], UsageTotals]],
) -> None:
    discount, usage = request
    (group,) = discount.groups
    result = calculate([discount], usage, Rules.CURRENT)
    (outcome,) = result.parties
    # The plain reference: every row of the group's own traffic, summed service by service.
    deal, included, revenue, with_usage = {}, Decimal(0), Decimal(0), set()
    for p in group.services:
        rows = [u for (s, h, v), u in usage.items() if s == p.canonical and h in HOME and v in VISITOR]
        volume = sum((u.volume for u in rows), Decimal(0))
        deal[p.service] = reference_tiered(p.plan.tiers, int(volume / TENTH))  # type: ignore[union-attr]
        included += deal[p.service] if p.included_in_commitment else 0
        taxes = discount.condition.including_taxes
        revenue += sum((u.charges + (u.taxes if taxes else 0) for u in rows), Decimal(0))
        if rows:
            with_usage.add(p.service)
    assert {r.service: r.deal_value for r in result.results} == {s: deal[s] for s in with_usage}
    measured = {
        CommitmentKind.DEAL_REVENUE: included,
        CommitmentKind.CONTRACT_REVENUE: revenue,
        CommitmentKind.UNCONDITIONAL: Decimal(0),
    }[discount.condition.kind]
    assert outcome.measured == measured
    met = discount.condition.kind is CommitmentKind.UNCONDITIONAL or measured >= discount.condition.value
    assert outcome.met is met
    assert outcome.shortfall == (0 if met else discount.condition.value - measured)
    shares = [r.short_of_commitment for r in result.results]
    assert all(s >= 0 for s in shares)
    if result.results:
        assert sum(shares, Decimal(0)) == outcome.shortfall
        rounded = sorted(shares)[:-1]  # every share but the largest is rounded to SHARE_PLACES
        assert all(s == s.quantize(Decimal(1).scaleb(-SHARE_PLACES)) for s in rounded)


def test_aea87aa_rules_drop_the_results_before_an_unmet_commitment() -> None:
    plan = RatingPlan((Tier(Decimal(0), linear=Decimal(1)),))
    usage = {
        ("SMS MO", "A", "B"): UsageTotals(Decimal(10), Decimal(7), Decimal(1), Direction.INBOUND),
        ("SMS MO", "B", "A"): UsageTotals(Decimal(20), Decimal(9), Decimal(1), Direction.OUTBOUND),
    }
    first = Discount(
        "ONE", Condition(), (DiscountGroup(("A",), ("B",), (ServicePricing("SMS", "SMS MO", plan),)),)
    )
    unmet = Condition(CommitmentKind.CONTRACT_REVENUE, Decimal(100))
    second = Discount(
        "TWO", unmet, (DiscountGroup(("B",), ("A",), (ServicePricing("SMS", "SMS MO", plan),)),)
    )
    assert [r.deal_value for r in calculate([first, second], usage, Rules.CURRENT).results] == [10, 20]
    assert calculate([first, second], usage, Rules.AEA87AA).results == ()
    met = Discount("TWO", Condition(CommitmentKind.CONTRACT_REVENUE, Decimal(5)), second.groups)
    # aea87aa9: a Contract Revenue Commitment's deal value is the charge itself.
    assert [r.deal_value for r in calculate([first, met], usage, Rules.AEA87AA).results] == [10, 9]
