"""The sampling plan: a scenario reduced, once on the host, to a kernel contract.

See :class:`jevons.kernels.contract.ModelPlan`: calendar tables per step, exact
per-call moments (agent loops, capped thinking) and one row per hardware
profile. Kernels never see pydantic objects.
"""

from __future__ import annotations

import numpy as np

from jevons.engine.preparation.calendar import build_calendar
from jevons.engine.scenario.distributions import Fixed
from jevons.engine.scenario.schema import FixedFleet, Scenario
from jevons.kernels import layers
from jevons.kernels.contract import HARDWARE_FIELDS, ModelPlan


def build_plan(scenario: Scenario) -> ModelPlan:
    supply = scenario.supply
    prefill, decode = zip(*scenario.hardware_rates(), strict=True)
    calls, pairs = scenario.agents.calls_moments()
    price = np.array([hw.cost_per_gpu_hour for hw in supply.hardware])
    power = np.array([hw.power_kw for hw in supply.hardware])
    return ModelPlan(
        steps=scenario.horizon.steps,
        step_hours=scenario.horizon.step_hours,
        calendar=build_calendar(scenario.horizon, scenario.variability),
        calls_per_request=calls,
        call_pairs_per_request=pairs,
        thinking_per_reasoning_call=scenario.reasoning.thinking_per_reasoning_call(),
        target_utilization=supply.target_utilization,
        hardware=tuple(hw.key for hw in supply.hardware),
        prefill_rate=np.array(prefill),
        decode_rate=np.array(decode),
        power_kw=power,
        all_in_cost_per_gpu_hour=price + power * supply.energy_price_per_kwh,
        cost_per_gpu_hour=price,
        energy_price_per_kwh=supply.energy_price_per_kwh,
        fleet_sizes=tuple(scenario.fleet.sizes) if isinstance(scenario.fleet, FixedFleet) else (),
        surge_names=tuple(s.name for s in scenario.variability.surges),
        count_noise=scenario.variability.count_noise,
        fixed_cost_factors=_fixed_cost_factors(scenario),
        pricing=scenario.monetization.pricing,
        nominal_cost_per_output_mtok=_nominal_cost_per_output_mtok(
            scenario,
            np.array(prefill),
            np.array(decode),
            price + power * supply.energy_price_per_kwh,
        ),
    )


def _nominal_cost_per_output_mtok(
    scenario: Scenario, prefill_rate: np.ndarray, decode_rate: np.ndarray, all_in: np.ndarray
) -> np.ndarray | None:
    """Under a markup, each profile's cost per million visible output tokens at the mean
    request shape, nominal rates and nominal all-in $/GPU-hour (see README, "Monetization");
    None otherwise."""
    if scenario.monetization.pricing != "markup":
        return None
    prefill_per_output, decoded_per_output = scenario.output_shares_per_output_token()
    return layers.nominal_cost_per_output_mtok(
        all_in,
        prefill_per_output / prefill_rate,
        decoded_per_output / decode_rate,
        scenario.supply.target_utilization,
    )


def _fixed_cost_factors(scenario: Scenario) -> tuple[np.ndarray, np.ndarray] | None:
    """(all-in $/GPU-hour, kW) per profile where no figure is drawn and the price holds
    still; None otherwise (see ModelPlan.fixed_cost_factors)."""
    supply = scenario.supply
    decline = supply.price_decline_per_year
    if not (isinstance(decline, Fixed) and decline.value == 0.0):
        return None
    price, power = [], []
    for profile in supply.hardware:
        figures = supply.uncertainty_of(profile)
        if not all(isinstance(getattr(figures, f), Fixed) for f in HARDWARE_FIELDS):
            return None
        price.append(figures.cost_per_gpu_hour.value)
        power.append(figures.power_kw.value)
    kw = np.array(power)
    return np.array(price) + kw * supply.energy_price_per_kwh, kw
