"""Every variable a run writes carries its units, and the units are the physical ones."""

import pytest

from jevons.engine.execution.run import run_scenario
from jevons.engine.execution.settings import RunSettings
from jevons.engine.scenario.loading import scenario_from_dict

# The physically right unit of each quantity, written out here (not read from the package).
EXPECTED_UNITS = {
    "users": "users",
    "requests": "requests",
    "peak_hour_requests": "requests/hour",
    "llm_calls": "calls",
    "input_tokens": "tokens",
    "cached_input_tokens": "tokens",
    "prefill_tokens": "tokens",
    "output_tokens": "tokens",
    "thinking_tokens": "tokens",
    "cache_hit_rate": "1",
    "gpu_hours": "GPU-hours",
    "peak_gpus": "GPUs",
    "peak_prefill_gpus": "GPUs",
    "peak_decode_gpus": "GPUs",
    "cost": "USD",
    "energy_kwh": "kWh",
    "cost_per_mtok": "USD per million output tokens",
    "cost_per_mtok_all": "USD per million tokens",
    "tokens_per_mw": "tokens/s per MW",
    "utilization": "1",
    "unserved_tokens": "tokens",
    "shortfall_probability": "1",
    "target_breach_probability": "1",
    "total_requests": "requests",
    "total_llm_calls": "calls",
    "total_input_tokens": "tokens",
    "total_output_tokens": "tokens",
    "total_thinking_tokens": "tokens",
    "total_tokens": "tokens",
    "total_gpu_hours": "GPU-hours",
    "total_cost": "USD",
    "total_energy_kwh": "kWh",
    "max_peak_gpus": "GPUs",
    "max_peak_prefill_gpus": "GPUs",
    "max_peak_decode_gpus": "GPUs",
    "horizon_cost_per_mtok": "USD per million output tokens",
    "horizon_cost_per_mtok_all": "USD per million tokens",
    "cost_cvar": "USD",
    "total_cost_cvar": "USD",
    "max_peak_gpus_cvar": "GPUs",
    "horizon_cost_per_mtok_cvar": "USD per million output tokens",
    "total_tokens_cvar": "tokens",
    "total_gpu_hours_cvar": "GPU-hours",
    "total_cost_exceedance_probability": "1",
    "max_peak_gpus_exceedance_probability": "1",
    "total_unserved_tokens": "tokens",
    "fleet_cost_per_mtok": "USD per million output tokens",
    "any_shortfall_probability": "1",
    "any_target_breach_probability": "1",
    "reserve_gpus": "GPUs",
    "peak_gpus_ci_low": "GPUs",
    "peak_gpus_ci_high": "GPUs",
    "total_cost_ci_low": "USD",
    "total_cost_ci_high": "USD",
    "max_peak_gpus_ci_low": "GPUs",
    "max_peak_gpus_ci_high": "GPUs",
    "horizon_cost_per_mtok_ci_low": "USD per million output tokens",
    "horizon_cost_per_mtok_ci_high": "USD per million output tokens",
    "trajectory_total_tokens": "tokens",
    "trajectory_total_gpu_hours": "GPU-hours",
    "trajectory_total_cost": "USD",
    "trajectory_max_peak_gpus": "GPUs",
    "trajectory_horizon_cost_per_mtok": "USD per million output tokens",
}

# Inputs drawn per trajectory (``--keep-trajectories``), by scenario key.
DRAWN_UNITS = {
    "drawn_users_initial": "users",
    "drawn_cache_hit_rate": "1",
}


def run(hand_dict, fleet):
    # two uncertain inputs, so that --keep-trajectories keeps them
    hand_dict["users"]["initial"] = {"dist": "lognormal", "median": 1000, "p95": 3000}
    hand_dict["cache"]["hit_rate"] = {"dist": "beta", "mean": 0.5, "sd": 0.1}
    if fleet == "fixed":
        hand_dict["fleet"] = {"policy": "fixed", "sizes": [1, 4]}
    hand_dict["risk"] = {"thresholds": {"total_cost": [1e3, 1e4], "max_peak_gpus": 10}}
    return run_scenario(
        scenario_from_dict(hand_dict), RunSettings(trajectories=40, keep_trajectories=True)
    )


def base_name(name):
    return name.removesuffix("_mean")


@pytest.mark.parametrize("fleet", ["elastic", "fixed"])
def test_every_summary_variable_has_its_physical_units(hand_dict, fleet):
    ds = run(hand_dict, fleet)
    names = [str(n) for n in ds.data_vars if not str(n).startswith("drawn_")]
    assert "trajectory_total_cost" in names and "gpu_hours_mean" in names
    if fleet == "fixed":
        assert {"utilization", "shortfall_probability", "fleet_cost_per_mtok"} <= set(names)
    for name in names:
        assert ds[name].attrs.get("units"), f"{name} has no units"
        assert ds[name].attrs["units"] == EXPECTED_UNITS[base_name(name)], name
    # the headline quantities, by name
    assert ds.gpu_hours.attrs["units"] == "GPU-hours"
    assert ds.cost.attrs["units"] == "USD"
    assert ds.cost_per_mtok.attrs["units"] == "USD per million output tokens"
    assert ds.peak_gpus_mean.attrs["units"] == "GPUs"
    assert ds.energy_kwh.attrs["units"] == "kWh"


@pytest.mark.parametrize("fleet", ["elastic", "fixed"])
def test_every_kept_input_has_units(hand_dict, fleet):
    ds = run(hand_dict, fleet)
    drawn = [str(n) for n in ds.data_vars if str(n).startswith("drawn_")]
    assert sorted(drawn) == sorted(DRAWN_UNITS)
    for name in drawn:
        assert ds[name].attrs.get("units") == DRAWN_UNITS[name], name
