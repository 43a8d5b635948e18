"""Array layout shared by the compiled kernels: which row holds what.

The CPU and CUDA kernels take plain arrays, never Python objects. This module
packs a :class:`~jevons.kernels.contract.ModelPlan` and the per-trajectory
inputs into those arrays, names their rows once, and builds the one argument
tuple every launch passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from jevons.kernels import layers
from jevons.kernels.contract import PARAMETER_PATHS, ModelPlan, TrajectoryInputs
from jevons.kernels.reference import opening_price_per_mtok

# Rows of the per-trajectory parameter matrix: PARAMETER_PATHS, then one per surge.
P_ROW = {path: row for row, path in enumerate(PARAMETER_PATHS)}
P_SURGE0 = len(PARAMETER_PATHS)

# Rows of the per-step outputs, in the order the kernels write them.
DEMAND = (
    "users", "requests", "peak_hour_requests", "llm_calls", "input_tokens",
    "cached_input_tokens", "prefill_tokens", "output_tokens", "thinking_tokens",
    "cache_hit_rate",
)  # fmt: skip
SUPPLY = (
    "gpu_hours", "peak_gpus", "peak_prefill_gpus", "peak_decode_gpus", "cost", "energy_kwh",
    "cost_per_mtok", "cost_per_mtok_all", "tokens_per_mw", "revenue", "gross_margin",
)  # fmt: skip
MONETIZATION = ("revenue", "gross_margin")  # reported only under [monetization]
FLEET = ("utilization", "unserved_tokens", "shortfall_probability", "target_breach_probability")
DEMAND_ROW = {name: row for row, name in enumerate(DEMAND)}
SUPPLY_ROW = {name: row for row, name in enumerate(SUPPLY)}
FLEET_ROW = {name: row for row, name in enumerate(FLEET)}

# Rows of the per-trajectory running totals.
DEMAND_TOTALS = (
    "total_requests", "total_llm_calls", "total_input_tokens", "total_output_tokens",
    "total_thinking_tokens",
)  # fmt: skip
SUPPLY_TOTALS = (
    "total_gpu_hours", "total_cost", "total_energy_kwh", "max_peak_gpus",
    "max_peak_prefill_gpus", "max_peak_decode_gpus", "total_revenue", "total_gross_margin",
)  # fmt: skip
MONETIZATION_TOTALS = ("total_revenue", "total_gross_margin")
FLEET_TOTALS = ("total_unserved_tokens", "any_shortfall", "any_target_breach")
DEMAND_TOTAL_ROW = {name: row for row, name in enumerate(DEMAND_TOTALS)}
SUPPLY_TOTAL_ROW = {name: row for row, name in enumerate(SUPPLY_TOTALS)}
FLEET_TOTAL_ROW = {name: row for row, name in enumerate(FLEET_TOTALS)}

# Slots of the scalar constants vector.
CONSTS = (
    "months_per_step", "step_hours", "calls_per_request", "call_pairs_per_request",
    "thinking_per_reasoning_call", "target_utilization", "count_noise", "price_follows_cost",
)  # fmt: skip
C_SLOT = {name: slot for slot, name in enumerate(CONSTS)}
# Rows of the per-trajectory hardware matrix (row, profile, trajectory); rates as their
# reciprocals, to multiply by in the loop.
HARDWARE = (
    "prefill_seconds_per_token", "decode_seconds_per_token", "power_kw", "cost_per_gpu_hour",
    "energy_cost_per_gpu_hour", "price_per_output_mtok",
)  # fmt: skip
HW_ROW = {name: row for row, name in enumerate(HARDWARE)}


@dataclass(frozen=True)
class PackedPlan:
    """A model plan as the flat arrays the kernels read, in launch order."""

    consts: np.ndarray  # (CONSTS,)
    step_years: np.ndarray  # (steps,) years from the horizon's start [year]
    group_count: np.ndarray  # (steps,) see jevons.kernels.contract.CalendarTables
    group_surges: np.ndarray  # (steps, groups, surges)
    group_mean_weight: np.ndarray  # (steps, groups)
    group_peak_weight: np.ndarray  # (steps, groups)
    level_count: np.ndarray  # (steps, groups)
    level_weight: np.ndarray  # (steps, groups, levels)
    level_hours: np.ndarray  # (steps, groups, levels)
    fleet: np.ndarray  # (n_fleet,)

    def arrays(self) -> tuple[np.ndarray, ...]:
        return (
            self.consts, self.step_years, self.group_count, self.group_surges,
            self.group_mean_weight, self.group_peak_weight, self.level_count,
            self.level_weight, self.level_hours, self.fleet,
        )  # fmt: skip


def pack_plan(plan: ModelPlan) -> PackedPlan:
    consts = np.zeros(len(CONSTS))
    consts[C_SLOT["months_per_step"]] = plan.months_per_step
    consts[C_SLOT["step_hours"]] = plan.step_hours
    consts[C_SLOT["calls_per_request"]] = plan.calls_per_request
    consts[C_SLOT["call_pairs_per_request"]] = plan.call_pairs_per_request
    consts[C_SLOT["thinking_per_reasoning_call"]] = plan.thinking_per_reasoning_call
    consts[C_SLOT["target_utilization"]] = plan.target_utilization
    consts[C_SLOT["count_noise"]] = 1.0 if plan.count_noise else 0.0
    consts[C_SLOT["price_follows_cost"]] = 1.0 if plan.pricing == "markup" else 0.0
    cal = plan.calendar

    def contiguous(array: np.ndarray, dtype: Any = np.float64) -> np.ndarray:
        return np.ascontiguousarray(array, dtype=dtype)

    return PackedPlan(
        consts=consts,
        step_years=contiguous(plan.step_years),
        group_count=contiguous(cal.group_count, np.int64),
        group_surges=contiguous(cal.group_surges),
        group_mean_weight=contiguous(cal.group_mean_weight),
        group_peak_weight=contiguous(cal.group_peak_weight),
        level_count=contiguous(cal.level_count, np.int64),
        level_weight=contiguous(cal.level_weight),
        level_hours=contiguous(cal.level_hours),
        fleet=np.asarray(plan.fleet_sizes, dtype=np.float64),
    )


def pack_inputs(inputs: TrajectoryInputs) -> np.ndarray:
    """(parameters + surges, trajectories) matrix of per-trajectory inputs."""
    rows = [inputs[path] for path in PARAMETER_PATHS] + list(inputs.surge_multipliers)
    return np.ascontiguousarray(np.stack(rows), dtype=np.float64)


def pack_hardware(plan: ModelPlan, inputs: TrajectoryInputs) -> np.ndarray:
    """(HARDWARE, hardware, trajectories) matrix of each trajectory's hardware figures."""
    drawn = inputs.hardware
    rows = np.empty((len(HARDWARE), len(plan.hardware), drawn["power_kw"].shape[-1]))
    rows[HW_ROW["prefill_seconds_per_token"]] = layers.seconds_per_token(
        plan.prefill_rate[:, None], drawn["prefill_factor"]
    )
    rows[HW_ROW["decode_seconds_per_token"]] = layers.seconds_per_token(
        plan.decode_rate[:, None], drawn["throughput_factor"]
    )
    rows[HW_ROW["power_kw"]] = drawn["power_kw"]
    rows[HW_ROW["cost_per_gpu_hour"]] = drawn["cost_per_gpu_hour"]
    rows[HW_ROW["energy_cost_per_gpu_hour"]] = layers.energy_cost_per_gpu_hour(
        drawn["power_kw"], plan.energy_price_per_kwh
    )
    rows[HW_ROW["price_per_output_mtok"]] = opening_price_per_mtok(plan, inputs)
    return rows


def initial_state(params: np.ndarray) -> np.ndarray:
    """(2, trajectories): users now, and the saturation cap in force."""
    rows = [P_ROW["users.initial"], P_ROW["users.saturation"]]
    return np.ascontiguousarray(params[rows])


def launch_arguments(
    first: int,
    t0: int,
    count: int,
    key: tuple[int, int],
    params: Any,
    hardware: Any,
    users_state: Any,
    plan_arrays: tuple[Any, ...],
    outputs: tuple[Any, Any, Any],
    totals: tuple[Any, Any, Any],
) -> tuple[Any, ...]:
    """The arguments of one launch of a step window, in the kernels' order (host or device
    arrays alike)."""
    return (
        np.int64(first), np.int64(t0), np.int64(count), np.uint64(key[0]), np.uint64(key[1]),
        params, hardware, users_state, *plan_arrays, *outputs, *totals,
    )  # fmt: skip
