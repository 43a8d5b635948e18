"""Host side of the compiled kernels: windows of steps, buffers and totals.

The compiled backends advance every trajectory through a window of steps per
launch, writing each step's values to a buffer; the window is then reduced
step by step like the reference's output. Only per-trajectory state (users,
running totals) survives between windows, so memory is bounded by one window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from jevons.kernels import layout
from jevons.kernels.contract import ModelPlan, TrajectoryInputs, WindowSink
from jevons.kernels.reference import derived_totals

DEFAULT_WINDOW_BYTES = 256 * 2**20
MIN_WINDOW_STEPS = 8
# Per-step outputs in float64 keep every backend equal to the reference to float64
# rounding. float32 halves the bytes (the reducer takes either) but measured no faster
# on the CPU, where the reduction is compute-bound.
OUTPUT_DTYPE = np.float64


@dataclass
class Buffers:
    """Per-window outputs and per-trajectory state, as host (or device) arrays."""

    params: np.ndarray
    hardware: np.ndarray  # (HARDWARE, n_hw, n): each trajectory's figures per profile
    users_state: np.ndarray  # (2, n): users now, saturation cap
    # Step-major, so that any run of steps of one variable is one contiguous slab.
    demand_out: np.ndarray  # (DEMAND, window, n)
    supply_out: np.ndarray  # (SUPPLY, window, n_hw, n)
    fleet_out: np.ndarray  # (FLEET, window, n_fleet, n_hw, n)
    demand_totals: np.ndarray
    supply_totals: np.ndarray
    fleet_totals: np.ndarray


def output_rows(plan: ModelPlan) -> int:
    n_hw, n_fleet = len(plan.hardware), len(plan.fleet_sizes)
    return len(layout.DEMAND) + n_hw * (len(layout.SUPPLY) + n_fleet * len(layout.FLEET))


def window_steps(plan: ModelPlan, n: int, budget_bytes: int = DEFAULT_WINDOW_BYTES) -> int:
    """How many steps one window holds within ``budget_bytes`` of outputs, at least
    MIN_WINDOW_STEPS: below that the per-window work of each trajectory (its
    parameters, its draws) outweighs its steps: 1e6 trajectories x 365 steps took
    70 s in one-step windows, 31 s in windows of eight (2 cores)."""
    per_step = max(output_rows(plan) * n * np.dtype(OUTPUT_DTYPE).itemsize, 1)
    return int(max(1, min(plan.steps, max(MIN_WINDOW_STEPS, budget_bytes // per_step))))


def allocate(plan: ModelPlan, inputs: TrajectoryInputs, n: int, steps_per_window: int) -> Buffers:
    params = layout.pack_inputs(inputs)
    if params.shape[1] != n:
        # the kernels index outputs by the inputs' columns: a mismatch would write out of bounds
        raise ValueError(f"inputs hold {params.shape[1]} trajectories, expected {n}")
    n_hw, n_fleet = len(plan.hardware), len(plan.fleet_sizes)
    return Buffers(
        params=params,
        hardware=layout.pack_hardware(plan, inputs),
        users_state=layout.initial_state(params),
        demand_out=np.zeros((len(layout.DEMAND), steps_per_window, n), dtype=OUTPUT_DTYPE),
        supply_out=np.zeros((len(layout.SUPPLY), steps_per_window, n_hw, n), dtype=OUTPUT_DTYPE),
        fleet_out=np.zeros(
            (len(layout.FLEET), steps_per_window, n_fleet, n_hw, n), dtype=OUTPUT_DTYPE
        ),
        demand_totals=np.zeros((len(layout.DEMAND_TOTALS), n)),
        supply_totals=np.zeros((len(layout.SUPPLY_TOTALS), n_hw, n)),
        fleet_totals=np.zeros((len(layout.FLEET_TOTALS), n_fleet, n_hw, n)),
    )


def window_values(
    outputs: tuple[Any, Any, Any], count: int, with_fleet: bool, monetized: bool = False
) -> dict[str, Any]:
    """The first ``count`` steps of a window's outputs (host or device arrays) by name,
    each shaped (steps, *lead dims, trajectories); revenue rows only ``monetized``."""
    demand, supply, fleet = outputs
    values = {name: demand[r, :count] for r, name in enumerate(layout.DEMAND)}
    values.update(
        {
            name: supply[r, :count]
            for r, name in enumerate(layout.SUPPLY)
            if monetized or name not in layout.MONETIZATION
        }
    )
    if with_fleet:
        values.update({name: fleet[r, :count] for r, name in enumerate(layout.FLEET)})
    return values


def horizon_totals(plan: ModelPlan, buffers: Buffers) -> dict[str, np.ndarray]:
    totals = {name: buffers.demand_totals[r] for r, name in enumerate(layout.DEMAND_TOTALS)}
    totals.update(
        {
            name: buffers.supply_totals[r]
            for r, name in enumerate(layout.SUPPLY_TOTALS)
            if plan.monetized or name not in layout.MONETIZATION_TOTALS
        }
    )
    fleet = buffers.fleet_totals
    row = layout.FLEET_TOTAL_ROW
    hardware = buffers.hardware
    return derived_totals(
        plan,
        totals,
        hardware[layout.HW_ROW["cost_per_gpu_hour"]],
        hardware[layout.HW_ROW["energy_cost_per_gpu_hour"]],
        fleet[row["total_unserved_tokens"]],
        fleet[row["any_shortfall"]] > 0,
        fleet[row["any_target_breach"]] > 0,
    )


class Device(Protocol):
    """Where windows run: the host's cores, or a GPU holding mirrors of the buffers."""

    def setup(self, packed: layout.PackedPlan, buffers: Buffers) -> None:
        """Place the plan, inputs and state where the kernel reads them."""

    def launch(self, t0: int, count: int, first: int, key: tuple[int, int]) -> None:
        """Advance every trajectory through steps ``t0 .. t0 + count - 1``."""

    def outputs(self) -> tuple[Any, Any, Any]:
        """The window's demand, supply and fleet outputs, where the backend's reducer reads them."""

    def fetch_totals(self, buffers: Buffers) -> None:
        """Make the running totals readable in ``buffers``."""


