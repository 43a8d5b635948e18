"""Row sketches keep their stated relative error, merge exactly, and stay small."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from jevons.engine.summaries.exact import tail_mean
from jevons.engine.summaries.sketch import ZERO_THRESHOLD, RowSketches, SketchSpec

ACCURACIES = [0.005, 0.01, 0.001, 0.05]
EPS = np.finfo(np.float64).eps
# Beyond the bound itself, only rounding: the representative is rounded once, the
# interpolation (or a tail's sum of representatives) a few times more.
FLOAT_SLACK = 4 * EPS

non_negative = st.one_of(
    st.just(0.0),
    st.floats(min_value=1e-6, max_value=1e12),
    st.sampled_from([1.0, 3.0, 1e6]),  # duplicates
)
quantile_lists = st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=8)


def sketch_of(values, spec=None, compiled=False):
    sketch = RowSketches(values.shape[0], spec)
    sketch.add(values, compiled=compiled)
    return sketch


def assert_within(reported, exact, spec):
    """Within the bound the sketch achieves, which is within the one asked for."""
    assert spec.guaranteed_accuracy <= spec.relative_accuracy
    error = np.abs(reported - exact)
    assert np.all(error <= (spec.guaranteed_accuracy + FLOAT_SLACK) * exact), np.max(error / exact)


def buckets(sketch, row):
    """Row ``row``'s non-empty buckets as (keys, counts), wherever its window sits."""
    (columns,) = np.nonzero(sketch.bucket_counts[row])
    return sketch.key_offset[row] + columns, sketch.bucket_counts[row, columns]


