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
from jevons.engine.plan import build_plan
from jevons.engine.results import add_trajectories, build_dataset
from jevons.engine.sampling import draw_inputs
from jevons.engine.scenario import Scenario
from jevons.engine.sketch import SketchSpec
from jevons.engine.summary import ExactSummary, SketchSummary, Summary, add_scaled_variables
from jevons.errors import JevonsError
from jevons.kernels.blocks import MIN_BLOCK_STEPS
from jevons.kernels.contract import PARAMETER_PATHS, ModelPlan
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
    totals, the smallest block of outputs, and the NumPy reference's temporaries.
    """
    n_hw, n_fleet = len(plan.hardware), len(plan.fleet_sizes)
    inputs = 2 * (len(PARAMETER_PATHS) + len(plan.surge_names))
    totals = 6 + 6 * n_hw + 3 * n_fleet * n_hw
    one_step = 10 + n_hw * (6 + 3 * n_fleet)
    return 8 * n * (inputs + totals + (MIN_BLOCK_STEPS + 1) * one_step + 40)


def check_memory(plan: ModelPlan, n: int) -> None:
    """Refuse, with a clear message, a run that cannot fit: better than an OOM kill."""
    available = physical_memory_bytes()
    needed = estimated_bytes(plan, n)
    if available is not None and needed > 0.8 * available:
        raise JevonsError(
            f"{n:,} trajectories need about {needed / 2**30:.0f} GiB in one process; this"
            f" machine has {available / 2**30:.0f} GiB. Run fewer trajectories."
        )


EXACT_LIMIT = 1_000_000  # auto summaries are exact up to this many trajectories
# Trajectories per chunk on the host: a chunk's outputs fill a block of steps, and
# past ~1e5 trajectories a block holds so few steps that the kernel's per-block
# work dominates; more trajectories gain nothing on a few cores.
HOST_CHUNK = 1 << 17
DEVICE_CHUNK = 1 << 22  # a GPU wants millions of threads; out of memory halves it


def summary_mode(requested: str, n: int, sharded: bool) -> str:
    """``exact`` or ``sketch`` for a run of ``n`` trajectories."""
    if requested == "exact" and sharded:
        raise JevonsError(
            "exact percentiles need every trajectory in one run; a shard's results must"
            ' merge with others, so shards use the sketch (summary = "sketch")'
        )
    if requested == "auto":
        return "sketch" if sharded or n > EXACT_LIMIT else "exact"
    return requested


def available_memory_bytes() -> int | None:
    """Memory the host can give without swapping (MemAvailable), else its physical size."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return physical_memory_bytes()


def free_device_bytes() -> int | None:
    try:
        from jevons.kernels.cuda import free_memory_bytes

        return free_memory_bytes()
    except Exception:  # no driver, or the simulator: fall back to the host's figure
        return None


def chunk_size(plan: ModelPlan, n: int, backend: str, mode: str) -> int:
    """Trajectories simulated together: all of them for exact summaries; else as many
    as a quarter of the free memory (of the GPU for ``cuda``) holds, up to a cap."""
    if mode == "exact":
        return max(n, 1)
    per_trajectory = estimated_bytes(plan, 1)
    limit = DEVICE_CHUNK if backend == "cuda" else HOST_CHUNK
    free = (free_device_bytes() if backend == "cuda" else None) or available_memory_bytes()
    if free is not None:
        limit = min(limit, max(1024, int(0.25 * free / per_trajectory)))
    return max(1, min(n, limit))


def is_out_of_memory(exc: BaseException) -> bool:
    """A GPU allocation failure (numba-cuda reports it as CUDA_ERROR_OUT_OF_MEMORY)."""
    return isinstance(exc, MemoryError) or "OUT_OF_MEMORY" in str(exc)


