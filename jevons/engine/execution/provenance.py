"""A finished run's Dataset, with the provenance a reader needs to trust it."""

from __future__ import annotations

import datetime as dt

import xarray as xr

import jevons
from jevons.engine.output.dataset import build_dataset
from jevons.engine.scenario.schema import Scenario
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