def assert_same_sketch(a, b):
    assert a.spec == b.spec
    for row in range(a.rows):
        keys_a, counts_a = buckets(a, row)
        keys_b, counts_b = buckets(b, row)
        np.testing.assert_array_equal(keys_a, keys_b)
        np.testing.assert_array_equal(counts_a, counts_b)
    for name in ("value_count", "zero_count", "value_min", "value_max"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    # Summation order differs between a split and a whole.
    np.testing.assert_allclose(a.value_sum, b.value_sum, rtol=1e-12)


def copy_of(sketch):
    return RowSketches.from_arrays(sketch.to_arrays())


@pytest.mark.parametrize(
    ("accuracy", "bits", "guaranteed"),
    [(0.005, 7, 1 / 257), (1 / 257, 7, 1 / 257), (0.01, 6, 1 / 129), (0.05, 4, 1 / 33),
     (0.5, 0, 1 / 3), (0.001, 9, 1 / 1025), (2.0**-53, 52, 1 / (2.0**53 + 1))],
)  # fmt: skip
def test_fewest_mantissa_bits_that_meet_the_request(accuracy, bits, guaranteed):
    spec = SketchSpec(accuracy)
    assert spec.mantissa_bits == bits
    assert spec.guaranteed_accuracy == guaranteed <= accuracy
    if bits:
        assert 1 / (2**bits + 1) > accuracy  # one bit fewer would not do
    assert spec.relative_accuracy == accuracy  # what was asked for is what is stored
    with pytest.raises(ValueError, match="finer than float64"):
        SketchSpec(1e-17)


@settings(max_examples=300, deadline=None)
@given(
    st.floats(min_value=ZERO_THRESHOLD, max_value=np.finfo(np.float64).max),
    st.sampled_from(ACCURACIES),
)
def test_representative_within_bound_of_every_value(x, accuracy):
    spec = SketchSpec(accuracy)
    representative = spec.representatives(spec.keys(np.array([x])))[0]
    assert abs(representative - x) <= (spec.guaranteed_accuracy + EPS) * x


@pytest.mark.parametrize("accuracy", ACCURACIES)
def test_keys_are_the_shifted_bits_and_the_bound_holds_at_bucket_edges(accuracy):
    spec = SketchSpec(accuracy)
    shift = 52 - spec.mantissa_bits
    rng = np.random.default_rng(12)
    # Every exponent, the first and last buckets of each octave and random ones.
    exponent_bits = np.arange(1, 2047, dtype=np.int64) << spec.mantissa_bits
    last = (1 << spec.mantissa_bits) - 1
    keys = np.concatenate([
        exponent_bits, exponent_bits + last,
        exponent_bits + rng.integers(0, last + 1, exponent_bits.size),
    ])  # fmt: skip
    low_edge = (keys << shift).view(np.float64)  # a_k, in the bucket
    high_edge = ((keys + 1) << shift).view(np.float64)  # b_k, the next bucket's a
    largest = np.nextafter(high_edge, 0.0)  # the largest float in the bucket
    np.testing.assert_array_equal(spec.keys(low_edge), keys)
    np.testing.assert_array_equal(spec.keys(largest), keys)
    np.testing.assert_array_equal(spec.keys(high_edge[:-1]), keys[:-1] + 1)  # [-1]: b_k = inf
    for dtype, sigma in ((np.float64, 30.0), (np.float32, 10.0)):
        x = rng.lognormal(0, sigma, 10_000).astype(dtype)
        x = x[(x >= ZERO_THRESHOLD) & np.isfinite(x)]
        np.testing.assert_array_equal(spec.keys(x), x.astype(np.float64).view(np.int64) >> shift)
    representatives = spec.representatives(keys)
    assert ((low_edge < representatives) & (representatives < high_edge)).all()
    for x in (low_edge, largest):
        error = np.abs(representatives - x) / x
        assert (error <= spec.guaranteed_accuracy + EPS).all(), error.max()
    # At a power of two the bucket is widest and the bound is reached.
    np.testing.assert_allclose(
        np.abs(representatives - low_edge)[: exponent_bits.size] / low_edge[: exponent_bits.size],
        spec.guaranteed_accuracy, rtol=1e-14,
    )  # fmt: skip


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(
    hnp.arrays(np.float64, st.integers(1, 2000), elements=non_negative),
    quantile_lists,
    st.sampled_from(ACCURACIES),
)
def test_quantiles_within_bound(values, quantiles, accuracy):
    spec = SketchSpec(accuracy)
    sketch = sketch_of(values[None, :], spec)
    exact = np.quantile(values, quantiles)
    assert_within(sketch.quantiles(quantiles)[0], exact, spec)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(1, 2000),
    st.floats(min_value=0.0, max_value=8.0),  # log-normal sigma: up to ~1e28 between extremes
    st.sampled_from(ACCURACIES),
)
def test_quantiles_within_bound_of_spread_data(seed, size, sigma, accuracy):
    rng = np.random.default_rng(seed)
    values = rng.lognormal(rng.uniform(-10, 20), sigma, (2, size))
    values[1, rng.random(size) < 0.3] = 0.0
    quantiles = np.concatenate([[0.0, 0.5, 1.0], rng.random(5)])
    spec = SketchSpec(accuracy)
    sketch = sketch_of(values, spec)
    assert_within(sketch.quantiles(quantiles), np.quantile(values, quantiles, axis=1).T, spec)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(
    hnp.arrays(np.float64, st.integers(1, 2000), elements=non_negative),
    quantile_lists,
    st.sampled_from(ACCURACIES),
)
def test_tail_means_within_bound(values, quantiles, accuracy):
    spec = SketchSpec(accuracy)
    sketch = sketch_of(values[None, :], spec)
    exact = tail_mean(values, np.array(quantiles))
    assert_within(sketch.tail_means(quantiles)[0], exact, spec)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 3), st.integers(0, 600)),
        elements=st.one_of(non_negative, st.just(np.nan)),
    ),
    st.floats(min_value=0.0, max_value=1.0),
)
def test_merge_of_halves_equals_sketch_of_whole(values, split_at):
    split = round(split_at * values.shape[1])
    first = sketch_of(values[:, :split])
    second = sketch_of(values[:, split:])
    merged = copy_of(first)
    merged.merge(second)
    assert_same_sketch(merged, sketch_of(values))
    swapped = copy_of(second)
    swapped.merge(first)
    assert_same_sketch(swapped, merged)
    np.testing.assert_array_equal(swapped.value_sum, merged.value_sum)  # a + b == b + a


def test_merge_of_many_shards_equals_whole():
    rng = np.random.default_rng(11)
    values = rng.lognormal(5, 2, (4, 30_000))
    values[0, :5000] = 0.0
    values[3] *= 1e9  # a row far from the others: its window sits elsewhere
    merged = RowSketches(4)
    for shard in np.array_split(values, 7, axis=1)[::-1]:
        merged.merge(sketch_of(shard))
    assert_same_sketch(merged, sketch_of(values))
    assert merged.width == sketch_of(values).width


