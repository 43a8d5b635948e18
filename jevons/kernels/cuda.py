"""The CUDA backend: one GPU thread per trajectory, the model fused in one kernel.

Each thread runs :func:`jevons.kernels.trajectory.trajectory_window` (the same
source as the CPU backend, compiled by numba-cuda) over a window of steps,
drawing its Philox numbers in registers; nothing random is ever stored.
Inputs, state, totals and each window's outputs stay on the device; the
percentiles are reduced there too (:mod:`jevons.kernels.cuda_quantiles`), so
only quantiles and means cross to the host.

Importing this module imports ``numba.cuda``; the engine does so only when the
``cuda`` backend is chosen. Under ``NUMBA_ENABLE_CUDASIM=1`` the same kernel
runs on Numba's CUDA simulator (slowly), which is how CI tests it.
"""

from __future__ import annotations

import numpy as np
from numba import config, cuda

import jevons.kernels.compile_cache  # noqa: F401  (before any @njit with cache=True)
from jevons.kernels.layout import PackedPlan, launch_arguments
from jevons.kernels.step_windows import Buffers, simulator_for
from jevons.kernels.trajectory import trajectory_window

THREADS_PER_BLOCK = 128
NO_DRAWS = np.empty((0, 0, 0))  # each thread draws its numbers as it goes

_trajectory_window = cuda.jit(device=True)(trajectory_window.py_func)


@cuda.jit(cache=not config.ENABLE_CUDASIM)
def _run_window(
    first, t0, nsteps, k0, k1, params, hardware, users_state,
    consts, step_years, group_count, group_surges, group_mean_weight, group_peak_weight,
    level_count, level_weight, level_hours, fleet,
    demand_out, supply_out, fleet_out, demand_totals, supply_totals, fleet_totals, no_draws,
):  # fmt: skip
    i = cuda.grid(1)
    if 0 <= i < params.shape[1]:  # i >= 0 spares every index by i its negative-index check
        _trajectory_window(
            i, first, t0, nsteps, k0, k1, params, hardware, users_state,
            consts, step_years, group_count, group_surges, group_mean_weight, group_peak_weight,
            level_count, level_weight, level_hours, fleet,
            demand_out, supply_out, fleet_out, demand_totals, supply_totals, fleet_totals,
            no_draws, 0,
        )  # fmt: skip


def gpu_available() -> bool:
    """A usable GPU (or the simulator) is present."""
    try:
        return bool(cuda.is_available())
    except Exception:  # a broken driver install reports itself as an exception
        return False


def device_name() -> str:
    if config.ENABLE_CUDASIM:
        return "CUDA simulator"
    name = cuda.get_current_device().name
    return name.decode() if isinstance(name, bytes) else str(name)


def free_memory_bytes() -> int | None:
    """Free memory on the current GPU (None on the simulator, which has no such figure)."""
    if config.ENABLE_CUDASIM:
        return None
    free, _total = cuda.current_context().get_memory_info()
    return int(free)


class Gpu:
    """Device mirrors of the buffers; outputs stay on the device, reduced there window by window."""

    def setup(self, packed: PackedPlan, buffers: Buffers) -> None:
        to = cuda.to_device
        self.plan = tuple(to(array) for array in packed.arrays())
        self.params = to(buffers.params)
        self.hardware = to(buffers.hardware)
        self.users_state = to(buffers.users_state)
        self.device_outputs = (
            to(buffers.demand_out),
            to(buffers.supply_out),
            to(buffers.fleet_out),
        )
        self.totals = (
            to(buffers.demand_totals),
            to(buffers.supply_totals),
            to(buffers.fleet_totals),
        )
        n = buffers.params.shape[1]
        self.grid = max(1, (n + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK)
        self.no_draws = to(NO_DRAWS)

    def launch(self, t0: int, count: int, first: int, key: tuple[int, int]) -> None:
        arguments = launch_arguments(
            first, t0, count, key, self.params, self.hardware, self.users_state, self.plan,
            self.device_outputs, self.totals,
        )  # fmt: skip
        _run_window[self.grid, THREADS_PER_BLOCK](*arguments, self.no_draws)

    def outputs(self):
        return self.device_outputs  # reduced on the device, never copied back

    def fetch_totals(self, buffers: Buffers) -> None:
        self.totals[0].copy_to_host(buffers.demand_totals)
        self.totals[1].copy_to_host(buffers.supply_totals)
        self.totals[2].copy_to_host(buffers.fleet_totals)


simulate = simulator_for(Gpu)
