"""Exact percentile summaries over trajectories.

Each step's values for every trajectory arrive together and are reduced at
once to quantiles and a mean, so memory holds one step, never the whole
(trajectory x time) matrix.
"""

from __future__ import annotations

import numpy as np

from jevons.engine.variables import VARIABLES


def _quantiles(values: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    # nan marks an undefined ratio (no tokens at all); it must not poison the rest.
    if np.isnan(values).any():
        return np.nanquantile(values, quantiles, axis=-1)
    return np.quantile(values, quantiles, axis=-1)


def tail_mean(values: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """CVaR: mean of the values at or above each quantile, along the last axis."""
    ordered = np.sort(values, axis=-1)
    n = ordered.shape[-1]
    csum = np.cumsum(ordered[..., ::-1], axis=-1)[..., ::-1]  # csum[i] = sum(ordered[i:])
    first = np.minimum((np.asarray(quantiles) * n).astype(np.int64), n - 1)
    tail = np.stack([csum[..., i] / (n - i) for i in first], axis=0)
    return tail


class ExactSummary:
    """Accumulates quantiles and means of per-step and per-horizon variables."""

    def __init__(self, quantiles: list[float], steps: int):
        self.quantiles = np.asarray(quantiles, dtype=np.float64)
        self.steps = steps
        self.step_stats: dict[str, np.ndarray] = {}
        self.step_means: dict[str, np.ndarray] = {}
        self.horizon_stats: dict[str, np.ndarray] = {}
        self.horizon_means: dict[str, np.ndarray] = {}

    def add_step(self, t: int, values: dict[str, np.ndarray]) -> None:
        for name, array in values.items():
            variable = VARIABLES[name]
            lead = array.shape[:-1]
            if name not in self.step_means:
                self.step_means[name] = np.empty((*lead, self.steps))
                if variable.stat == "quantiles":
                    self.step_stats[name] = np.empty((len(self.quantiles), *lead, self.steps))
            self.step_means[name][..., t] = (
                np.nanmean(array, axis=-1) if np.isnan(array).any() else array.mean(axis=-1)
            )
            if variable.stat == "quantiles":
                self.step_stats[name][..., t] = _quantiles(array, self.quantiles)

    def add_horizon(self, values: dict[str, np.ndarray]) -> None:
        for name, array in values.items():
            variable = VARIABLES[name]
            self.horizon_means[name] = (
                np.nanmean(array, axis=-1) if np.isnan(array).any() else array.mean(axis=-1)
            )
            if variable.stat == "quantiles":
                self.horizon_stats[name] = _quantiles(array, self.quantiles)
        for variable in VARIABLES.values():
            if variable.cvar_of in values:
                self.horizon_stats[variable.name] = tail_mean(
                    values[variable.cvar_of], self.quantiles
                )