def test_nans_are_skipped():
    rng = np.random.default_rng(1)
    values = rng.lognormal(2, 1, (3, 1000))
    values[0, ::3] = np.nan
    values[2] = np.nan
    sketch = sketch_of(values)
    quantiles = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    kept = values[0][~np.isnan(values[0])]
    for got, expected in zip(buckets(sketch, 0), buckets(sketch_of(kept[None, :]), 0), strict=True):
        np.testing.assert_array_equal(got, expected)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the all-NaN row
        exact = np.nanquantile(values, quantiles, axis=1).T
    assert_within(sketch.quantiles(quantiles)[:2], exact[:2], sketch.spec)
    assert np.isnan(sketch.quantiles(quantiles)[2]).all()
    assert np.isnan(sketch.tail_means(quantiles)[2]).all()
    assert np.isnan(sketch.means()[2])
    assert sketch.value_count.tolist() == [len(kept), 1000, 0]


def test_empty_and_all_zero_rows():
    empty = RowSketches(2)
    assert np.isnan(empty.quantiles([0.5])).all()
    assert np.isnan(empty.tail_means([0.5])).all()
    assert np.isnan(empty.means()).all()
    empty.add(np.empty((2, 0)))
    empty.add(np.empty((2, 0)), compiled=True)
    assert np.isnan(empty.quantiles([0.5])).all()
    zeros = sketch_of(np.zeros((2, 50)))
    assert zeros.width == 0
    assert (zeros.quantiles([0.0, 0.5, 1.0]) == 0.0).all()
    assert (zeros.tail_means([0.0, 0.99]) == 0.0).all()


def test_means_are_exact():
    rng = np.random.default_rng(2)
    values = rng.lognormal(8, 2, (5, 10_001))
    values[1, ::4] = np.nan
    sketch = sketch_of(values)
    sketch.add(values[:, :77])
    expected = np.nanmean(np.concatenate([values, values[:, :77]], axis=1), axis=1)
    np.testing.assert_allclose(sketch.means(), expected, rtol=1e-12)


def test_extreme_quantiles_are_the_extremes():
    rng = np.random.default_rng(3)
    values = rng.lognormal(0, 3, (3, 999))
    sketch = sketch_of(values)
    np.testing.assert_array_equal(
        sketch.quantiles([0.0, 1.0]), np.stack([values.min(axis=1), values.max(axis=1)], axis=1)
    )
    np.testing.assert_allclose(sketch.tail_means([0.0])[:, 0], values.mean(axis=1), rtol=1e-12)
    np.testing.assert_array_equal(sketch.tail_means([1.0])[:, 0], values.max(axis=1))


def test_whole_float_range():
    tiny, huge = ZERO_THRESHOLD, np.finfo(np.float64).max
    values = np.array([[0.0, 5e-324, tiny, 1.0, 1e200, huge]])
    sketch = sketch_of(values)
    assert sketch.zero_count[0] == 2  # 0 and the subnormal
    quantiles = np.linspace(0, 1, 11)
    exact = np.quantile(values, quantiles, axis=1).T
    # Values counted as zeros are reported as 0: an absolute error below ZERO_THRESHOLD.
    error = np.abs(sketch.quantiles(quantiles) - exact)
    bound = sketch.spec.guaranteed_accuracy + FLOAT_SLACK
    assert np.all(error <= bound * exact + ZERO_THRESHOLD)
    assert np.isfinite(sketch.tail_means(quantiles)).all()


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_path_equals_numpy_path(dtype):
    rng = np.random.default_rng(4)
    values = rng.lognormal(4, 2.5, (22, 20_000)).astype(dtype)
    values[0, ::5] = np.nan
    values[1, :3000] = 0.0
    values[2] = np.nan
    wider = (values * 1e4).astype(dtype)  # moves every window on the second add
    by_numpy, compiled = RowSketches(22), RowSketches(22)
    for block in (values, wider):
        by_numpy.add(block)
        compiled.add(block, compiled=True)
    np.testing.assert_array_equal(compiled.bucket_counts, by_numpy.bucket_counts)
    np.testing.assert_array_equal(compiled.key_offset, by_numpy.key_offset)
    assert_same_sketch(compiled, by_numpy)


