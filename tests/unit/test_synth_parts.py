"""The generator's parts without files: number habits, network shape, options, calls and sides."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from o2o.domain.errors import ValidationError
from o2o.domain.numbers import normalise_number
from o2o.domain.operators import NumberingPlan
from o2o.synth.countries import COUNTRIES, Country
from o2o.synth.network import agreement_edges, allocate_calls, build_agreements, build_operators
from o2o.synth.options import SynthOptions
from o2o.synth.side_records import CallCounts, charged_seconds, side_records
from o2o.synth.traffic import MISSING_CUSTOMER, MISSING_PROVIDER, chunk_calls, chunks, plan_service
from o2o.synth.usage_csv import NumberHabit


def _plan(c: Country) -> NumberingPlan:
    return NumberingPlan(c.country_code, c.trunk_prefix, c.international_prefix)


@pytest.mark.parametrize(("declarer", "number"), list(itertools.product(COUNTRIES, COUNTRIES)))
def test_every_written_form_normalises_back(declarer: Country, number: Country) -> None:
    habit = NumberHabit.of(declarer, number, 1.0, np.random.default_rng(0))
    blocks = [*number.mobile_blocks, number.fixed_block]
    nsn = np.array([int(b) * 10**number.subscriber_digits + 12345 for b in blocks], dtype=np.int64)
    for code in range(9):
        if code // 3 == 2 and not habit.leads[2]:
            continue
        written = habit.write(nsn, np.full(len(nsn), code)).to_pylist()
        for text, n in zip(written, nsn.tolist(), strict=True):
            assert normalise_number(text, _plan(declarer)) == number.country_code + str(n), text


def test_national_form_only_for_the_declarers_own_country_code() -> None:
    gb, de, sg = (next(c for c in COUNTRIES if c.code == k) for k in ("GB", "DE", "SG"))
    rng = np.random.default_rng(1)
    assert NumberHabit.of(gb, gb, 0.5, rng).leads == ("+44", "0044", "0")
    assert NumberHabit.of(gb, de, 0.5, rng).leads[2] == ""
    assert NumberHabit.of(sg, sg, 0.5, rng).leads[2] == ""  # no trunk prefix: never national
    codes = NumberHabit.of(gb, de, 0.5, rng).codes(10_000, rng)
    assert not (codes // 3 == 2).any()


@pytest.mark.parametrize("n", [2, 3, 5, 8, 13, 40])
def test_agreement_graph_is_connected_and_sized(n: int) -> None:
    ops = build_operators(SynthOptions(operators=n))
    edges = agreement_edges(ops, seed=5)
    graph = nx.Graph(edges)
    assert graph.number_of_nodes() == n and nx.is_connected(graph)
    assert len(edges) == min(n * (n - 1) // 2, round(1.75 * n))
    assert len({o.id for o in ops}) == n
    assert all(a.weight > b.weight for a, b in itertools.pairwise(ops))


def test_eight_operators_one_large_national_and_foreign_partners() -> None:
    ops = build_operators(SynthOptions(operators=8))
    assert ops[0].country.code == ops[2].country.code == "GB" and ops[0].rank == 0 and ops[2].rank == 1
    assert len({o.country.currency for o in ops}) >= 6
    ags = build_agreements(SynthOptions(operators=8), ops)
    assert sum(ops[0].id in (a.parties[0].id, a.parties[1].id) for a in ags) >= 4


def test_one_way_and_service_filter() -> None:
    opts = SynthOptions(operators=2, services=("voice",), one_way=True, cdrs=1_000)
    ags = build_agreements(opts, build_operators(opts))
    assert [[s.id for s in a.services] for a in ags] == [["voice-ALFA-BRAVO"]]
    assert allocate_calls(opts, ags) == {"ALFA-BRAVO/voice-ALFA-BRAVO": 1_000}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"operators": 1}, "--operators"),
        ({"partial": 1.5}, "--partial"),
        ({"missing_provider": 0.6, "missing_customer": 0.6}, "exceed 1"),
        ({"clock_skew_s": 6}, "--clock-skew"),
        ({"clock_skew_s": 2, "jitter_s": 2}, "--jitter"),
        ({"services": ("voice", "fax")}, "--services"),
        ({"redial": 0.7}, "--redial"),
        ({"outage_days": 8}, "--outage-days 8: between 0 and 7"),
        ({"outage_days": -1}, "--outage-days"),
    ],
)
def test_bad_options_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SynthOptions(**changes).check()  # type: ignore[arg-type]


def test_billed_seconds_follow_increments() -> None:
    d = np.array([0, 1, 30, 31, 60, 61, 119])
    assert charged_seconds(d, 60, 60).tolist() == [0, 60, 60, 60, 60, 120, 120]
    assert charged_seconds(d, 30, 6).tolist() == [0, 30, 30, 36, 60, 66, 120]
    assert charged_seconds(d, 1, 1).tolist() == d.tolist()


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), redial=st.sampled_from([0.0, 0.05, 0.3]), skew=st.integers(0, 4))
def test_calls_keep_pairs_unique_and_sides_within_skew(seed: int, redial: float, skew: int) -> None:
    opts = SynthOptions(
        operators=2, services=("voice",), one_way=True, cdrs=4_000, seed=seed, redial=redial,
        clock_skew_s=skew, jitter_s=skew // 2,
        duplicate=0.05, chunk_calls=1_000,
    )  # fmt: skip
    ag = build_agreements(opts, build_operators(opts))[0]
    plan = plan_service(opts.check(), ag, ag.services[0], 4_000, 0)
    counts, pairs = CallCounts(), {}
    for chunk, first in chunks(plan):
        calls = chunk_calls(opts, plan, chunk, first)
        counts.add(calls)
        for k, (a, b) in enumerate(zip(calls.a_nsn.tolist(), calls.b_nsn.tolist(), strict=True)):
            pairs.setdefault((a, b), []).append((calls.start[k], bool(calls.redial[k])))
        rng = np.random.default_rng(seed)
        ours = side_records(calls, True, plan.offset_provider, opts.jitter_s, opts.duplicate, 0, rng)
        theirs = side_records(calls, False, plan.offset_customer, opts.jitter_s, 0.0, 0, rng)
        assert len(theirs) == int((calls.category != MISSING_CUSTOMER).sum())
        assert len(ours) == int((calls.category != MISSING_PROVIDER).sum() + ours.dup.sum())
        assert (np.diff(ours.start) >= 0).all()
        for i in np.flatnonzero(ours.dup):  # a copy follows an identical original
            earlier = np.flatnonzero(~ours.dup[:i] & (ours.record_no[:i] == ours.record_no[i]))
            assert len(earlier) == 1 and ours.duration[earlier[0]] == ours.duration[i]
    assert abs(plan.offset_customer - plan.offset_provider) + 2 * opts.jitter_s <= skew
    assert (
        counts.calls == 4_000 and counts.exact + counts.partial + counts.duration_mismatch == counts.matched
    )
    assert sum(len(v) == 2 for v in pairs.values()) == counts.redials
    for calls_on_pair in pairs.values():
        assert len(calls_on_pair) <= 2
        if len(calls_on_pair) == 2:
            assert all(redial for _, redial in calls_on_pair)
