"""With fixed supply figures, cost and energy come from gpu_hours' statistics scaled by a
constant per profile; the result equals reducing the rows themselves."""

import dataclasses

import numpy as np
import pytest

import jevons.engine.execution.run as run_module
from jevons.engine.execution.run import run_scenario
from jevons.engine.execution.settings import RunSettings
from jevons.engine.preparation.plan import build_plan
from jevons.engine.scenario.loading import scenario_from_dict


@pytest.mark.parametrize("summary", ["exact", "sketch"])
def test_scaled_costs_equal_reduced_costs(hand_dict, monkeypatch, summary):
    hand_dict["supply"]["energy_price_per_kwh"] = 0.1
    scenario = scenario_from_dict(hand_dict)
    plan = build_plan(scenario)
    price, power = plan.fixed_cost_factors  # a fixed supply: the scaled path
    assert np.array_equal(power, plan.power_kw)
    assert np.allclose(price, plan.cost_per_gpu_hour + plan.power_kw * 0.1)
    scaled = run_scenario(scenario, RunSettings(trajectories=300, backend="numpy", summary=summary))
    monkeypatch.setattr(
        run_module,
        "build_plan",
        lambda s: dataclasses.replace(build_plan(s), fixed_cost_factors=None),
    )
    reduced = run_scenario(
        scenario, RunSettings(trajectories=300, backend="numpy", summary=summary)
    )
    for name in ("cost", "energy_kwh", "cost_mean", "energy_kwh_mean", "total_cost"):
        np.testing.assert_allclose(scaled[name].values, reduced[name].values, rtol=1e-9)


def test_a_drawn_price_takes_the_reduced_path(hand_dict):
    hand_dict["supply"]["uncertainty"] = {
        "test-gpu": {"cost_per_gpu_hour": {"dist": "uniform", "low": 1.0, "high": 2.0}}
    }
    assert build_plan(scenario_from_dict(hand_dict)).fixed_cost_factors is None
    hand_dict["supply"].pop("uncertainty")
    hand_dict["supply"]["price_decline_per_year"] = 0.1
    assert build_plan(scenario_from_dict(hand_dict)).fixed_cost_factors is None