def edge_case_arrays(dtype, width):
    return hnp.arrays(
        dtype,
        st.tuples(st.integers(1, 4), st.integers(0, 300)),
        elements=st.one_of(
            st.floats(min_value=0.0, allow_infinity=False, width=width),
            st.sampled_from([0.0, -0.0, np.nan, -np.nan, 1.0, 2.0**-126]),
            st.sampled_from([5e-324, ZERO_THRESHOLD] if width == 64 else [2.0**-149]),
        ),
    )


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:overflow encountered in reduce")  # sums of huge values
@settings(max_examples=150, deadline=None)
@given(
    # float32 subnormals (down to 2**-149) are float64 normals, so they are bucketed.
    st.one_of(edge_case_arrays(np.float64, 64), edge_case_arrays(np.float32, 32)),
    st.sampled_from(ACCURACIES),
)
def test_compiled_keys_are_the_numpy_keys(values, accuracy):
    """Both paths shift the same bits: the same sketch, bit for bit, at every edge case."""
    spec = SketchSpec(accuracy)
    by_numpy = sketch_of(values, spec)
    compiled = sketch_of(values, spec, compiled=True)
    np.testing.assert_array_equal(compiled.bucket_counts, by_numpy.bucket_counts)
    np.testing.assert_array_equal(compiled.key_offset, by_numpy.key_offset)
    assert_same_sketch(compiled, by_numpy)
    qs = np.linspace(0, 1, 5)
    np.testing.assert_array_equal(compiled.quantiles(qs), by_numpy.quantiles(qs))


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("bad", [-1.0, np.inf, -np.inf])
def test_negative_or_infinite_values_are_refused(compiled, bad):
    values = np.array([[1.0, 2.0, 3.0], [4.0, bad, np.nan]])
    sketch = sketch_of(values[:, :1])
    before = sketch.to_arrays()
    with pytest.raises(ValueError, match="non-negative and finite"):
        sketch.add(values, compiled=compiled)
    for name, array in sketch.to_arrays().items():
        np.testing.assert_array_equal(array, before[name])


def test_arrays_round_trip():
    rng = np.random.default_rng(5)
    sketch = sketch_of(rng.lognormal(1, 1, (3, 500)), SketchSpec(0.01))
    arrays = sketch.to_arrays()
    restored = RowSketches.from_arrays(arrays)
    assert restored.spec == SketchSpec(0.01)
    for name, array in restored.to_arrays().items():
        np.testing.assert_array_equal(array, arrays[name])
    np.testing.assert_array_equal(restored.quantiles([0.1, 0.9]), sketch.quantiles([0.1, 0.9]))
    with pytest.raises(ValueError, match="key_offset"):
        RowSketches.from_arrays(arrays | {"key_offset": arrays["key_offset"][:2]})


def test_quantiles_outside_unit_interval_are_refused():
    sketch = sketch_of(np.ones((1, 3)))
    for quantiles in ([1.5], [-0.1], [np.nan]):
        with pytest.raises(ValueError, match="quantiles"):
            sketch.quantiles(quantiles)


def test_merge_refuses_other_geometry():
    with pytest.raises(ValueError, match="merge"):
        RowSketches(2).merge(RowSketches(2, SketchSpec(0.01)))
    with pytest.raises(ValueError, match="merge"):
        RowSketches(2).merge(RowSketches(3))


def test_memory_does_not_grow_with_trajectories():
    """Bounded values need a bounded window, however many there are."""
    spec = SketchSpec()
    sizes = {}
    for n in (1_000, 1_000_000):
        values = np.random.default_rng(6).uniform(1.0, 1000.0, (1, n))
        sketch = sketch_of(values, spec)
        # 2**m buckets an octave, and the significand's bits grow no faster than its log2.
        assert sketch.width <= math.floor(2**spec.mantissa_bits * math.log2(1000.0)) + 1
        sizes[n] = sketch.nbytes
    assert sizes[1_000_000] <= 1.2 * sizes[1_000]
