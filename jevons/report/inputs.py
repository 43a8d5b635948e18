"""The scenario's inputs as table rows: each uncertain input with its distribution, and
the fixed ones with their values, by the key paths the draws use
(:func:`jevons.engine.scenario.schema.per_trajectory_inputs`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from jevons.engine.scenario.distributions import Fixed
from jevons.engine.scenario.schema import Scenario, per_trajectory_inputs
from jevons.kernels.contract import (
    HARDWARE_UNITS,
    PARAMETER_UNITS,
    SURGE_MULTIPLIER_UNITS,
    hardware_path,
    surge_path,
)

# The range a table shows for each uncertain input: its 5th and 95th percentiles.
SPREAD = (0.05, 0.5, 0.95)
# An empirical distribution lists this many of its values at most; the rest are counted.
LISTED_VALUES = 6
# Efficiencies are read by roofline estimates only; other profiles hold a 1 they never use.
ESTIMATE_ONLY = ("decode_efficiency", "prefill_efficiency")
MONETIZATION = ("monetization.price_per_mtok", "monetization.markup", "monetization.elasticity")


@dataclass(frozen=True)
class UncertainInput:
    key: str
    units: str
    dist: str
    parameters: str  # "low=1, mode=2, high=3"
    p5: float
    median: float
    p95: float


@dataclass(frozen=True)
class FixedInput:
    key: str
    units: str
    value: float


def number(x: float) -> str:
    """A figure as a table shows it: 4 significant digits, thousands separated."""
    if not math.isfinite(x):
        return str(x)
    if x != 0 and (abs(x) >= 1e15 or abs(x) < 1e-4):
        return f"{x:.4g}"
    return f"{x:,.4g}" if abs(x) < 1e4 else f"{x:,.0f}"


def _parameters(dist) -> str:
    fields = dist.model_dump(by_alias=True, exclude_none=True)
    fields.pop("dist")
    shown = []
    for name, value in fields.items():
        if isinstance(value, list):
            listed = ", ".join(number(v) for v in value[:LISTED_VALUES])
            more = f", ... ({len(value)} values)" if len(value) > LISTED_VALUES else ""
            shown.append(f"{name}=[{listed}{more}]")
        elif math.isfinite(value):  # an unbounded normal's low and high say nothing
            shown.append(f"{name}={number(value)}")
    return ", ".join(shown)


def _units(scenario: Scenario) -> dict[str, str]:
    units = dict(PARAMETER_UNITS)
    for surge in scenario.variability.surges:
        units[surge_path(surge.name)] = SURGE_MULTIPLIER_UNITS
    for profile in scenario.supply.hardware:
        for field, unit in HARDWARE_UNITS.items():
            units[hardware_path(profile.key, field)] = unit
    return units


def _unused(scenario: Scenario) -> set[str]:
    """Inputs the model never reads in ``scenario``: the efficiencies of measured profiles,
    and the demand elasticity of a product without a price."""
    unused = {
        hardware_path(profile.key, field)
        for profile in scenario.supply.hardware
        if profile.kind != "estimated"
        for field in ESTIMATE_ONLY
    }
    if scenario.monetization.pricing is None:
        unused.update(MONETIZATION)
    return unused


def scenario_inputs(scenario: Scenario) -> tuple[list[UncertainInput], list[FixedInput]]:
    """Every per-trajectory input of ``scenario`` in draw order: the uncertain ones with
    their distribution, parameters and 5th, 50th and 95th percentiles, and the fixed ones
    with their value. Inputs the scenario leaves unset are left out."""
    units = _units(scenario)
    unused = _unused(scenario)
    uncertain, fixed = [], []
    for key, dist in per_trajectory_inputs(dict(scenario)).items():
        if dist is None or key in unused:
            continue
        if isinstance(dist, Fixed):
            fixed.append(FixedInput(key, units[key], dist.value))
            continue
        p5, median, p95 = (float(q) for q in dist.ppf(np.array(SPREAD)))
        uncertain.append(
            UncertainInput(key, units[key], dist.dist, _parameters(dist), p5, median, p95)
        )
    return uncertain, fixed
