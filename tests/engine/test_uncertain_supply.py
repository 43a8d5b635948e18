"""Uncertain supply: each profile's price, power and rates drawn per trajectory, and a
price that declines over the horizon, against hand arithmetic."""

import numpy as np
import pytest

from jevons.engine.execution.run import run_scenario
from jevons.engine.execution.settings import RunSettings
from jevons.engine.preparation.input_draws import draw_inputs
from jevons.engine.scenario.loading import scenario_from_dict
from jevons.errors import ScenarioError
from jevons.kernels import reference
from jevons.kernels.philox import parameter_word, seed_key
from jevons.kernels.variates import uniform_from_word
from tests.conftest import first_trajectory, simulate_per_trajectory
from tests.helpers import assert_datasets_equal, hand_arithmetic

HOURS_PER_YEAR = 365.25 * 24
PRICE_PATH = "supply.uncertainty.test-gpu.cost_per_gpu_hour"


def test_fixed_figures_equal_the_profile_without_a_table(hand_dict):
    plain = run_scenario(scenario_from_dict(hand_dict), RunSettings(trajectories=20))
    hand_dict["supply"]["uncertainty"] = {
        "test-gpu": {"cost_per_gpu_hour": 2.0, "power_kw": 1.0, "throughput_factor": 1}
    }
    hand_dict["supply"]["price_decline_per_year"] = 0.0
    tabled = run_scenario(scenario_from_dict(hand_dict), RunSettings(trajectories=20))
    assert_datasets_equal(plain, tabled)


def test_a_two_point_price_gives_hand_quantiles(hand_dict):
    """Half the trajectories pay $2, half $4 a GPU-hour (energy at 1 kW x $0.1 on top):
    the 5% and 95% cost quantiles are the two prices' costs, the mean their mix."""
    n = 400
    hand_dict["supply"]["uncertainty"] = {
        "test-gpu": {"cost_per_gpu_hour": {"dist": "empirical", "values": [4.0, 2.0]}}
    }
    hand_dict["simulation"]["quantiles"] = [0.05, 0.95]
    scenario = scenario_from_dict(hand_dict)
    ds = run_scenario(scenario, RunSettings(trajectories=n)).sel(hardware="test-gpu")
    # the draws, by hand: the upper half of the unit interval draws the dearer price
    u = uniform_from_word(parameter_word(np.arange(n, dtype=np.uint64), PRICE_PATH, seed_key(7)))
    dear = (u >= 0.5).mean()
    assert 0.2 < dear < 0.8  # both prices well inside the 5% and 95% order statistics
    gpu_hours = hand_arithmetic()["gpu_hours"]
    energy = 1.0 * 0.1
    np.testing.assert_allclose(ds.cost.sel(quantile=0.05), gpu_hours * (2 + energy), rtol=1e-12)
    np.testing.assert_allclose(ds.cost.sel(quantile=0.95), gpu_hours * (4 + energy), rtol=1e-12)
    mean_price = 2 + 2 * dear
    np.testing.assert_allclose(ds.cost_mean, gpu_hours * (mean_price + energy), rtol=1e-12)
    np.testing.assert_allclose(
        ds.total_cost.sel(quantile=0.95), gpu_hours.sum() * (4 + energy), rtol=1e-12
    )
    np.testing.assert_allclose(ds.gpu_hours_mean, gpu_hours, rtol=1e-12)  # demand unchanged


