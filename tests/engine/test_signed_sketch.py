"""Quantiles of values of either sign from two sketches of magnitudes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jevons.engine.summaries.signed import signed_means, signed_quantiles, split_signed
from jevons.engine.summaries.sketch import RowSketches, SketchSpec

Q = np.array([0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0])


def sketched(values: np.ndarray, accuracy: float = 0.005):
    positive, negated = split_signed(values)
    parts = []
    for part in (positive, negated):
        sketch = RowSketches(values.shape[0], SketchSpec(accuracy))
        sketch.add(part)
        parts.append(sketch)
    return parts


def test_split_puts_each_value_in_one_part():
    positive, negated = split_signed(np.array([[-2.0, 0.0, 3.0, np.nan]]))
    np.testing.assert_array_equal(positive, [[np.nan, 0.0, 3.0, np.nan]])
    np.testing.assert_array_equal(negated, [[2.0, np.nan, np.nan, np.nan]])


def test_order_statistics_of_both_signs_land_on_numpy():
    # values on bucket representatives are reproduced exactly: small integers are not,
    # so compare against the bound; the extremes are exact
    values = np.array([[-5.0, -1.0, 2.0, 7.0, 11.0], [-3.0, -2.0, -1.0, -0.5, -0.25]])
    positive, negated = sketched(values)
    got = signed_quantiles(positive, negated, Q)
    expected = np.quantile(values, Q, axis=1).T
    np.testing.assert_allclose(got, expected, rtol=1 / 257 + 1e-12)
    assert got[0, 0] == -5.0 and got[0, -1] == 11.0 and got[1, -1] == -0.25
    np.testing.assert_allclose(signed_means(positive, negated), values.mean(axis=1), rtol=1e-15)


def test_rows_without_values_give_nan():
    values = np.full((1, 3), np.nan)
    positive, negated = sketched(values)
    assert np.isnan(signed_quantiles(positive, negated, Q)).all()
    assert np.isnan(signed_means(positive, negated)).all()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.floats(-1e6, 1e6, allow_nan=False).filter(lambda x: x == 0 or abs(x) > 1e-6),
        min_size=1,
        max_size=60,
    )
)
def test_each_quantile_is_within_the_bound_of_its_two_neighbours(values):
    row = np.array([values])
    positive, negated = sketched(row)
    got = signed_quantiles(positive, negated, Q)[0]
    ordered = np.sort(row[0])
    h = (len(ordered) - 1) * Q
    lo = np.floor(h).astype(int)
    t = h - lo
    hi = np.minimum(lo + 1, len(ordered) - 1)
    expected = np.quantile(row[0], Q)
    scale = (1 - t) * np.abs(ordered[lo]) + t * np.abs(ordered[hi])
    assert np.all(np.abs(got - expected) <= scale / 257 * (1 + 1e-9) + 1e-12), (got, expected)


def test_merged_parts_equal_the_parts_of_the_union():
    rng = np.random.default_rng(3)
    values = rng.normal(0.0, 10.0, size=(2, 400))
    whole = sketched(values)
    first, second = sketched(values[:, :150]), sketched(values[:, 150:])
    for mine, theirs in zip(first, second, strict=True):
        mine.merge(theirs)
    np.testing.assert_array_equal(signed_quantiles(*first, Q), signed_quantiles(*whole, Q))
    assert signed_means(*first) == pytest.approx(signed_means(*whole), rel=1e-12)


signed_values = st.one_of(
    st.just(0.0),
    st.just(-0.0),
    st.just(np.nan),
    st.floats(-1e12, 1e12).filter(lambda x: x == 0 or abs(x) > 1e-300),
)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(signed_values, max_size=30), min_size=1, max_size=4),
    st.integers(0, 30),
)
def test_rows_with_nan_sketched_in_parts_land_on_nanquantile(rows, split):
    """Rows of all signs, all negative, all positive, zeros, NaN (skipped) and none at
    all, each sketched in two parts and merged, against np.quantile of the row's values."""
    values = np.full((len(rows), max(1, max(map(len, rows)))), np.nan)
    for i, row in enumerate(rows):
        values[i, : len(row)] = row
    first, second = sketched(values[:, :split]), sketched(values[:, split:])
    for mine, theirs in zip(first, second, strict=True):
        mine.merge(theirs)
    got, means = signed_quantiles(*first, Q), signed_means(*first)
    for i in range(len(rows)):
        row = values[i][~np.isnan(values[i])]
        if row.size == 0:
            assert np.isnan(got[i]).all() and np.isnan(means[i])
            continue
        ordered = np.sort(row)
        h = (len(ordered) - 1) * Q
        lo = np.floor(h).astype(int)
        t = h - lo
        hi = np.minimum(lo + 1, len(ordered) - 1)
        scale = (1 - t) * np.abs(ordered[lo]) + t * np.abs(ordered[hi])
        error = np.abs(got[i] - np.quantile(row, Q))
        assert np.all(error <= scale / 257 * (1 + 1e-9)), (row, got[i])
        assert got[i][0] == ordered[0] and got[i][-1] == ordered[-1]  # the extremes exactly
        assert means[i] == pytest.approx(row.mean(), rel=1e-9, abs=1e-9 * np.abs(row).max())
