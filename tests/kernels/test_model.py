"""Every backend against hand arithmetic and closed forms."""

import numpy as np
import pytest
from scipy import stats

from jevons.engine.execution.run import run_scenario
from jevons.engine.execution.settings import RunSettings
from jevons.engine.preparation.input_draws import draw_inputs
from jevons.engine.scenario.loading import scenario_from_dict
from jevons.kernels import layers
from jevons.kernels.philox import seed_key
from tests.conftest import first_trajectory, simulate_per_trajectory
from tests.helpers import DAYS_PER_MONTH, hand_arithmetic


def test_zero_variance_scenario_equals_hand_arithmetic(backend, hand_scenario):
    steps, totals = first_trajectory(backend, hand_scenario)
    expected = hand_arithmetic()
    for name, values in expected.items():
        np.testing.assert_allclose(steps[name], values, rtol=1e-12, err_msg=name)
    cost, output = expected["cost"], expected["output_tokens"]
    tokens = expected["input_tokens"] + output + expected["thinking_tokens"]
    np.testing.assert_allclose(totals["total_cost"], cost.sum(), rtol=1e-12)
    np.testing.assert_allclose(totals["total_energy_kwh"], expected["gpu_hours"].sum())
    for name in ("peak_gpus", "peak_prefill_gpus", "peak_decode_gpus"):
        np.testing.assert_allclose(totals[f"max_{name}"], expected[name].max(), rtol=1e-12)
    # the two pools add up to the whole at the same hour
    np.testing.assert_allclose(
        steps["peak_prefill_gpus"] + steps["peak_decode_gpus"], steps["peak_gpus"], rtol=1e-12
    )
    np.testing.assert_allclose(
        totals["horizon_cost_per_mtok"], cost.sum() / output.sum() * 1e6, rtol=1e-12
    )
    np.testing.assert_allclose(totals["total_tokens"], tokens.sum(), rtol=1e-12)
    np.testing.assert_allclose(
        totals["horizon_cost_per_mtok_all"], cost.sum() / tokens.sum() * 1e6, rtol=1e-12
    )


def test_cost_per_million_processed_tokens_by_hand(backend, hand_dict):
    """One call of 8000 input and 1000 output tokens per request, no cache, no thinking, at
    full utilisation: every request costs its GPU-seconds at the hourly price."""
    prefill_rate, decode_rate, price = 4000.0, 250.0, 3.0
    hand_dict["usage"]["input_tokens_per_request"] = 8000
    hand_dict["usage"]["output_tokens_per_call"] = 1000
    hand_dict["agents"] = {"calls_per_request": 1}
    hand_dict["reasoning"] = {"share": 0.0}
    hand_dict["cache"] = {"hit_rate": 0.0}
    hand_dict["supply"]["hardware"][0].update(
        cost_per_gpu_hour=price, prefill_tokens_per_s=prefill_rate, decode_tokens_per_s=decode_rate
    )
    hand_dict["supply"]["target_utilization"] = 1.0
    hand_dict["supply"]["energy_price_per_kwh"] = 0.0
    steps, totals = first_trajectory(backend, scenario_from_dict(hand_dict))
    per_request = price * (8000 / prefill_rate + 1000 / decode_rate) / 3600  # [USD]
    np.testing.assert_allclose(steps["cost_per_mtok_all"], per_request / 9000 * 1e6, rtol=1e-12)
    np.testing.assert_allclose(steps["cost_per_mtok"], per_request / 1000 * 1e6, rtol=1e-12)
    np.testing.assert_allclose(
        totals["horizon_cost_per_mtok_all"], per_request / 9000 * 1e6, rtol=1e-12
    )


def test_zero_variance_dataset_equals_hand_arithmetic(hand_scenario):
    ds = run_scenario(hand_scenario).sel(quantile=0.5, hardware="test-gpu")
    for name, values in hand_arithmetic().items():
        np.testing.assert_allclose(ds[name].values, values, rtol=1e-12, err_msg=name)
        np.testing.assert_allclose(ds[f"{name}_mean"].values, values, rtol=1e-12, err_msg=name)


def test_weekday_weights_and_weekly_steps(backend, hand_dict):
    hand_dict["horizon"] = {"start": "2027-01-04", "step": "7D", "steps": 2}
    hand_dict["variability"]["weekday_weights"] = [1, 1, 1, 1, 1, 0.5, 0.5]
    hand_dict["users"]["growth_per_month"] = 0.0
    steps, _ = first_trajectory(backend, scenario_from_dict(hand_dict))
    week_mean = np.mean(np.array([1, 1, 1, 1, 1, 0.5, 0.5]) / (6 / 7))
    np.testing.assert_allclose(steps["requests"], 1000 * 6 * 7 * week_mean)
    # busiest hour: a weekday (weight 7/6) at noon (3 x 24/26), out of the week's 168 hours
    peak_share = (7 / 6) * (72 / 26) / 168
    np.testing.assert_allclose(steps["peak_hour_requests"], 1000 * 6 * 7 * peak_share)