@pytest.mark.slow
def test_price_declines_from_the_horizons_start(backend, hand_dict):
    """10% a year over two years of weekly steps: the elastic $/GPU-hour of step t is
    price x 0.9^(years to the step's start); energy and a fixed fleet's price do not decline."""
    steps = 105
    hand_dict["horizon"] = {"start": "2027-01-04", "step": "7D", "steps": steps}
    hand_dict["users"]["growth_per_month"] = 0.0
    hand_dict["supply"]["price_decline_per_year"] = 0.10
    hand_dict["fleet"] = {"policy": "fixed", "sizes": [1000]}
    got, totals = first_trajectory(backend, scenario_from_dict(hand_dict))
    years = np.arange(steps) * 168 / HOURS_PER_YEAR
    energy = 1.0 * 0.1  # 1 kW at $0.1 per kWh [USD per GPU-hour]
    per_gpu_hour = got["cost"] / got["gpu_hours"]
    np.testing.assert_allclose(per_gpu_hour, 2.0 * 0.9**years + energy, rtol=1e-12)
    assert years[-1] == pytest.approx(104 * 7 / 365.25)
    np.testing.assert_allclose(per_gpu_hour[-1], 2.0 * 0.9 ** (104 * 168 / 8766) + 0.1)
    np.testing.assert_allclose(totals["total_cost"], got["cost"].sum(), rtol=1e-12)
    np.testing.assert_allclose(got["energy_kwh"], got["gpu_hours"] * 1.0, rtol=1e-12)
    fleet_cost = 1000 * steps * 168 * (2.0 + energy)  # bought at the starting price
    served = totals["total_output_tokens"] - totals["total_unserved_tokens"]
    np.testing.assert_allclose(totals["fleet_cost_per_mtok"], fleet_cost / served * 1e6, rtol=1e-12)


def test_rate_factors_multiply_the_profiles_rates(backend, hand_dict):
    got, _ = first_trajectory(backend, scenario_from_dict(hand_dict))
    hand_dict["supply"]["uncertainty"] = {
        "test-gpu": {"throughput_factor": 2.0, "prefill_factor": 0.5, "power_kw": 3.0}
    }
    faster, _ = first_trajectory(backend, scenario_from_dict(hand_dict))
    np.testing.assert_allclose(faster["peak_decode_gpus"], got["peak_decode_gpus"] / 2, rtol=1e-12)
    np.testing.assert_allclose(
        faster["peak_prefill_gpus"], got["peak_prefill_gpus"] * 2, rtol=1e-12
    )
    np.testing.assert_allclose(faster["energy_kwh"], faster["gpu_hours"] * 3.0, rtol=1e-12)
    # $2 plus 3 kW at $0.1 per kWh
    np.testing.assert_allclose(faster["cost"], faster["gpu_hours"] * 2.3, rtol=1e-12)


def uncertain_dict(hand_dict):
    """Two profiles, every uncertain supply figure drawn, a declining price."""
    second = {**hand_dict["supply"]["hardware"][0], "key": "other-gpu", "cost_per_gpu_hour": 5.0}
    hand_dict["supply"]["hardware"].append(second)
    hand_dict["supply"]["uncertainty"] = {
        "test-gpu": {
            "cost_per_gpu_hour": {"dist": "uniform", "low": 1.5, "high": 2.5},
            "power_kw": {"dist": "uniform", "low": 0.8, "high": 1.2},
            "throughput_factor": {"dist": "uniform", "low": 0.7, "high": 1.3},
            "prefill_factor": {"dist": "uniform", "low": 0.5, "high": 1.5},
        },
        "other-gpu": {"throughput_factor": {"dist": "lognormal", "median": 1, "p95": 1.5}},
    }
    hand_dict["supply"]["price_decline_per_year"] = {"dist": "uniform", "low": 0.0, "high": 0.4}
    hand_dict["variability"]["burst_factor"] = {"dist": "uniform", "low": 1.0, "high": 1.5}
    hand_dict["variability"]["count_noise"] = True
    hand_dict["users"]["volatility"] = 0.2
    hand_dict["fleet"] = {"policy": "fixed", "sizes": [2, 6]}
    hand_dict["horizon"]["steps"] = 9
    return hand_dict


def test_hardware_draws_do_not_depend_on_the_chunk(hand_dict):
    scenario = scenario_from_dict(uncertain_dict(hand_dict))
    key = seed_key(3)
    whole = draw_inputs(scenario, np.arange(0, 50, dtype=np.uint64), key)
    tail = draw_inputs(scenario, np.arange(30, 50, dtype=np.uint64), key)
    for field, values in whole.hardware.items():
        np.testing.assert_array_equal(values[:, 30:], tail.hardware[field], err_msg=field)
    # each on its own stream, keyed by its path: the first profile's price, by hand
    u = uniform_from_word(parameter_word(np.arange(50, dtype=np.uint64), PRICE_PATH, key))
    np.testing.assert_allclose(whole.hardware["cost_per_gpu_hour"][0], 1.5 + u, rtol=1e-15)
    np.testing.assert_array_equal(whole.hardware["cost_per_gpu_hour"][1], 5.0)


