"""The sampling plan: everything a kernel needs, reduced to numbers and arrays.

A scenario is turned once, on the host, into a :class:`ModelPlan`: calendar
factors per step, exact per-call moments (agent loops, capped thinking), and
one row per hardware profile. Kernels never see pydantic objects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jevons.engine.calendar import Calendar, build_calendar
from jevons.engine.scenario import HOURS_PER_MONTH, FixedFleet, Scenario


@dataclass(frozen=True)
class ModelPlan:
    steps: int
    step_hours: int
    calendar: Calendar
    # Agentic loop: E[C] and E[C(C-1)] of calls C per request, held to 1..max_calls.
    calls_per_request: float
    call_pairs_per_request: float
    # E[min(X, budget)] of thinking tokens X per reasoning call.
    thinking_per_reasoning_call: float
    target_utilization: float
    energy_price_per_kwh: float
    hardware: tuple[str, ...]
    prefill_rate: np.ndarray  # tokens/s per GPU, one per hardware
    decode_rate: np.ndarray
    cost_per_gpu_hour: np.ndarray
    power_kw: np.ndarray
    fleet_sizes: tuple[int, ...]  # empty for an elastic fleet
    surge_names: tuple[str, ...]
    count_noise: bool

    @property
    def months_per_step(self) -> float:
        return self.step_hours / HOURS_PER_MONTH


def build_plan(scenario: Scenario) -> ModelPlan:
    supply = scenario.supply
    decode = [hw.decode_rate(supply.interactivity) for hw in supply.hardware]
    calls, pairs = scenario.agents.calls_moments()
    return ModelPlan(
        steps=scenario.horizon.steps,
        step_hours=scenario.horizon.step_hours,
        calendar=build_calendar(scenario.horizon, scenario.variability),
        calls_per_request=calls,
        call_pairs_per_request=pairs,
        thinking_per_reasoning_call=scenario.reasoning.thinking_per_reasoning_call(),
        target_utilization=supply.target_utilization,
        energy_price_per_kwh=supply.energy_price_per_kwh,
        hardware=tuple(hw.key for hw in supply.hardware),
        prefill_rate=np.array([hw.prefill_tokens_per_s for hw in supply.hardware]),
        decode_rate=np.array(decode),
        cost_per_gpu_hour=np.array([hw.cost_per_gpu_hour for hw in supply.hardware]),
        power_kw=np.array([hw.power_kw for hw in supply.hardware]),
        fleet_sizes=tuple(scenario.fleet.sizes) if isinstance(scenario.fleet, FixedFleet) else (),
        surge_names=tuple(s.name for s in scenario.variability.surges),
        count_noise=scenario.variability.count_noise,
    )
