"""Running a scenario end to end: plan (once), draw inputs, simulate, summarise."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator

import numpy as np
import xarray as xr

from jevons.engine.execution.backends import (
    GPU_BACKENDS,
    Backend,
    get_backend,
    gpu_failure,
    is_out_of_memory,
)
from jevons.engine.execution.memory import (
    check_memory,
    check_sketch_memory,
    chunk_size,
)
from jevons.engine.execution.provenance import finish_dataset
from jevons.engine.execution.settings import RunSettings
from jevons.engine.output.dataset import add_trajectories
from jevons.engine.preparation.input_draws import draw_inputs
from jevons.engine.preparation.plan import build_plan
from jevons.engine.scenario.schema import Scenario
from jevons.engine.scenario.source import scenario_toml
from jevons.engine.summaries.exact import ExactSummary
from jevons.engine.summaries.periods import PeriodMaxima, step_periods
from jevons.engine.summaries.sketch import SketchSpec
from jevons.engine.summaries.sketched import SketchSummary
from jevons.engine.summaries.types import Summary
from jevons.errors import InternalError, JevonsError
from jevons.kernels.contract import ModelPlan
from jevons.kernels.philox import seed_key

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]  # (steps done, steps in all)


EXACT_LIMIT = 1_000_000  # auto summaries are exact up to this many trajectories

# Outputs that are finite for every valid scenario (the documented input ranges keep
# them so); cost_per_mtok is not among them: it is NaN by design with no output tokens.
# Per-step rows that are gpu_hours times a constant per profile when supply is fixed.
SCALED_FROM_GPU_HOURS = ("cost", "energy_kwh")
FINITE_STEP_OUTPUTS = ("requests", "output_tokens", "gpu_hours", "peak_gpus", "cost")
FINITE_HORIZON_OUTPUTS = ("total_tokens", "total_gpu_hours", "total_cost", "max_peak_gpus")


class NonFiniteResultError(InternalError):
    """A run whose outputs came out nan or inf from valid, finite inputs: a bug to report."""


def check_finite(ds: xr.Dataset) -> None:
    """Raise NonFiniteResultError if a main output (its quantiles or means) is nan or inf."""
    names = [*FINITE_STEP_OUTPUTS, *(f"{n}_mean" for n in FINITE_STEP_OUTPUTS)]
    for name in [*names, *FINITE_HORIZON_OUTPUTS]:
        if name not in ds:
            continue
        bad = ~np.isfinite(ds[name].values)
        if bad.any():
            index = np.unravel_index(np.argmax(bad), bad.shape)
            where = dict(zip(ds[name].dims, index, strict=True))
            at = ", ".join(f"{dim} {ds[name][dim].values[i]}" for dim, i in where.items())
            raise NonFiniteResultError(
                f"internal error: {name} came out non-finite ({at}) from valid, finite inputs;"
                " please report it with the scenario"
            )


@contextlib.contextmanager
def _sketch_refusals_reported() -> Iterator[None]:
    """A sketch refuses inf and negative values (ValueError): an internal error, in one line."""
    try:
        yield
    except ValueError as exc:
        raise NonFiniteResultError(
            f"internal error: outputs came out non-finite or negative from valid, finite"
            f" inputs ({exc}); please report it with the scenario"
        ) from None


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


def simulate_summary(
    scenario: Scenario,
    plan: ModelPlan,
    *,
    trajectory_range: tuple[int, int],
    seed: int,
    backend: str = "auto",
    mode: str = "sketch",
    progress: ProgressCallback | None = None,
    chunk: int | None = None,
    total: int | None = None,
) -> tuple[Summary, dict[str, np.ndarray] | None, str]:
    """Summaries of trajectories ``start .. stop - 1`` (global indices: any split of a
    run of ``total`` trajectories, default ``stop``, into ranges draws the same numbers).

    Returns the summary (finished for exact mode; sketches still open for
    merging otherwise), the drawn inputs and horizon totals when the range ran
    as one chunk (for ``--keep-trajectories``), and the backend's name. A GPU backend
    that cannot build, launch or fit its kernels says so in one line.
    """
    chosen = get_backend(backend)
    try:
        return _summarise(
            chosen, scenario, plan, trajectory_range=trajectory_range, seed=seed, mode=mode,
            progress=progress, chunk=chunk, total=total,
        )  # fmt: skip
    except Exception as exc:
        failure = gpu_failure(chosen.name, exc)
        if failure is None:
            raise
        raise failure from exc


def _summarise(
    chosen: Backend,
    scenario: Scenario,
    plan: ModelPlan,
    *,
    trajectory_range: tuple[int, int],
    seed: int,
    mode: str,
    progress: ProgressCallback | None,
    chunk: int | None,
    total: int | None,
) -> tuple[Summary, dict[str, np.ndarray] | None, str]:
    simulate = chosen.load()
    key = seed_key(seed)
    start, stop = trajectory_range
    n = stop - start
    thresholds = scenario.risk.thresholds
    if mode == "exact":
        check_memory(plan, n)
        summary: Summary = ExactSummary(
            scenario.simulation.quantiles, plan.steps, chosen.reducer(), thresholds
        )
    else:
        spec = SketchSpec(scenario.simulation.relative_accuracy)
        check_sketch_memory(plan, spec)
        summary = SketchSummary(
            scenario.simulation.quantiles, plan.steps, spec, chosen.name != "numpy", thresholds
        )
    # An exact summary reduces every trajectory at once: one chunk, whatever is asked.
    size = chunk_size(plan, n, chosen.name, mode) if mode == "exact" or not chunk else chunk
    log.info("simulating trajectories %s..%s on the %s backend, chunks of %s", f"{start:,}",
             f"{stop - 1:,}", chosen.name, f"{min(size, n):,}")  # fmt: skip
    step_period, period_starts = step_periods(
        plan.calendar.step_start, scenario.simulation.reserve_period
    )
    chunks_done = 0
    kept = None
    first = start
    while first < stop:
        count = min(size, stop - first)
        trajectories = np.arange(first, first + count, dtype=np.uint64)
        inputs = draw_inputs(scenario, trajectories, key, total or stop)
        # On a GPU, a chunk's windows go to a scratch summary first, so that a chunk
        # that runs out of memory can be retried smaller without counting twice.
        on_gpu = chosen.name in GPU_BACKENDS
        target = summary if mode == "exact" or not on_gpu else summary.empty_like()
        total_chunks = chunks_done + 1 + -(-(stop - first - count) // size)
        reserve = PeriodMaxima(step_period, len(period_starts))

        def on_window(
            t0: int,
            values: dict[str, np.ndarray],
            target=target,
            done=chunks_done,
            of=total_chunks,
            reserve=reserve,
        ) -> None:
            reserve.add_window(t0, values["peak_gpus"])
            if plan.fixed_cost_factors is not None:  # scaled from gpu_hours at the end
                values = {k: v for k, v in values.items() if k not in SCALED_FROM_GPU_HOURS}
            with _sketch_refusals_reported():
                target.add_window(t0, values)
            if progress is not None:
                steps_done = t0 + next(iter(values.values())).shape[0]
                progress(done * plan.steps + steps_done, of * plan.steps)

        try:
            totals = simulate(plan, inputs, trajectories, key, on_window)
        except Exception as exc:
            retry = mode != "exact" and count > 1
            if on_gpu and retry and is_out_of_memory(exc):
                size = max(1, count // 2)
                log.info("out of GPU memory: chunks of %s trajectories from now on", f"{size:,}")
                continue
            raise
        # each trajectory's per-period maxima are a horizon value like its totals
        totals = {**totals, "reserve_gpus": reserve.values()}
        with _sketch_refusals_reported():
            target.add_horizon(totals)
        if target is not summary:
            summary.merge(target)
        if first == start and count == n:
            kept = (inputs, totals)
        log.debug("trajectories %s..%s done", f"{first:,}", f"{first + count - 1:,}")
        first += count
        chunks_done += 1
    if mode == "exact":
        summary.finish()
    return summary, kept, chosen.name


def run_scenario(
    scenario: Scenario,
    settings: RunSettings | None = None,
    *,
    scenario_text: str | None = None,
    progress: ProgressCallback | None = None,
) -> xr.Dataset:
    """Simulate ``scenario`` and return its percentile dataset.

    ``settings`` overrides the scenario's ``[simulation]`` values and adds
    thresholds (see :class:`RunSettings`); its ``keep_trajectories`` adds each
    trajectory's drawn inputs and horizon totals (dim ``trajectory``), for
    sensitivity analysis. ``scenario_text`` is the scenario's TOML, kept in the
    provenance; without it, a TOML rendering of ``scenario`` is kept.
    """
    started = time.perf_counter()
    settings = settings or RunSettings()
    if scenario_text is None:
        scenario_text = scenario_toml(scenario)
    scenario = settings.applied_to(scenario)
    plan = build_plan(scenario)
    n, seed = settings.trajectories_for(scenario), settings.seed_for(scenario)
    mode = summary_mode(settings.summary_for(scenario), n, sharded=False)
    chunk = settings.chunk
    if settings.keep_trajectories:
        check_memory(plan, n)
        chunk = n  # the per-trajectory values of one chunk are what is kept
    log.info("%s: %s trajectories x %s steps, seed %s, %s summary", scenario.name,
             f"{n:,}", plan.steps, seed, mode)  # fmt: skip
    result, kept, backend_name = simulate_summary(
        scenario, plan, trajectory_range=(0, n), seed=seed, backend=settings.backend, mode=mode,
        progress=progress, chunk=chunk, total=n,
    )  # fmt: skip
    ds = finish_dataset(result, plan, scenario, scenario_text, seed, n, backend_name, mode)
    check_finite(ds)
    if settings.keep_trajectories and kept is not None:
        inputs, totals = kept
        ds = add_trajectories(ds, np.arange(n, dtype=np.uint64), inputs, totals, plan.surge_names)
    ds.attrs["wall_time_s"] = round(time.perf_counter() - started, 3)
    log.info("%s: simulated in %.2f s", scenario.name, ds.attrs["wall_time_s"])
    return ds
