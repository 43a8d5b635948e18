"""Assembling summaries into an ``xarray.Dataset``: variables, coordinates, units."""

from __future__ import annotations

import re

import numpy as np
import xarray as xr

from jevons.engine.summaries.types import Summary
from jevons.kernels.contract import (
    HARDWARE_FIELDS,
    HARDWARE_UNITS,
    PARAMETER_PATHS,
    PARAMETER_UNITS,
    SURGE_MULTIPLIER_UNITS,
    ModelPlan,
    TrajectoryInputs,
    hardware_path,
    surge_path,
)
from jevons.kernels.variables import VARIABLES


def _attrs(name: str, suffix: str = "") -> dict[str, str]:
    v = VARIABLES[name]
    return {"units": v.units, "long_name": v.description + suffix}


def build_dataset(summary: Summary, plan: ModelPlan, provenance: dict) -> xr.Dataset:
    coords = {
        "quantile": summary.quantiles,
        "time": plan.calendar.step_start.astype("datetime64[ns]"),
        "hardware": list(plan.hardware),
    }
    if plan.fleet_sizes:
        coords["fleet_size"] = list(plan.fleet_sizes)
    data_vars = {}
    for name, means in summary.step_means.items():
        v = VARIABLES[name]
        if v.stat == "probability":
            data_vars[name] = ((*v.lead_dims, "time"), means, _attrs(name))
            continue
        data_vars[name] = (
            ("quantile", *v.lead_dims, "time"),
            summary.step_stats[name],
            _attrs(name),
        )
        data_vars[f"{name}_mean"] = ((*v.lead_dims, "time"), means, _attrs(name, " (mean)"))
    for name, stats in summary.step_stats.items():
        if name not in summary.step_means:  # derived from another variable's samples
            dims = ("quantile", *VARIABLES[name].lead_dims, "time")
            data_vars[name] = (dims, stats, _attrs(name))
    for name, means in summary.horizon_means.items():
        v = VARIABLES[name]
        if v.stat == "probability":
            data_vars[name] = (v.lead_dims, means, _attrs(name))
            continue
        data_vars[f"{name}_mean"] = (v.lead_dims, means, _attrs(name, " (mean)"))
    for name, stats in summary.horizon_stats.items():
        data_vars[name] = (("quantile", *VARIABLES[name].lead_dims), stats, _attrs(name))
    ds = xr.Dataset(data_vars, coords=coords, attrs=provenance)
    ds = ds.merge(_exceedance_probabilities(summary))
    ds["quantile"].attrs["long_name"] = "quantile over trajectories"
    ds["time"].attrs["long_name"] = f"start of each {plan.step_hours}-hour step"
    return ds


def _exceedance_probabilities(summary: Summary) -> xr.Dataset:
    """``<name>_exceedance_probability`` by threshold: P(value > threshold) over trajectories.

    One variable with thresholds gets the dim ``threshold``; two get a dim each,
    ``<name>_threshold``, since their thresholds have other units.
    """
    counted = summary.exceedance
    probabilities = counted.probabilities()
    data_vars, coords = {}, {}
    for name, values in probabilities.items():
        v = VARIABLES[name]
        source = VARIABLES[v.exceedance_of]
        dim = "threshold" if len(probabilities) == 1 else f"{source.name}_threshold"
        data_vars[name] = ((dim, *v.lead_dims), values, _attrs(name))
        coords[dim] = (
            dim,
            counted.thresholds[source.name],
            {"units": source.units, "long_name": f"threshold of {source.name}"},
        )
    return xr.Dataset(data_vars, coords=coords)


PER_TRAJECTORY_TOTALS = (
    "total_tokens", "total_gpu_hours", "total_cost", "max_peak_gpus", "horizon_cost_per_mtok",
)  # fmt: skip
MONETIZED_TOTALS = ("total_revenue", "total_gross_margin")  # kept under [monetization]


def add_trajectories(
    ds: xr.Dataset,
    trajectories: np.ndarray,
    inputs: TrajectoryInputs,
    totals: dict[str, np.ndarray],
    surge_names: tuple[str, ...],
) -> xr.Dataset:
    """Each trajectory's uncertain inputs and horizon totals, for sensitivity analysis.

    Inputs that are fixed in the scenario are left out (they explain nothing). A hardware
    figure drawn for some profile is reported for all of them (dim ``hardware``), the
    others at their fixed value.
    """
    data_vars = {}
    paths = [(path, inputs[path], PARAMETER_UNITS[path]) for path in PARAMETER_PATHS]
    paths += [
        (surge_path(name), inputs.surge_multipliers[k], SURGE_MULTIPLIER_UNITS)
        for k, name in enumerate(surge_names)
    ]
    for path, values, units in paths:
        if values.min() != values.max():
            name = "drawn_" + re.sub(r"\W", "_", path)
            while name in data_vars:  # two surge names that differ only in punctuation
                name += "_"
            data_vars[name] = (
                "trajectory",
                values,
                {"key_path": path, "long_name": f"drawn {path}", "units": units},
            )
    for field in HARDWARE_FIELDS:
        values = inputs.hardware[field]
        if (values.min(axis=-1) != values.max(axis=-1)).any():
            path = hardware_path("<hardware>", field)
            data_vars[f"drawn_supply_uncertainty_{field}"] = (
                ("hardware", "trajectory"),
                values,
                {"key_path": path, "long_name": f"drawn {path}", "units": HARDWARE_UNITS[field]},
            )
    monetized = tuple(name for name in MONETIZED_TOTALS if name in totals)
    for name in PER_TRAJECTORY_TOTALS + monetized:
        v = VARIABLES[name]
        data_vars[f"trajectory_{name}"] = (
            (*v.lead_dims, "trajectory"),
            totals[name],
            {"units": v.units, "long_name": v.description},
        )
    extra = xr.Dataset(data_vars, coords={"trajectory": trajectories.astype(np.int64)})
    return xr.merge([ds, extra], combine_attrs="override")
