"""The clock offset's lower median read off a histogram of time gaps, against the median of the values."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from o2o.reconcile.file_match import lower_median


@given(st.lists(st.integers(-60, 60), min_size=1, max_size=40))
def test_lower_median_of_a_histogram_is_the_lower_median_of_its_values(gaps: list[int]) -> None:
    ordered = sorted(gaps)
    assert lower_median(dict(Counter(gaps))) == ordered[(len(ordered) - 1) // 2]


def test_lower_median_takes_the_lower_of_two_middles() -> None:
    assert lower_median({1: 2, 3: 2}) == 1
    assert lower_median({-2: 1, 0: 1, 5: 1}) == 0
