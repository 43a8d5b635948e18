"""Distribution-free confidence intervals of quantiles (order statistics, binomial ranks)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom

from jevons.engine.execution.run import run_scenario
from jevons.engine.execution.settings import RunSettings
from jevons.engine.scenario.loading import scenario_from_dict
from jevons.engine.summaries.confidence import order_statistic_ranks, quantile_bounds
from jevons.engine.summaries.sketch import RowSketches, SketchSpec
from tests.conftest import simulate_per_trajectory


def test_ranks_for_200_values_at_p95_follow_the_binomial():
    low, high = order_statistic_ranks(200, 0.95)
    # the rule written out: l = F^-1(0.025), u = F^-1(0.975) + 1 of Binomial(200, 0.95)
    assert low == int(binom.ppf(0.025, 200, 0.95))
    assert high == int(binom.ppf(0.975, 200, 0.95)) + 1
    # and, from the binomial's mass directly, the interval holds at least 95%
    b = np.arange(201)
    covered = binom.pmf(b, 200, 0.95)[(b >= low) & (b < high)].sum()
    assert covered >= 0.95
    assert (low, high) == (184, 197)  # the binomial's 2.5% and 97.5% points: 184 and 196


def test_ranks_stay_inside_the_sample_and_none_without_values():
    low, high = order_statistic_ranks(np.array([0, 3, 3]), np.array([0.5, 0.01, 0.99]))
    # Binomial(3, 0.01): P(B <= 0) = 0.970 < 0.975 <= P(B <= 1), so u = 1 + 1 = 2; l = 0 -> 1.
    # Binomial(3, 0.99): P(B <= 1) = 0.0003 < 0.025 <= P(B <= 2) = 0.0297, so l = 2;
    # u = 3 + 1, clipped to n = 3.
    assert low.tolist() == [0, 1, 2] and high.tolist() == [0, 2, 3]


def test_nan_is_skipped_and_a_row_of_nan_has_no_interval():
    rng = np.random.default_rng(1)
    values = rng.normal(size=(3, 200))
    values[1, :50] = np.nan
    values[2, :] = np.nan
    low, high = quantile_bounds(values, np.array([0.95]))
    finite = np.sort(values[1, 50:])  # 150 values
    l150, u150 = int(binom.ppf(0.025, 150, 0.95)), int(binom.ppf(0.975, 150, 0.95)) + 1
    assert low[0, 1] == finite[l150 - 1] and high[0, 1] == finite[u150 - 1]
    assert np.isnan(low[0, 2]) and np.isnan(high[0, 2])


def test_interval_covers_the_true_quantile_about_95_percent_of_the_time():
    q = np.array([0.5, 0.9, 0.95])
    sigma = 0.8
    true = np.exp(sigma * np.array([0.0, 1.2815515655446004, 1.6448536269514722]))
    covered = np.zeros(len(q))
    seeds = 200
    for seed in range(seeds):
        values = np.random.default_rng(seed).lognormal(0.0, sigma, size=100)
        low, high = quantile_bounds(values, q)
        covered += (low <= true) & (true <= high)
    share = covered / seeds
    assert np.all((share >= 0.93) & (share <= 0.98)), share


@pytest.fixture
def uncertain_dict(hand_dict):
    hand_dict["users"]["initial"] = {"dist": "lognormal", "median": 1000, "p95": 3000}
    hand_dict["simulation"]["quantiles"] = [0.05, 0.5, 0.95]
    return hand_dict


def test_run_bounds_are_the_order_statistics_of_the_kept_totals(uncertain_dict):
    n = 200
    ds = run_scenario(
        scenario_from_dict(uncertain_dict),
        RunSettings(trajectories=n, keep_trajectories=True, backend="numpy", summary="exact"),
    )
    q = ds["quantile"].values
    low, high = order_statistic_ranks(n, q)
    for name in ("total_cost", "max_peak_gpus", "horizon_cost_per_mtok"):
        kept = ds[f"trajectory_{name}"].transpose("hardware", "trajectory").values
        ordered = np.sort(kept, axis=-1)
        assert ds[f"{name}_ci_low"].dims == ds[name].dims
        assert ds[f"{name}_ci_low"].attrs["units"] == ds[name].attrs["units"]
        for k in range(len(q)):
            np.testing.assert_array_equal(ds[f"{name}_ci_low"].values[k], ordered[:, low[k] - 1])
            np.testing.assert_array_equal(ds[f"{name}_ci_high"].values[k], ordered[:, high[k] - 1])
        assert np.all(ds[f"{name}_ci_low"] <= ds[name]) and np.all(
            ds[name] <= ds[f"{name}_ci_high"]
        )


@pytest.mark.slow
def test_per_step_peak_gpu_bounds_are_order_statistics(uncertain_dict, backend):
    scenario = scenario_from_dict(uncertain_dict)
    n = backend.size(200, 40)
    _, steps, _ = simulate_per_trajectory(scenario, backend.simulate, n)
    ds = run_scenario(scenario, RunSettings(trajectories=n, backend=backend.name, summary="exact"))
    ordered = np.sort(steps["peak_gpus"], axis=-1)  # (steps, hardware, trajectories)
    low, high = order_statistic_ranks(n, ds["quantile"].values)
    assert ds.peak_gpus_ci_high.dims == ds.peak_gpus.dims
    for k in range(len(low)):
        expected_low = np.moveaxis(ordered[..., low[k] - 1], 0, -1)  # (hardware, steps)
        expected_high = np.moveaxis(ordered[..., high[k] - 1], 0, -1)
        np.testing.assert_allclose(ds.peak_gpus_ci_low.values[k], expected_low, rtol=1e-12)
        np.testing.assert_allclose(ds.peak_gpus_ci_high.values[k], expected_high, rtol=1e-12)


def test_sketched_bounds_hold_the_order_statistics_within_the_sketch_accuracy(uncertain_dict):
    """A sketched run's bounds enclose the exact bounding order statistics, and are no
    wider than those statistics moved out by the sketch's guaranteed accuracy."""
    n = 500
    uncertain_dict["simulation"]["relative_accuracy"] = 0.01
    scenario = scenario_from_dict(uncertain_dict)
    kept = run_scenario(
        scenario, RunSettings(trajectories=n, keep_trajectories=True, backend="numpy")
    )
    sketched = run_scenario(
        scenario, RunSettings(trajectories=n, backend="numpy", summary="sketch", chunk=97)
    )
    a = 1 / 129  # the bound a 1% request achieves: 1 / (2**(m + 1) + 1) with m = 6
    low, high = order_statistic_ranks(n, sketched["quantile"].values)
    for name in ("total_cost", "max_peak_gpus", "horizon_cost_per_mtok"):
        ordered = np.sort(kept[f"trajectory_{name}"].transpose("hardware", "trajectory").values)
        for k in range(len(low)):
            exact_low, exact_high = ordered[:, low[k] - 1], ordered[:, high[k] - 1]
            got_low = sketched[f"{name}_ci_low"].values[k]
            got_high = sketched[f"{name}_ci_high"].values[k]
            assert np.all(got_low <= exact_low) and np.all(exact_high <= got_high)
            assert np.all(got_low >= exact_low * (1 - a) / (1 + a) * (1 - 1e-12))
            assert np.all(got_high <= exact_high * (1 + a) / (1 - a) * (1 + 1e-12))
        assert sketched[f"{name}_ci_low"].attrs["units"] == sketched[name].attrs["units"]


