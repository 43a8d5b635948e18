"""Runs that add trajectories until a percentile has converged.

A run of ``n`` trajectories reports each quantile with a 95% confidence interval
(:mod:`jevons.engine.summaries.confidence`). A precision target asks for the
interval of the P95 of one output to be narrow: its relative half-width,
``(ci_high - ci_low) / (2 P95)``, the largest over hardware profiles (and steps,
for a per-step output), at most the target. Trajectories are added until it is,
or a cap is reached.

The result of a run that stops at ``n`` trajectories is the result of a plain run
of ``n``: trajectory ``i`` draws the same numbers in any chunk, so a sketched
Monte Carlo or Sobol run grows by simulating trajectories ``n_old .. n - 1`` and
merging their sketches; an exact summary (which needs every trajectory at once) or
a Latin hypercube (whose strata depend on ``n``) runs afresh at ``n``.

A sketched run's interval holds the sketch's relative accuracy ``a`` as well
(:meth:`~jevons.engine.summaries.sketch.RowSketches.order_statistic_bounds`), so its
half-width does not fall much below ``a`` (about 0.4% by default), however many
trajectories are added.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import xarray as xr

from jevons.engine.execution.provenance import finish_dataset
from jevons.engine.execution.run import (
    EXACT_LIMIT,
    ProgressCallback,
    check_finite,
    simulate_summary,
    summary_mode,
)
from jevons.engine.execution.settings import RunSettings
from jevons.engine.preparation.plan import build_plan
from jevons.engine.scenario.loading import validate_key
from jevons.engine.scenario.schema import Scenario
from jevons.engine.scenario.source import scenario_toml
from jevons.engine.summaries.confidence import LEVEL as CONFIDENCE_LEVEL
from jevons.engine.summaries.sketch import SketchSpec
from jevons.errors import JevonsError, ScenarioError
from jevons.kernels.variables import CONFIDENCE_OF

PRECISION_QUANTILE = 0.95  # the percentile whose interval a target narrows
DEFAULT_MAX_TRAJECTORIES = 10_000_000
_MOST_GROWTH = 16.0  # a round at most multiplies the trajectories by this
_LEAST_GROWTH = 1.5  # ... and at least by this, so that a run ends in few rounds
_MARGIN = 1.1  # aim a little past the predicted count: the prediction is noisy

# Designs whose trajectory i draws the same numbers in a run of any size (a Latin
# hypercube's strata depend on the count).
_DRAWS_KEPT_AS_N_GROWS = ("mc", "sobol")
_COUNT_KEY = "simulation.trajectories"  # the key whose bounds a cap shares

RoundCallback = Callable[[int, float], None]  # (trajectories so far, half-width reached)


@dataclass(frozen=True)
class PrecisionTarget:
    """Stop once the P95 of ``of`` has a relative 95% half-width of at most
    ``relative_half_width`` [1], or at ``max_trajectories`` [trajectories]."""

    relative_half_width: float
    of: str = "total_cost"
    max_trajectories: int = DEFAULT_MAX_TRAJECTORIES

    def __post_init__(self) -> None:
        width = self.relative_half_width
        is_number = isinstance(width, numbers.Real) and not isinstance(width, bool)
        if not is_number or not 0.0 < width < 1.0:
            raise JevonsError(
                f"--precision must lie in (0, 1) (a relative half-width, 0.01 for ±1%),"
                f" got {format(width, 'g') if is_number else repr(width)}"
            )
        if self.of not in CONFIDENCE_OF:
            raise JevonsError(
                f"--precision-of {self.of!r} has no confidence interval; use one of"
                f" {', '.join(CONFIDENCE_OF)}"
            )
        given = self.max_trajectories
        problem = "a whole number" if isinstance(given, bool) else None  # True is an int
        if problem is None:
            try:  # the bounds -n has; 1e6 becomes 1000000, as -n takes it
                object.__setattr__(self, "max_trajectories", validate_key(_COUNT_KEY, given))
            except ScenarioError as exc:
                problem = exc.problems[0][1]
        if problem is not None:
            raise JevonsError(f"--max-trajectories {given!r}: {problem}")


def precision_target(
    precision: float | None,
    of: str = "total_cost",
    max_trajectories: int = DEFAULT_MAX_TRAJECTORIES,
) -> PrecisionTarget | None:
    """The target of ``--precision`` and its companions; None without ``precision``,
    where ``of`` and ``max_trajectories`` must keep their defaults (they would do nothing)."""
    if precision is not None:
        return PrecisionTarget(precision, of, max_trajectories)
    if of != "total_cost" or max_trajectories != DEFAULT_MAX_TRAJECTORIES:
        raise JevonsError("--precision-of and --max-trajectories go with --precision")
    return None


def relative_half_width(ds: xr.Dataset, name: str, level: float = PRECISION_QUANTILE) -> float:
    """Largest ``(ci_high - ci_low) / (2 |quantile|)`` of ``name`` at ``level`` over its
    other dims; NaN cells (a ratio without a denominator) are left out, and a run
    whose every cell is NaN, or whose quantile is 0 within a wider interval, gives inf.

    So does a run too small for any 95% interval of that quantile: even the widest,
    from the smallest to the largest value, covers it with probability
    ``1 - level^n - (1 - level)^n`` only (under 0.95 below 59 trajectories for the P95),
    and its bounds, clipped to those two values, would claim a precision it lacks."""
    n = int(ds.attrs["trajectories"])
    if 1.0 - level**n - (1.0 - level) ** n < CONFIDENCE_LEVEL:
        return math.inf
    at = {"quantile": level}
    value = np.abs(ds[name].sel(at).values)
    width = (ds[f"{name}_ci_high"].sel(at).values - ds[f"{name}_ci_low"].sel(at).values) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(width == 0.0, 0.0, width / value)
    relative = relative[~np.isnan(relative)]
    return float(relative.max()) if relative.size else math.inf


def next_trajectory_count(n: int, reached: float, target: float, cap: int, sobol: bool) -> int:
    """Trajectories for the next round: a half-width shrinks as 1/sqrt(n), so the target
    needs about ``n (reached / target)^2``; aimed a little past that, between
    1.5x and 16x ``n``, rounded up to three significant figures and at most ``cap``.
    Sobol points balance at powers of 2: for them the count is rounded up to one, and
    the cap down to one. A count at or below ``n`` means the cap allows no more."""
    ratio = (reached / target) ** 2 * _MARGIN if math.isfinite(reached) else 2.0
    wanted = math.ceil(n * min(max(ratio, _LEAST_GROWTH), _MOST_GROWTH))
    if sobol:
        wanted = 1 << (wanted - 1).bit_length()
        cap = 1 << (cap.bit_length() - 1)
    else:
        scale = 10 ** max(len(str(wanted)) - 3, 0)
        wanted = -(-wanted // scale) * scale
    return min(wanted, cap)


def run_to_precision(
    scenario: Scenario,
    target: PrecisionTarget,
    settings: RunSettings | None = None,
    *,
    scenario_text: str | None = None,
    progress: ProgressCallback | None = None,
    on_round: RoundCallback | None = None,
) -> xr.Dataset:
    """Simulate ``scenario`` with the trajectories ``settings`` give (default
    ``simulation.trajectories``), then more, until ``target`` is met or its cap
    reached; the Dataset of the last round, with ``precision_*`` attributes saying
    what was reached."""
    started = time.perf_counter()
    settings = settings or RunSettings()
    if settings.keep_trajectories:
        raise JevonsError(
            "--precision grows a run; --keep-trajectories and --sensitivity need its final"
            " size up front: run again with -n set to the count a --precision run reports"
        )
    if scenario_text is None:
        scenario_text = scenario_toml(scenario)
    scenario = settings.applied_to(scenario)
    if PRECISION_QUANTILE not in scenario.simulation.quantiles:
        raise JevonsError(
            "--precision narrows the P95's interval: add 0.95 to simulation.quantiles"
        )
    plan = build_plan(scenario)
    n, seed = settings.trajectories_for(scenario), settings.seed_for(scenario)
    if n > target.max_trajectories:
        raise JevonsError(
            f"--max-trajectories {target.max_trajectories:,} is below the {n:,} trajectories"
            " the run starts with"
        )
    requested = settings.summary_for(scenario)
    cap, stop_reason = target.max_trajectories, "the cap (--max-trajectories)"
    sketch_accuracy = SketchSpec(scenario.simulation.relative_accuracy).guaranteed_accuracy
    # A sketched bound is widened by the sketch's accuracy a, so a sketched interval is
    # never narrower than about ±a: a finer target can only be met by an exact summary.
    if target.relative_half_width <= sketch_accuracy:
        coarse = (
            f"the sketch's own accuracy (±{sketch_accuracy:.2%}, simulation.relative_accuracy)"
            f" is not finer than --precision {target.relative_half_width:g}"
        )
        if summary_mode(requested, n, sharded=False) == "sketch":
            raise JevonsError(f"{coarse}: set a finer relative_accuracy, or --summary exact")
        if requested == "auto" and cap > EXACT_LIMIT:
            cap = EXACT_LIMIT
            stop_reason = f"the most an exact summary holds under auto; {coarse}"
    sampling = scenario.simulation.sampling
    backend, chunk = settings.backend, settings.chunk
    growing = None  # an open sketched summary (Monte Carlo or Sobol) and its trajectory count
    while True:
        mode = summary_mode(requested, n, sharded=False)
        options = dict(seed=seed, backend=backend, mode=mode, progress=progress, chunk=chunk)
        if growing is not None and mode == "sketch":
            partial, _, backend_name = simulate_summary(
                scenario, plan, trajectory_range=(growing[1], n), total=n, **options
            )
            growing[0].merge(partial)
            result = growing[0]
        else:
            result, _, backend_name = simulate_summary(
                scenario, plan, trajectory_range=(0, n), total=n, **options
            )
        ds = finish_dataset(result, plan, scenario, scenario_text, seed, n, backend_name, mode)
        check_finite(ds)
        reached = relative_half_width(ds, target.of)
        if on_round is not None:
            on_round(n, reached)
        if reached <= target.relative_half_width:
            break
        following = next_trajectory_count(
            n, reached, target.relative_half_width, cap, sampling == "sobol"
        )
        if following <= n:
            break  # at the cap
        if mode == "sketch" and sampling in _DRAWS_KEPT_AS_N_GROWS:
            growing = (result, n)
        n = following
    ds.attrs.update(
        precision_target=target.relative_half_width,
        precision_of=target.of,
        precision_quantile=PRECISION_QUANTILE,
        precision_achieved=reached,
        precision_met=int(reached <= target.relative_half_width),
    )
    if not ds.attrs["precision_met"]:
        ds.attrs["precision_stopped_at"] = stop_reason
    ds.attrs["wall_time_s"] = round(time.perf_counter() - started, 3)
    return ds
