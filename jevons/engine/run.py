"""Running a scenario end to end: plan, draw inputs, simulate, summarise."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable

import numpy as np
import xarray as xr

import jevons
from jevons.engine.backends import get_backend
from jevons.engine.plan import ModelPlan, build_plan
from jevons.engine.results import add_trajectories, build_dataset
from jevons.engine.sampling import PARAMETER_PATHS, draw_inputs
from jevons.engine.scenario import Scenario
from jevons.engine.summary import ExactSummary
from jevons.errors import JevonsError
from jevons.kernels.philox import seed_key

ProgressCallback = Callable[[int, int], None]  # (steps done, steps in all)


def physical_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def estimated_bytes(plan: ModelPlan, n: int) -> int:
    """Rough peak memory of one process simulating ``n`` trajectories.

    Per trajectory: the drawn inputs (and their temporaries), the running
    totals, one step of every output, and the NumPy reference's temporaries.
    """
    n_hw, n_fleet = len(plan.hardware), len(plan.fleet_sizes)
    inputs = 2 * (len(PARAMETER_PATHS) + len(plan.surge_names))
    totals = 6 + 6 * n_hw + 3 * n_fleet * n_hw
    one_step = 10 + n_hw * (6 + 3 * n_fleet)
    return 8 * n * (inputs + totals + 2 * one_step + 40)


def check_memory(plan: ModelPlan, n: int) -> None:
    """Refuse, with a clear message, a run that cannot fit: better than an OOM kill."""
    available = physical_memory_bytes()
    needed = estimated_bytes(plan, n)
    if available is not None and needed > 0.8 * available:
        raise JevonsError(
            f"{n:,} trajectories need about {needed / 2**30:.0f} GiB in one process; this"
            f" machine has {available / 2**30:.0f} GiB. Run fewer trajectories."
        )


def run_scenario(
    scenario: Scenario,
    *,
    scenario_text: str = "",
    trajectories: int | None = None,
    seed: int | None = None,
    backend: str = "auto",
    progress: ProgressCallback | None = None,
    keep_trajectories: bool = False,
) -> xr.Dataset:
    """Simulate ``scenario`` and return its percentile dataset.

    ``trajectories`` and ``seed`` override the scenario's ``[simulation]`` values.
    ``keep_trajectories`` adds each trajectory's drawn inputs and horizon totals
    (dim ``trajectory``), for sensitivity analysis.
    """
    started = time.perf_counter()
    chosen = get_backend(backend)
    simulate = chosen.load()
    n = scenario.simulation.trajectories if trajectories is None else trajectories
    seed = scenario.simulation.seed if seed is None else seed
    key = seed_key(seed)
    plan = build_plan(scenario)
    quantiles = scenario.simulation.quantiles
    check_memory(plan, n)

    trajectory_index = np.arange(n, dtype=np.uint64)
    inputs = draw_inputs(scenario, trajectory_index, key)
    summary = ExactSummary(quantiles, plan.steps, chosen.reducer())

    def on_block(t0: int, values: dict[str, np.ndarray]) -> None:
        summary.add_block(t0, values)
        if progress is not None:
            steps_done = t0 + next(iter(values.values())).shape[-2]
            progress(steps_done, plan.steps)

    totals = simulate(plan, inputs, trajectory_index, key, on_block)
    summary.add_horizon(totals)

    provenance = {
        "title": f"jevons forecast: {scenario.name}",
        "scenario_name": scenario.name,
        "scenario": scenario_text,
        "seed": str(seed),
        "trajectories": n,
        "backend": chosen.name,
        "jevons_version": jevons.__version__,
        "horizon_start": scenario.horizon.start.isoformat(),
        "step": scenario.horizon.step,
        "steps": plan.steps,
        "target_utilization": plan.target_utilization,
        "calls_per_request": plan.calls_per_request,
        "thinking_tokens_per_reasoning_call": plan.thinking_per_reasoning_call,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    ds = build_dataset(summary, plan, provenance)
    if keep_trajectories:
        ds = add_trajectories(ds, trajectory_index, inputs, totals, plan.surge_names)
    ds.attrs["wall_time_s"] = round(time.perf_counter() - started, 3)
    return ds