def simulate_summary(
    scenario: Scenario,
    *,
    trajectory_range: tuple[int, int],
    seed: int,
    backend: str = "auto",
    mode: str = "sketch",
    progress: ProgressCallback | None = None,
    chunk: int | None = None,
) -> tuple[Summary, dict[str, np.ndarray] | None, str]:
    """Summaries of trajectories ``start .. stop - 1`` (global indices: any split of a
    run into ranges draws the same numbers).

    Returns the summary (finished for exact mode; sketches still open for
    merging otherwise), the drawn inputs and horizon totals when the range ran
    as one chunk (for ``--keep-trajectories``), and the backend's name.
    """
    chosen = get_backend(backend)
    simulate = chosen.load()
    key = seed_key(seed)
    plan = build_plan(scenario)
    start, stop = trajectory_range
    n = stop - start
    if mode == "exact":
        check_memory(plan, n)
        summary: Summary = ExactSummary(scenario.simulation.quantiles, plan.steps, chosen.reducer())
    else:
        spec = SketchSpec(scenario.simulation.relative_accuracy)
        summary = SketchSummary(
            scenario.simulation.quantiles, plan.steps, spec, compiled=chosen.name != "numpy"
        )
    size = chunk or chunk_size(plan, n, chosen.name, mode)
    chunks_done = 0
    kept = None
    first = start
    while first < stop:
        count = min(size, stop - first)
        trajectories = np.arange(first, first + count, dtype=np.uint64)
        inputs = draw_inputs(scenario, trajectories, key)
        # On a GPU, a chunk's blocks go to a scratch summary first, so that a chunk
        # that runs out of memory can be retried smaller without counting twice.
        target = summary if mode == "exact" or chosen.name != "cuda" else summary.empty_like()
        total_chunks = chunks_done + 1 + -(-(stop - first - count) // size)

        def on_block(
            t0: int, values: dict[str, np.ndarray], target=target, done=chunks_done, of=total_chunks
        ) -> None:
            target.add_block(t0, values)
            if progress is not None:
                steps_done = t0 + next(iter(values.values())).shape[0]
                progress(done * plan.steps + steps_done, of * plan.steps)

        try:
            totals = simulate(plan, inputs, trajectories, key, on_block)
        except Exception as exc:
            if chosen.name == "cuda" and is_out_of_memory(exc) and count > 1:
                size = max(1, count // 2)
                continue
            raise
        target.add_horizon(totals)
        if target is not summary:
            summary.merge(target)
        if first == start and count == n:
            kept = (inputs, totals)
        first += count
        chunks_done += 1
    if mode == "exact":
        summary.finish()
    return summary, kept, chosen.name


def run_scenario(
    scenario: Scenario,
    *,
    scenario_text: str = "",
    trajectories: int | None = None,
    seed: int | None = None,
    backend: str = "auto",
    progress: ProgressCallback | None = None,
    keep_trajectories: bool = False,
    summary: str | None = None,
    chunk: int | None = None,
) -> xr.Dataset:
    """Simulate ``scenario`` and return its percentile dataset.

    ``trajectories`` and ``seed`` override the scenario's ``[simulation]`` values,
    ``summary`` its ``simulation.summary`` (auto, exact or sketch).
    ``keep_trajectories`` adds each trajectory's drawn inputs and horizon totals
    (dim ``trajectory``), for sensitivity analysis. ``chunk`` fixes the
    trajectories per chunk of a sketched run (the default is sized from memory).
    """
    started = time.perf_counter()
    n = scenario.simulation.trajectories if trajectories is None else trajectories
    seed = scenario.simulation.seed if seed is None else seed
    mode = summary_mode(summary or scenario.simulation.summary, n, sharded=False)
    if keep_trajectories:
        check_memory(build_plan(scenario), n)
        chunk = n  # the per-trajectory values of one chunk are what is kept
    result, kept, backend_name = simulate_summary(
        scenario, trajectory_range=(0, n), seed=seed, backend=backend, mode=mode,
        progress=progress, chunk=chunk,
    )  # fmt: skip
    ds = finish_dataset(result, scenario, scenario_text, seed, n, backend_name, mode)
    if keep_trajectories and kept is not None:
        inputs, totals = kept
        ds = add_trajectories(
            ds, np.arange(n, dtype=np.uint64), inputs, totals, build_plan(scenario).surge_names
        )
    ds.attrs["wall_time_s"] = round(time.perf_counter() - started, 3)
    return ds


def finish_dataset(
    summary: Summary,
    scenario: Scenario,
    scenario_text: str,
    seed: int,
    n: int,
    backend: str,
    mode: str,
) -> xr.Dataset:
    """The dataset of a finished (or still open) summary, with its provenance."""
    plan = build_plan(scenario)
    if mode == "sketch":
        summary.finish()
    add_scaled_variables(summary, plan.all_in_cost_per_gpu_hour, plan.power_kw)
    provenance = {
        "title": f"jevons forecast: {scenario.name}",
        "scenario_name": scenario.name,
        "scenario": scenario_text,
        "seed": str(seed),
        "trajectories": n,
        "backend": backend,
        "summary": mode,
        "jevons_version": jevons.__version__,
        "horizon_start": scenario.horizon.start.isoformat(),
        "step": scenario.horizon.step,
        "steps": plan.steps,
        "target_utilization": plan.target_utilization,
        "calls_per_request": plan.calls_per_request,
        "thinking_tokens_per_reasoning_call": plan.thinking_per_reasoning_call,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    if mode == "sketch":
        provenance["relative_accuracy"] = scenario.simulation.relative_accuracy
    return build_dataset(summary, plan, provenance)
