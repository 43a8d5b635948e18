"""The compiled multi-row quantiles equal NumPy's, whatever the rows hold."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from jevons.kernels.cpu_quantiles import summarise_rows

QUANTILES = np.array([0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99])


def check(rows, quantiles=QUANTILES):
    rows = np.ascontiguousarray(rows, dtype=np.float64)
    q = np.empty((rows.shape[0], len(quantiles)))
    means = np.empty(rows.shape[0])
    summarise_rows(rows, quantiles, q, means)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
        expected_q = np.nanquantile(rows, quantiles, axis=1).T
        expected_mean = np.nanmean(rows, axis=1)
        # Sums in another order (SIMD lanes) differ by rounding, at most about
        # n eps mean(|x|): relative only when no values cancel.
        rounding = 4 * rows.shape[1] * np.finfo(float).eps * np.nanmean(np.abs(rows), axis=1)
    np.testing.assert_allclose(q, expected_q, rtol=1e-12, atol=1e-300, equal_nan=True)
    ok = np.isnan(expected_mean) & np.isnan(means)
    assert (ok | (np.abs(means - expected_mean) <= rounding + 1e-300)).all(), (means, expected_mean)


values = st.one_of(
    st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, width=64),
    st.sampled_from([0.0, 1.0, 1.0 + 2**-52, 3.5, np.nan]),
)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 60)), elements=values))
def test_any_rows(rows):
    check(rows)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(min_value=0.001, max_value=0.999), min_size=1, max_size=12, unique=True),
    st.integers(0, 2**32 - 1),
)
def test_any_quantiles(quantiles, seed):
    rows = np.random.default_rng(seed).lognormal(3, 2, (2, 500))
    check(rows, np.array(sorted(quantiles)))


@pytest.mark.parametrize(
    "rows",
    [
        np.random.default_rng(1).lognormal(10, 1, (4, 20_000)),  # the usual shape
        np.random.default_rng(2).lognormal(0, 25, (2, 5_000)),  # hundreds of octaves
        1e6 + np.random.default_rng(3).random((2, 20_000)) * 1e-6,  # nearly constant
        np.full((2, 1000), 7.0),  # constant
        np.concatenate([np.zeros((2, 900)), np.ones((2, 100))], axis=1),  # mostly zero
        np.random.default_rng(4).normal(0, 1, (3, 2_001)),  # negatives
    ],
    ids=["lognormal", "wide", "narrow", "constant", "zeros", "negatives"],
)
def test_shapes_of_data(rows):
    check(rows)


@pytest.mark.slow
def test_float32_rows():
    rows = np.random.default_rng(5).lognormal(8, 2, (3, 3_001)).astype(np.float32)
    rows[0, ::5] = np.nan
    rows[1, :1000] = 0.0
    q = np.empty((3, len(QUANTILES)))
    means = np.empty(3)
    summarise_rows(rows, QUANTILES, q, means)
    expected = np.nanquantile(rows.astype(np.float64), QUANTILES, axis=1).T
    np.testing.assert_allclose(q, expected, rtol=1e-12)


@pytest.mark.parametrize("reducer", ["numpy", "compiled", "device", "array"])
def test_no_quantiles_asks_for_the_means_alone(reducer):
    """A probability is the mean of a 0/1 event: every reducer gives means with no quantiles."""
    from jevons.engine.summaries import reducers
    from jevons.kernels.array_quantiles import array_reducer

    reduce = {
        "numpy": reducers.numpy_reducer,
        "compiled": reducers.compiled_reducer,
        "device": reducers.device_reducer,
        "array": array_reducer,
    }[reducer]
    rows = np.array(
        [[0.0, 1.0, 1.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0, 1.0], [0.5, np.nan, 2.5, 3, 6]]
    )
    q, means = reduce(rows, np.empty(0))
    assert q.shape == (3, 0)
    np.testing.assert_allclose(means, [0.6, 1.0, 3.0], rtol=1e-15)