def test_surge_scales_covered_days_only(backend, hand_dict):
    hand_dict["variability"]["surges"] = [
        {"name": "launch", "start": "2027-01-05", "end": "2027-01-05", "multiplier": 2.5}
    ]
    hand_dict["users"]["growth_per_month"] = 0.0
    steps, _ = first_trajectory(backend, scenario_from_dict(hand_dict))
    np.testing.assert_allclose(steps["requests"], [6000, 15000, 6000])


def test_saturation_caps_users(hand_dict):
    hand_dict["users"] = {
        "initial": 1000,
        "growth_per_month": 3.0,
        "volatility": 0.1,
        "saturation": 1500,
    }
    hand_dict["horizon"]["steps"] = 365
    hand_dict["simulation"]["trajectories"] = 200
    ds = run_scenario(scenario_from_dict(hand_dict))
    assert float(ds.users.max()) <= 1500
    assert float(ds.users.sel(quantile=0.5).isel(time=-1)) > 1400


def test_growth_with_volatility_keeps_the_mean_on_the_growth_path(hand_dict):
    hand_dict["users"] = {"initial": 1000, "growth_per_month": 0.05, "volatility": 0.2}
    hand_dict["horizon"]["steps"] = 91
    hand_dict["simulation"]["trajectories"] = 20_000
    hand_dict["simulation"]["quantiles"] = [0.5, 0.95]
    ds = run_scenario(scenario_from_dict(hand_dict))
    months = 90 / DAYS_PER_MONTH
    expected = 1000 * 1.05**months
    stderr = expected * np.sqrt(np.exp(0.04 * months) - 1) / np.sqrt(20_000)
    assert abs(float(ds.users_mean.isel(time=-1)) - expected) < 4 * stderr
    # log users is normal with sd volatility * sqrt(months)
    q95 = float(ds.users.sel(quantile=0.5).isel(time=-1)) * np.exp(0.2 * np.sqrt(months) * 1.645)
    assert float(ds.users.sel(quantile=0.95).isel(time=-1)) == pytest.approx(q95, rel=0.03)


@pytest.mark.parametrize("mean", [0.3, 3.7, 40.0])
def test_poisson_inversion_is_exact_for_small_means(mean):
    u = (np.arange(10_000) + 0.5) / 10_000
    counts = layers.poisson_counts(np.full(u.shape, mean), u)
    np.testing.assert_array_equal(counts, stats.poisson.ppf(u, mean))


def test_poisson_large_means_have_poisson_moments():
    rng_u = (np.arange(200_000) + 0.5) / 200_000
    counts = layers.poisson_counts(np.full(rng_u.shape, 5000.0), rng_u)
    assert counts.mean() == pytest.approx(5000, rel=1e-4)
    assert counts.var() == pytest.approx(5000, rel=0.01)
    assert layers.poisson_counts(np.array([0.0]), np.array([0.9]))[0] == 0


def test_count_noise_is_poisson_around_the_mean(hand_dict):
    hand_dict["variability"]["count_noise"] = True
    hand_dict["users"] = {"initial": 10, "growth_per_month": 0.0}
    hand_dict["simulation"]["trajectories"] = 20_000
    hand_dict["simulation"]["quantiles"] = [0.1, 0.5, 0.9]
    ds = run_scenario(scenario_from_dict(hand_dict))
    assert float(ds.requests_mean[0]) == pytest.approx(60, rel=0.01)
    # Poisson(60): sd 7.75, so the 10th and 90th percentiles sit near 60 -/+ 1.28 sd
    assert float(ds.requests.sel(quantile=0.1)[0]) == pytest.approx(50, abs=1.5)
    assert float(ds.requests.sel(quantile=0.9)[0]) == pytest.approx(70, abs=1.5)


def test_unserved_gpu_hours_is_the_hour_by_hour_excess():
    # one step, two groups of hours: three hours unsurged, two under a surge of 1.5
    weights = [np.array([0.2, 1.0, 1.0]), np.array([1.5, 0.5])]
    factors = np.array([1.0, 1.5])[:, None]
    level_weight = np.array([[1.0, 0.2], [1.5, 0.5]])  # distinct weights, descending
    level_hours = np.array([[2.0, 1.0], [1.0, 1.0]])
    per_weight = np.array([0.0, 3.0, 10.0])
    fleet = np.array([[1.0], [5.0], [100.0]])
    got = layers.unserved_gpu_hours(per_weight, factors, level_weight, level_hours, fleet)
    for f, size in enumerate(fleet[:, 0]):
        for j, p in enumerate(per_weight):
            need = np.concatenate([p * s * w for s, w in zip((1.0, 1.5), weights, strict=True)])
            assert got[f, j] == pytest.approx(np.maximum(need - size, 0).sum(), abs=1e-12)


