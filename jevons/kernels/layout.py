"""Array layout shared by the compiled kernels: which row holds what.

The CPU and CUDA kernels take plain arrays, never Python objects. This module
packs a :class:`~jevons.engine.plan.ModelPlan` and the per-trajectory inputs
into those arrays, and names their rows once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jevons.engine.plan import ModelPlan
from jevons.engine.sampling import PARAMETER_PATHS, TrajectoryInputs

# Rows of the per-trajectory parameter matrix: PARAMETER_PATHS, then one per surge.
P_ROW = {path: row for row, path in enumerate(PARAMETER_PATHS)}
P_SURGE0 = len(PARAMETER_PATHS)

# Rows of the per-step outputs, in the order the kernels write them.
DEMAND = (
    "users", "requests", "peak_hour_requests", "llm_calls", "input_tokens",
    "cached_input_tokens", "prefill_tokens", "output_tokens", "thinking_tokens",
    "cache_hit_rate",
)  # fmt: skip
# cost and energy_kwh are not written: see jevons.engine.summary.add_scaled_variables.
SUPPLY = ("gpu_hours", "peak_gpus", "cost_per_mtok", "tokens_per_mw")
FLEET = ("utilization", "unserved_tokens", "shortfall_probability")

# Rows of the per-trajectory running totals.
DEMAND_TOTALS = (
    "total_requests", "total_llm_calls", "total_input_tokens", "total_output_tokens",
    "total_thinking_tokens",
)  # fmt: skip
SUPPLY_TOTALS = ("total_gpu_hours", "total_cost", "total_energy_kwh", "max_peak_gpus")
FLEET_TOTALS = ("total_unserved_tokens", "any_shortfall_probability")

# Slots of the scalar constants vector.
C_MONTHS, C_STEP_HOURS, C_CALLS, C_PAIRS, C_THINKING, C_UTIL, C_ENERGY_PRICE, C_COUNT_NOISE = range(
    8
)
# Rows of the hardware matrix (the last two are reciprocals, to multiply by in the loop).
HW_PREFILL, HW_DECODE, HW_PRICE, HW_POWER, HW_INV_PREFILL, HW_INV_DECODE = range(6)


@dataclass(frozen=True)
class PackedPlan:
    """A model plan as the flat arrays the kernels read."""

    consts: np.ndarray  # (8,)
    hardware: np.ndarray  # (6, n_hw)
    mean_factor: np.ndarray  # (steps,)
    peak_share: np.ndarray  # (steps,)
    coverage: np.ndarray  # (surges, steps)
    knots: np.ndarray  # (steps, cells) profile values where unserved share bends
    excess: np.ndarray  # (steps, cells) unserved share at each knot
    knot_count: np.ndarray  # (steps,) valid knots per step
    fleet: np.ndarray  # (n_fleet,)


def pack_plan(plan: ModelPlan) -> PackedPlan:
    consts = np.zeros(8)
    consts[C_MONTHS] = plan.months_per_step
    consts[C_STEP_HOURS] = plan.step_hours
    consts[C_CALLS] = plan.calls_per_request
    consts[C_PAIRS] = plan.call_pairs_per_request
    consts[C_THINKING] = plan.thinking_per_reasoning_call
    consts[C_UTIL] = plan.target_utilization
    consts[C_ENERGY_PRICE] = plan.energy_price_per_kwh
    consts[C_COUNT_NOISE] = 1.0 if plan.count_noise else 0.0
    cal = plan.calendar
    return PackedPlan(
        consts=consts,
        hardware=np.stack(
            [
                plan.prefill_rate,
                plan.decode_rate,
                plan.cost_per_gpu_hour,
                plan.power_kw,
                1.0 / plan.prefill_rate,
                1.0 / plan.decode_rate,
            ]
        ),
        mean_factor=np.ascontiguousarray(cal.mean_factor, dtype=np.float64),
        peak_share=np.ascontiguousarray(cal.peak_share, dtype=np.float64),
        coverage=np.ascontiguousarray(cal.surge_coverage, dtype=np.float64),
        knots=cal.excess_knots,
        excess=cal.excess_values,
        knot_count=cal.excess_count,
        fleet=np.asarray(plan.fleet_sizes, dtype=np.float64),
    )


def pack_inputs(inputs: TrajectoryInputs) -> np.ndarray:
    """(parameters + surges, trajectories) matrix of per-trajectory inputs."""
    rows = [inputs[path] for path in PARAMETER_PATHS] + list(inputs.surge_multipliers)
    return np.ascontiguousarray(np.stack(rows), dtype=np.float64)