def test_sketched_per_step_bounds_enclose_the_exact_ones(uncertain_dict):
    scenario = scenario_from_dict(uncertain_dict)
    exact = run_scenario(scenario, RunSettings(trajectories=300, backend="numpy", summary="exact"))
    sketched = run_scenario(
        scenario, RunSettings(trajectories=300, backend="numpy", summary="sketch")
    )
    assert sketched.peak_gpus_ci_low.dims == exact.peak_gpus_ci_low.dims
    assert np.all(sketched.peak_gpus_ci_low <= exact.peak_gpus_ci_low)
    assert np.all(sketched.peak_gpus_ci_high >= exact.peak_gpus_ci_high)
    a = 1 / 257  # the default 0.5% request
    assert np.all(sketched.peak_gpus_ci_high <= exact.peak_gpus_ci_high * (1 + a) / (1 - a) + 1e-9)


# Zeros, NaN (skipped), values over the whole normal range and many in one octave (where
# buckets are shared); subnormals are counted as zeros and reported as 0, so none here.
sketch_values = st.one_of(
    st.just(0.0),
    st.just(np.nan),
    st.floats(float(np.finfo(np.float64).tiny), 1e300),
    st.floats(0.5, 2.0),
)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(sketch_values, max_size=40), min_size=1, max_size=4),
    st.integers(0, 40),
    st.sampled_from([0.2, 0.05, 0.005, 0.001]),
)
def test_sketched_bounds_hold_the_order_statistics_of_any_rows(rows, split, accuracy):
    """Rows of any length (none, one value, NaN, zeros), sketched in two parts and merged:
    each bound holds the exact l-th or u-th smallest value, read off np.sort."""
    values = np.full((len(rows), max(1, max(map(len, rows)))), np.nan)
    for i, row in enumerate(rows):
        values[i, : len(row)] = row
    spec = SketchSpec(accuracy)
    sketch, other = RowSketches(len(rows), spec), RowSketches(len(rows), spec)
    sketch.add(values[:, :split])
    other.add(values[:, split:])
    sketch.merge(other)
    q = np.array([0.01, 0.05, 0.5, 0.95, 0.99])
    n = np.sum(~np.isnan(values), axis=1)
    ordered = np.sort(values, axis=1)  # NaN last
    for rank in order_statistic_ranks(n[:, None], q):  # 1-based, (rows, quantiles)
        lower, upper = sketch.order_statistic_bounds(rank)
        for i in range(len(rows)):
            if n[i] == 0:
                assert np.isnan(lower[i]).all() and np.isnan(upper[i]).all()
                continue
            exact = ordered[i, rank[i] - 1]
            assert np.all(lower[i] <= exact) and np.all(exact <= upper[i]), (values[i], rank[i])
            # no wider than the sketch's accuracy moves the exact statistic, either way
            a = spec.guaranteed_accuracy
            assert np.all(lower[i] >= exact * (1 - a) / (1 + a) * (1 - 1e-12))
            assert np.all(upper[i] <= exact * (1 + a) / (1 - a) * (1 + 1e-12))
