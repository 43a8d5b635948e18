"""Sensitivity estimators against known answers: analytic Sobol indices, ranks, medians."""

import numpy as np
import pytest
import xarray as xr

from jevons.analytics.sensitivity import (
    bin_count,
    rank_bins,
    sensitivity,
    sobol_first_order,
    spearman,
    tornado,
)
from jevons.errors import JevonsError


def test_additive_function_recovers_analytic_first_order_indices():
    # Y = a1 X1 + a2 X2 + a3 X3, X_i independent uniform: Var(a_i X_i) = a_i^2 / 12,
    # so S_i = a_i^2 / sum a_j^2 = 1/14, 4/14, 9/14.
    rng = np.random.default_rng(11)
    a = np.array([1.0, 2.0, 3.0])
    x = rng.uniform(0, 1, size=(3, 20_000))
    estimate, low, high = sobol_first_order(x, a @ x)
    analytic = a**2 / (a**2).sum()
    assert np.all(low <= analytic) and np.all(analytic <= high), (low, analytic, high)
    assert np.abs(estimate - analytic).max() < 0.02
    assert np.all(high - low < 0.05)  # bounds that say something


def test_ishigami_function_recovers_analytic_first_order_indices():
    # Ishigami (a = 7, b = 0.1), X_i uniform on [-pi, pi]: S1 = 0.3139, S2 = 0.4424, S3 = 0
    # (X3 acts only through its interaction with X1).
    rng = np.random.default_rng(12)
    x = rng.uniform(-np.pi, np.pi, size=(3, 20_000))
    y = np.sin(x[0]) + 7 * np.sin(x[1]) ** 2 + 0.1 * x[2] ** 4 * np.sin(x[0])
    estimate, low, high = sobol_first_order(x, y)
    analytic = np.array([0.3139, 0.4424, 0.0])
    assert np.abs(estimate - analytic).max() < 0.03
    assert np.all(low <= analytic) and np.all(analytic <= high), (low, analytic, high)


def test_noise_correction_removes_the_bin_means_own_noise():
    # Inputs that explain nothing: uncorrected, the bin means' noise would add about
    # (B - 1)/n = 43/2000 = 0.0215 to every index.
    rng = np.random.default_rng(13)
    x = rng.uniform(size=(20, 2000))
    estimate, _, _ = sobol_first_order(x, rng.normal(size=2000), resamples=10)
    assert bin_count(2000) == 44
    assert abs(estimate.mean()) < 0.005


def test_bins_hold_equal_counts_in_rank_order():
    x = np.array([5.0, 1.0, 4.0, 2.0, 3.0, 0.0, 9.0])
    labels = rank_bins(x, 3)  # ranks 0..6 -> bins 0,0,0,1,1,2,2 (rank * 3 // 7)
    assert labels.tolist() == [2, 0, 1, 0, 1, 0, 2]
    assert np.ptp(np.bincount(rank_bins(np.random.default_rng(1).normal(size=1001), 31))) <= 1
    assert bin_count(20) == 4 and bin_count(10**6) == 100


def test_spearman_of_a_monotone_transform_is_one():
    x = np.random.default_rng(14).normal(size=(2, 500))
    rho = spearman(x, np.exp(3 * x[0]))
    assert rho[0] == pytest.approx(1.0, abs=1e-12)
    assert abs(rho[1]) < 0.15
    assert spearman(x[:1], -(x[0] ** 3))[0] == pytest.approx(-1.0, abs=1e-12)


def test_tornado_medians_by_hand():
    # 20 samples, inputs 1..20 in a shuffled order; NumPy's 10th percentile of 1..20 is
    # 1 + 0.1 * 19 = 2.9 and its 90th 18.1, so the deciles are {1, 2} and {19, 20}.
    x = np.array([[7, 1, 20, 3, 19, 2, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]], float)
    y = np.arange(20, dtype=float) * 10  # y of input 1 is 10, of 2 is 50, of 19 is 40, of 20 is 20
    low, high = tornado(x, y)
    assert low[0] == (10 + 50) / 2
    assert high[0] == (20 + 40) / 2


def kept_result(n=400):
    """A result as --keep-trajectories writes it: one plain input, one per hardware."""
    rng = np.random.default_rng(15)
    users = rng.uniform(1, 2, n)
    price = np.stack([rng.uniform(1, 3, n), np.full(n, 2.0)])  # fixed on the second profile
    cost = np.stack([np.exp(users), users * price[0]])
    coords = {"hardware": ["h200-hgx", "b200-hgx"], "trajectory": np.arange(n)}
    return xr.Dataset(
        {
            "drawn_users_initial": (
                "trajectory",
                users,
                {"key_path": "users.initial", "units": "users"},
            ),
            "drawn_supply_uncertainty_cost_per_gpu_hour": (
                ("hardware", "trajectory"),
                price,
                {
                    "key_path": "supply.uncertainty.<hardware>.cost_per_gpu_hour",
                    "units": "USD per GPU-hour",
                },
            ),
            "trajectory_total_cost": (("hardware", "trajectory"), cost, {"units": "USD"}),
            "trajectory_max_peak_gpus": (
                ("hardware", "trajectory"),
                cost * 0 + users,
                {"units": "GPUs"},
            ),
            "trajectory_horizon_cost_per_mtok": (
                ("hardware", "trajectory"),
                np.where(users > 1.95, np.nan, cost),
                {"units": "USD per million output tokens"},
            ),
        },
        coords=coords,
    )


def test_dataset_has_named_inputs_outputs_and_units():
    ds = kept_result()
    s = sensitivity(ds)
    # the fixed price of the second profile is no input
    assert s.input.values.tolist() == [
        "supply.uncertainty.h200-hgx.cost_per_gpu_hour",
        "users.initial",
    ]
    assert s.input_units.values.tolist() == ["USD per GPU-hour", "users"]
    assert s.output.values.tolist() == ["total_cost", "max_peak_gpus", "horizon_cost_per_mtok"]
    assert s.output_units.values.tolist() == ["USD", "GPUs", "USD per million output tokens"]
    for name in ("sensitivity_spearman", "sobol_first", "sobol_first_low", "sobol_first_high"):
        assert s[name].dims == ("input", "output", "hardware")
        assert s[name].attrs["units"] == "1" and s[name].attrs["long_name"]
    at = {"input": "users.initial", "hardware": "h200-hgx"}
    # total cost on h200-hgx is exp(users): rank correlation 1, and users explain it all
    assert float(s.sensitivity_spearman.sel(**at, output="total_cost")) == pytest.approx(1.0)
    assert float(s.sobol_first.sel(**at, output="total_cost")) == pytest.approx(1.0, abs=0.02)
    # the tornado: median of exp(users) over users at or below their 10th percentile
    users = ds.drawn_users_initial.values
    bottom = users <= np.percentile(users, 10)
    assert float(s.tornado_low.sel(**at, output="total_cost")) == np.median(np.exp(users[bottom]))
    # an output that is NaN in some trajectories is analysed over the others: the
    # deciles are those of the inputs where the output is finite
    finite = users[users <= 1.95]
    top = finite[finite >= np.percentile(finite, 90)]
    assert float(s.tornado_high.sel(**at, output="horizon_cost_per_mtok")) == np.median(np.exp(top))


def test_a_result_without_kept_trajectories_is_refused():
    ds = kept_result().drop_dims("trajectory")
    with pytest.raises(JevonsError, match="--keep-trajectories"):
        sensitivity(ds)
    with pytest.raises(JevonsError, match="at least 20 trajectories"):
        sensitivity(kept_result(n=10))