def test_fixed_fleet_outputs(backend, hand_dict):
    hand_dict["fleet"] = {"policy": "fixed", "sizes": [1, 1000]}
    steps, totals = first_trajectory(backend, scenario_from_dict(hand_dict))
    # this demand needs far more than one GPU and far less than a thousand
    assert steps["shortfall_probability"].T.tolist() == [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]
    assert steps["unserved_tokens"][:, 1].max() == 0.0
    assert steps["unserved_tokens"][:, 0].min() > 0.0
    busy = steps["gpu_hours"] * 0.5 / (1000 * 24)  # work at full utilisation / fleet hours
    np.testing.assert_allclose(steps["utilization"][:, 1], busy, rtol=1e-12)
    assert totals["any_shortfall_probability"].tolist() == [1.0, 0.0]


def test_fixed_fleet_serves_its_whole_size_every_hour(backend, hand_dict):
    """Target utilisation is a margin, not a cap: a fleet between the peak's work and the
    peak at target utilisation is never short, but breaches the target."""
    hand_dict["users"]["growth_per_month"] = 0.0
    steps, _ = first_trajectory(backend, scenario_from_dict(hand_dict))
    peak_work = float(steps["peak_gpus"][0]) * 0.5  # GPUs busy in the busiest hour
    sizes = [int(peak_work) - 1, int(peak_work) + 1, int(2 * peak_work) + 1]
    hand_dict["fleet"] = {"policy": "fixed", "sizes": sizes}
    steps, totals = first_trajectory(backend, scenario_from_dict(hand_dict))
    assert steps["shortfall_probability"][0].tolist() == [1.0, 0.0, 0.0]
    assert steps["target_breach_probability"][0].tolist() == [1.0, 1.0, 0.0]
    assert totals["any_target_breach_probability"].tolist() == [1.0, 1.0, 0.0]
    # the hour at weight 3 of 26 needs peak_work GPUs; only it exceeds the smallest fleet
    unserved_hours = peak_work - sizes[0]
    work_hours = peak_work * 26 / 3
    output = float(steps["output_tokens"][0])
    got = float(steps["unserved_tokens"][0, 0])
    assert got == pytest.approx(output * unserved_hours / work_hours, rel=1e-12)
    utilization = (work_hours - unserved_hours) / (sizes[0] * 24)
    assert float(steps["utilization"][0, 0]) == pytest.approx(utilization, rel=1e-12)


def test_inputs_do_not_depend_on_trajectory_count(hand_dict):
    hand_dict["users"]["initial"] = {"dist": "lognormal", "median": 1000, "p95": 3000}
    hand_dict["cache"]["hit_rate"] = {"dist": "beta", "mean": 0.4, "sd": 0.1}
    scenario = scenario_from_dict(hand_dict)
    key = seed_key(99)
    few = draw_inputs(scenario, np.arange(10, dtype=np.uint64), key)
    many = draw_inputs(scenario, np.arange(5000, dtype=np.uint64), key)
    for path in ("users.initial", "cache.hit_rate"):
        np.testing.assert_array_equal(few[path], many[path][:10])
        assert np.unique(many[path]).size > 4000


def test_same_seed_same_numbers_different_seed_different_numbers(hand_dict):
    hand_dict["variability"]["count_noise"] = True
    hand_dict["variability"]["step_noise"] = 0.1
    scenario = scenario_from_dict(hand_dict)
    a, b = run_scenario(scenario, RunSettings(seed=1)), run_scenario(scenario, RunSettings(seed=1))
    c = run_scenario(scenario, RunSettings(seed=2))
    np.testing.assert_array_equal(a.requests.values, b.requests.values)
    assert not np.array_equal(a.requests_mean.values, c.requests_mean.values)


def test_a_lull_on_part_of_a_step_does_not_lower_its_peak(backend, hand_dict):
    """A one-day surge with multiplier < 1 inside a weekly step: the busiest hour may be
    outside it, so the week's peak stays that of a normal week."""
    hand_dict["horizon"] = {"start": "2027-01-04", "step": "7D", "steps": 2}
    hand_dict["users"]["growth_per_month"] = 0.0
    hand_dict["variability"]["surges"] = [
        {"name": "outage", "start": "2027-01-05", "end": "2027-01-05", "multiplier": 0.0}
    ]
    steps, _ = first_trajectory(backend, scenario_from_dict(hand_dict))
    lull_week, normal_week = steps["peak_hour_requests"]
    assert lull_week == pytest.approx(normal_week)
    # while the week's volume does drop by the lost day
    assert steps["requests"][0] == pytest.approx(steps["requests"][1] * 6 / 7)


