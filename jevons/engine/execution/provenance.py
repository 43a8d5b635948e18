"""A finished run's Dataset, with the provenance a reader needs to trust it."""

from __future__ import annotations

import datetime as dt

import numpy as np
import xarray as xr

from jevons._version import __version__
from jevons.engine.output.dataset import build_dataset
from jevons.engine.scenario.schema import Scenario
from jevons.engine.summaries.periods import step_periods
from jevons.engine.summaries.types import Summary
from jevons.kernels.contract import ModelPlan


def finish_dataset(
    summary: Summary,
    plan: ModelPlan,
    scenario: Scenario,
    scenario_text: str,
    seed: int,
    n: int,
    backend: str,
    mode: str,
) -> xr.Dataset:
    """The dataset of a finished (or still open) summary, with its provenance."""
    if mode == "sketch":
        summary.finish()
    if plan.fixed_cost_factors is not None:
        _scale_from_gpu_hours(summary, *plan.fixed_cost_factors)
    provenance = {
        "title": f"jevons forecast: {scenario.name}",
        "scenario_name": scenario.name,
        "scenario": scenario_text,
        "seed": np.uint64(seed),  # seeds run to 2**64 - 1: NetCDF's uint64 holds them all
        "trajectories": n,
        "backend": backend,
        "summary": mode,
        "jevons_version": __version__,
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
    supply = scenario.supply
    if supply.interactivity is not None:
        provenance["interactivity"] = supply.interactivity
    ds = build_dataset(summary, plan, provenance)
    if "reserve_gpus" in ds:
        ds = _with_periods(ds, plan, scenario.simulation.reserve_period)
    # The rates each profile ran on, so a result can be traced to its benchmark points.
    ds = ds.assign_coords(
        prefill_tokens_per_s=("hardware", plan.prefill_rate),
        decode_tokens_per_s=("hardware", plan.decode_rate),
        supply_kind=("hardware", [profile.kind for profile in supply.hardware]),
    )
    ds["prefill_tokens_per_s"].attrs = {
        "units": "tokens/s per GPU",
        "long_name": "prefill rate (nominal: before any drawn factor)",
    }
    ds["decode_tokens_per_s"].attrs = {
        "units": "output tokens/s per GPU",
        "long_name": "decode rate reproducing the profile's benchmark points at the"
        " scenario's interactivity (nominal: before any drawn factor)",
    }
    ds["supply_kind"].attrs["long_name"] = (
        "measured (benchmark points), estimated (roofline) or rates (typed in)"
    )
    return ds


def _with_periods(ds: xr.Dataset, plan: ModelPlan, period: str) -> xr.Dataset:
    """The ``period`` coordinate of reserve_gpus: each period's calendar start."""
    _, starts = step_periods(plan.calendar.step_start, period)
    ds = ds.assign_coords(period=("period", starts))
    ds["period"].attrs["long_name"] = (
        f"start of each calendar {period} (simulation.reserve_period); a step belongs to the"
        f" {period} in which it starts, and the first and last {period} may be covered in part"
    )
    return ds


def _scale_from_gpu_hours(summary: Summary, all_in_price: np.ndarray, power: np.ndarray) -> None:
    """Per-step cost and energy from gpu_hours' statistics, per hardware profile.

    With fixed supply figures, ``cost = gpu_hours x (price + power x energy price)`` and
    ``energy = gpu_hours x power`` per step, constants per profile: scaling by a positive
    constant commutes with every quantile, the mean and the sketch.
    """
    for name, factor in (("cost", all_in_price), ("energy_kwh", power)):
        per_hardware = np.asarray(factor, dtype=np.float64)[:, None]  # (hardware, steps)
        summary.step_means[name] = summary.step_means["gpu_hours"] * per_hardware
        summary.step_stats[name] = summary.step_stats["gpu_hours"] * per_hardware
