"""Tail means average the worst ceil((1 - q) n) values, q taken as the decimal written."""

import math
from decimal import Decimal, localcontext

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from jevons.engine.summaries.exact import tail_mean
from jevons.engine.summaries.sketch import RowSketches, SketchSpec
from jevons.engine.summaries.tails import tail_count, tail_counts

# Decimals of up to six digits, as a user writes them, and arbitrary floats.
decimal_quantiles = st.integers(1, 6).flatmap(
    lambda digits: st.integers(0, 10**digits).map(lambda k: k / 10**digits)
)
quantiles = st.one_of(decimal_quantiles, st.floats(min_value=0.0, max_value=1.0))


def reference_count(q: float, n: int) -> int:
    """ceil((1 - q) n) for the decimal q is written as, at least one, at most n."""
    with localcontext() as context:
        context.prec = 1000  # 1 - 5e-324 needs ~340 digits; enough to be exact
        count = math.ceil((1 - Decimal(repr(q))) * n)
    return min(max(count, 1), n)


def shuffled_one_to_hundred() -> np.ndarray:
    return np.random.default_rng(57).permutation(np.arange(1.0, 101.0))


def test_q_057_of_100_values_is_the_top_43():
    # 0.57 * 100 is 56.99999999999999 in floats; the tail is still 43 values.
    assert tail_count(0.57, 100) == 43
    assert tail_mean(shuffled_one_to_hundred(), np.array([0.57]))[0] == 79.0  # mean of 58..100


def test_q_057_of_100_values_is_the_top_43_in_a_sketch():
    spec = SketchSpec(0.001)
    sketch = RowSketches(1, spec)
    sketch.add(shuffled_one_to_hundred()[None, :])
    reported = sketch.tail_means(np.array([0.57]))[0, 0]
    top_43, top_44 = 79.0, (79.0 * 43 + 57) / 44  # 78.5: further off than the bound
    assert abs(top_44 - top_43) > 2 * spec.guaranteed_accuracy * top_43
    assert abs(reported - top_43) <= (spec.guaranteed_accuracy + 1e-15) * top_43
    assert abs(reported - top_44) > spec.guaranteed_accuracy * top_44


def test_extreme_levels_and_empty_rows():
    assert tail_count(0.0, 10) == 10
    assert tail_count(1.0, 10) == 1
    assert tail_count(0.999, 10) == 1
    assert tail_count(0.5, 0) == 0
    np.testing.assert_array_equal(
        tail_counts(np.array([0.0, 0.57, 1.0]), np.array([[100, 0], [1, 7]])),
        [[[100, 43, 1], [0, 0, 0]], [[1, 1, 1], [7, 4, 1]]],
    )


def test_no_overflow_for_long_decimals_and_huge_counts():
    q = 0.12345678901234566  # 17 significant digits: p * n far beyond int64
    n = 2**40 + 12345
    assert tail_count(q, n) == reference_count(q, n)
    np.testing.assert_array_equal(
        tail_counts(np.array([q, 0.57]), np.array([n, 100])),
        [[reference_count(q, n), reference_count(0.57, n)], [reference_count(q, 100), 43]],
    )


@settings(max_examples=300, deadline=None)
@given(q=quantiles, n=st.integers(1, 10_000), seed=st.integers(0, 2**32 - 1))
@example(q=0.57, n=100, seed=0)
@example(q=0.29, n=100, seed=1)
def test_tail_count_and_mean_against_decimal_reference(q, n, seed):
    count = reference_count(q, n)
    assert tail_count(q, n) == count
    assert tail_counts(np.array([q]), np.array([n]))[0, 0] == count
    # Small integers: every sum is exact, so the means must agree exactly.
    values = np.random.default_rng(seed).integers(0, 1000, n).astype(np.float64)
    brute_force = np.sort(values)[::-1][:count].sum() / count
    assert tail_mean(values, np.array([q]))[0] == brute_force


@settings(max_examples=200, deadline=None)
@given(q=quantiles, n=st.integers(1, 10_000), ones=st.integers(0, 10_000))
@example(q=0.57, n=100, ones=43)
def test_sketch_tail_counts_against_decimal_reference(q, n, ones):
    # Zeros and ones: zeros are counted apart and every one is reported as the
    # exact maximum, so the sketch's tail mean is exactly ones-in-tail / count.
    ones = min(ones, n)
    values = np.zeros(n)
    values[:ones] = 1.0
    sketch = RowSketches(1, SketchSpec())
    sketch.add(np.random.default_rng(ones).permutation(values)[None, :])
    count = reference_count(q, n)
    assert sketch.tail_means(np.array([q]))[0, 0] == pytest.approx(min(ones, count) / count)