def first_trajectory(trajectories: np.ndarray) -> int:
    first = int(trajectories[0]) if len(trajectories) else 0
    if len(trajectories) and not np.array_equal(
        trajectories, np.arange(first, first + len(trajectories), dtype=trajectories.dtype)
    ):
        raise ValueError("compiled backends take a contiguous range of trajectory indices")
    return first


def simulate_in_windows(
    plan: ModelPlan,
    inputs: TrajectoryInputs,
    trajectories: np.ndarray,
    key: tuple[int, int],
    on_window: WindowSink,
    device: Device,
    budget_bytes: int | None = None,
) -> dict[str, np.ndarray]:
    """Run ``device`` window after window and report each window to ``on_window``."""
    n = len(trajectories)
    first = first_trajectory(trajectories)
    steps_per_window = window_steps(plan, n, budget_bytes or DEFAULT_WINDOW_BYTES)
    packed = layout.pack_plan(plan)
    buffers = allocate(plan, inputs, n, steps_per_window)
    with_fleet = bool(plan.fleet_sizes)
    device.setup(packed, buffers)
    for t0 in range(0, plan.steps, steps_per_window):
        count = min(steps_per_window, plan.steps - t0)
        device.launch(t0, count, first, key)
        on_window(t0, window_values(device.outputs(), count, with_fleet, plan.monetized))
    device.fetch_totals(buffers)
    return horizon_totals(plan, buffers)


def simulator_for(device_type: type) -> Callable[..., dict[str, np.ndarray]]:
    """A ``simulate`` with the reference's signature that runs on a new ``device_type()``."""

    def simulate(
        plan: ModelPlan,
        inputs: TrajectoryInputs,
        trajectories: np.ndarray,
        key: tuple[int, int],
        on_window: WindowSink,
    ) -> dict[str, np.ndarray]:
        return simulate_in_windows(plan, inputs, trajectories, key, on_window, device_type())

    simulate.__doc__ = (
        f"Same contract as jevons.kernels.reference.simulate, on {device_type.__name__}."
    )
    return simulate