def test_sketched_runs_do_not_depend_on_the_chunk(hand_dict):
    scenario = scenario_from_dict(uncertain_dict(hand_dict))
    a = run_scenario(
        scenario, RunSettings(trajectories=60, backend="cpu", summary="sketch", chunk=60)
    )
    b = run_scenario(
        scenario, RunSettings(trajectories=60, backend="cpu", summary="sketch", chunk=7)
    )
    assert_datasets_equal(a, b, rtol=1e-12)  # means summed in another order


def test_the_draws_are_reported_with_the_hardware_dim(hand_dict):
    scenario = scenario_from_dict(uncertain_dict(hand_dict))
    ds = run_scenario(scenario, RunSettings(trajectories=30, keep_trajectories=True))
    drawn = draw_inputs(scenario, np.arange(30, dtype=np.uint64), seed_key(7))
    for field in ("cost_per_gpu_hour", "power_kw", "throughput_factor", "prefill_factor"):
        var = ds[f"drawn_supply_uncertainty_{field}"]
        assert var.dims == ("hardware", "trajectory")
        np.testing.assert_array_equal(var.values, drawn.hardware[field])
    assert ds.drawn_supply_uncertainty_cost_per_gpu_hour.attrs["units"] == "USD/GPU-hour"
    assert ds.drawn_supply_uncertainty_power_kw.attrs["units"] == "kW"
    assert ds.drawn_supply_price_decline_per_year.attrs["units"] == "1/year"
    assert "drawn_variability_burst_factor" in ds


def test_backends_agree_with_every_supply_draw(backend, hand_dict):
    scenario = scenario_from_dict(uncertain_dict(hand_dict))
    n = backend.size(40, 8)
    _, ref, ref_totals = simulate_per_trajectory(scenario, reference.simulate, n)
    _, got, totals = simulate_per_trajectory(scenario, backend.simulate, n)
    for name in ref:
        np.testing.assert_allclose(got[name], ref[name], rtol=1e-9, equal_nan=True, err_msg=name)
    for name in ref_totals:
        np.testing.assert_allclose(
            totals[name], ref_totals[name], rtol=1e-9, equal_nan=True, err_msg=name
        )
    # the draws reach the model: prices differ between trajectories, and decline
    per_gpu_hour = got["cost"] / got["gpu_hours"]
    assert np.ptp(per_gpu_hour[0, 0]) > 0.1
    assert (per_gpu_hour[-1, 0] <= per_gpu_hour[0, 0]).all()


WIDE_PRICE = {"dist": "normal", "mean": 2, "sd": 1}  # reaches below zero


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"uncertainty": {"no-such-gpu": {"power_kw": 1.0}}}, "supply.uncertainty.no-such-gpu"),
        ({"price_decline_per_year": 0.99}, "supply.price_decline_per_year"),
        ({"price_decline_per_year": -0.6}, "supply.price_decline_per_year"),
        (
            {"uncertainty": {"test-gpu": {"throughput_factor": 0}}},
            "supply.uncertainty.test-gpu.throughput_factor",
        ),
        (
            {"uncertainty": {"test-gpu": {"cost_per_gpu_hour": WIDE_PRICE}}},
            "supply.uncertainty.test-gpu.cost_per_gpu_hour",
        ),
    ],
)
def test_bad_supply_uncertainty_is_refused_by_key(hand_dict, change, key):
    hand_dict["supply"].update(change)
    with pytest.raises(ScenarioError) as excinfo:
        scenario_from_dict(hand_dict)
    assert [path for path, _ in excinfo.value.problems] == [key]
    assert "\n" not in str(excinfo.value)
