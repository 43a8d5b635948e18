"""The CPU backend: the scalar trajectory model under ``numba.njit(parallel=True)``.

Trajectories are spread over all cores with ``prange``; each thread runs
:func:`jevons.kernels.trajectory.trajectory_window` for its trajectories.
Compiled code is cached on disk (``cache=True``), so only the first run on a
machine pays the compile.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

import jevons.kernels.compile_cache  # noqa: F401  (before any @njit with cache=True)
from jevons.kernels.layout import PackedPlan, launch_arguments
from jevons.kernels.scalar_rng import KERNEL_OPTIONS
from jevons.kernels.step_windows import Buffers, simulator_for
from jevons.kernels.trajectory import DRAW_LANES, DRAW_ROWS, fill_draws, trajectory_window

CHUNK = 256  # trajectories per parallel task, a multiple of DRAW_LANES


@njit(parallel=True, **KERNEL_OPTIONS)
def _run_window(
    first, t0, nsteps, k0, k1, params, hardware, users_state,
    consts, step_years, group_count, group_surges, group_mean_weight, group_peak_weight,
    level_count, level_weight, level_hours, fleet,
    demand_out, supply_out, fleet_out, demand_totals, supply_totals, fleet_totals,
):  # fmt: skip
    n = params.shape[1]
    for chunk in prange((n + CHUNK - 1) // CHUNK):
        # one scratch window per chunk, refilled for each group of lanes
        draws = np.empty((DRAW_ROWS, nsteps, DRAW_LANES))
        for i in range(chunk * CHUNK, min(n, (chunk + 1) * CHUNK)):
            lane = i % DRAW_LANES
            if lane == 0:
                fill_draws(first + i, t0, nsteps, k0, k1, draws)
            trajectory_window(
                i, first, t0, nsteps, k0, k1, params, hardware, users_state,
                consts, step_years, group_count, group_surges, group_mean_weight, group_peak_weight,
                level_count, level_weight, level_hours, fleet,
                demand_out, supply_out, fleet_out, demand_totals, supply_totals, fleet_totals,
                draws, lane,
            )  # fmt: skip


class HostCores:
    """Step windows run in place on the host buffers."""

    def setup(self, packed: PackedPlan, buffers: Buffers) -> None:
        self.p, self.b = packed, buffers

    def launch(self, t0: int, count: int, first: int, key: tuple[int, int]) -> None:
        b = self.b
        _run_window(
            *launch_arguments(
                first, t0, count, key, b.params, b.hardware, b.users_state, self.p.arrays(),
                self.outputs(), (b.demand_totals, b.supply_totals, b.fleet_totals),
            )
        )  # fmt: skip

    def outputs(self):
        return self.b.demand_out, self.b.supply_out, self.b.fleet_out

    def fetch_totals(self, buffers: Buffers) -> None:
        pass


simulate = simulator_for(HostCores)