def test_hourly_horizon_accepts_a_surge_on_its_last_day(backend, hand_dict):
    hand_dict["horizon"] = {"start": "2027-01-01", "step": "1h", "steps": 36}
    hand_dict["variability"]["surges"] = [
        {"name": "s", "start": "2027-01-02", "end": "2027-01-02", "multiplier": 2.0}
    ]
    hand_dict["users"]["growth_per_month"] = 0.0
    requests = first_trajectory(backend, scenario_from_dict(hand_dict))[0]["requests"]
    # hour 24 onwards is 2027-01-02: twice the requests of the same hour a day earlier
    np.testing.assert_allclose(requests[24:36], 2 * requests[0:12])


def test_count_distribution_for_thinking_without_a_budget(hand_dict):
    hand_dict["reasoning"] = {"share": 1.0, "thinking_tokens": {"dist": "poisson", "mean": 500}}
    scenario = scenario_from_dict(hand_dict)
    assert scenario.reasoning.thinking_per_reasoning_call() == pytest.approx(500, rel=1e-9)


def test_burst_factor_scales_peak_gpus_and_nothing_else(backend, hand_dict):
    """Bursts inside the busiest hour size the peak, not the GPU-hours, the cost or the
    hourly work a fixed fleet leaves unserved. The hand scenario needs 5.9 peak GPUs: a
    burst of 1.75 takes it past a fleet of 8, and its noon hours stay above a fleet of 2."""
    hand_dict["fleet"] = {"policy": "fixed", "sizes": [2, 8]}
    steps, totals = first_trajectory(backend, scenario_from_dict(hand_dict))
    hand_dict["variability"]["burst_factor"] = 1.75
    burst_steps, burst_totals = first_trajectory(backend, scenario_from_dict(hand_dict))
    for name in ("peak_gpus", "peak_prefill_gpus", "peak_decode_gpus"):
        np.testing.assert_allclose(burst_steps[name], 1.75 * steps[name], rtol=1e-15)
        np.testing.assert_allclose(
            burst_totals[f"max_{name}"], 1.75 * totals[f"max_{name}"], rtol=1e-15
        )
    for name in ("gpu_hours", "cost_per_mtok", "cost_per_mtok_all", "tokens_per_mw",
                 "peak_hour_requests", "unserved_tokens", "utilization",
                 "shortfall_probability"):  # fmt: skip
        np.testing.assert_array_equal(burst_steps[name], steps[name], err_msg=name)
    for name in ("total_gpu_hours", "total_cost", "total_energy_kwh", "total_tokens",
                 "total_unserved_tokens"):  # fmt: skip
        np.testing.assert_array_equal(burst_totals[name], totals[name], err_msg=name)
    assert (steps["shortfall_probability"][:, 0] == 1).all()  # a fleet of 2 falls short
    assert (steps["target_breach_probability"][:, 1] == 0).all()  # 5.9 GPUs fit in 8
    assert (burst_steps["target_breach_probability"][:, 1] == 1).all()  # 10.3 do not
    assert burst_totals["any_target_breach_probability"][1] == 1


def first_n(backend, hand_dict, n=8):
    _, steps, _ = simulate_per_trajectory(scenario_from_dict(hand_dict), backend.simulate, n)
    return steps


def test_burst_factor_is_drawn_per_trajectory_on_its_own_stream(backend, hand_dict):
    from jevons.kernels.philox import parameter_word
    from jevons.kernels.variates import uniform_from_word

    steps_plain = first_n(backend, hand_dict)
    hand_dict["variability"]["burst_factor"] = {"dist": "uniform", "low": 1.0, "high": 2.0}
    scenario = scenario_from_dict(hand_dict)
    inputs, steps, _ = simulate_per_trajectory(scenario, backend.simulate, 8)
    trajectories = np.arange(8, dtype=np.uint64)
    key = seed_key(scenario.simulation.seed)
    u = uniform_from_word(parameter_word(trajectories, "variability.burst_factor", key))
    np.testing.assert_allclose(inputs["variability.burst_factor"], 1.0 + u, rtol=1e-15)
    ratio = steps["peak_gpus"][:, 0, :] / steps_plain["peak_gpus"][:, 0, :]
    np.testing.assert_allclose(ratio, np.broadcast_to(1.0 + u, ratio.shape), rtol=1e-14)
    np.testing.assert_array_equal(steps["gpu_hours"], steps_plain["gpu_hours"])


def test_a_burst_factor_below_one_is_refused_by_key(hand_dict):
    from jevons.errors import ScenarioError

    hand_dict["variability"]["burst_factor"] = {"dist": "uniform", "low": 0.9, "high": 2.0}
    with pytest.raises(ScenarioError, match=r"variability\.burst_factor: must be at least 1"):
        scenario_from_dict(hand_dict)
