"""Exact percentile summaries over trajectories.

Values arrive a block of steps at a time, every trajectory together, and are
reduced at once to quantiles and a mean, so memory holds one block, never the
whole (trajectory x time) matrix. Two reducers give the same numbers: NumPy's
``nanquantile`` (the reference) and :func:`jevons.kernels.quantiles.summarise_rows`
(all cores, for the compiled backends).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from jevons.engine.variables import VARIABLES

# reduce(rows (R, n), quantiles (m,)) -> (quantiles (R, m), means (R,)), NaNs ignored
RowReducer = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def numpy_reducer(rows: np.ndarray, quantiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # nan marks an undefined ratio (no tokens at all); it must not poison the rest.
    if np.isnan(rows).any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN row is a NaN result
            return np.nanquantile(rows, quantiles, axis=-1).T, np.nanmean(rows, axis=-1)
    return np.quantile(rows, quantiles, axis=-1).T, rows.mean(axis=-1)


def compiled_reducer(rows: np.ndarray, quantiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from jevons.kernels.quantiles import summarise_rows

    q = np.empty((rows.shape[0], len(quantiles)))
    means = np.empty(rows.shape[0])
    if rows.dtype not in (np.float32, np.float64):
        rows = rows.astype(np.float64)
    summarise_rows(np.ascontiguousarray(rows), quantiles, q, means)
    return q, means


def device_reducer(rows, quantiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows that live on the GPU are reduced there; only the quantiles come back."""
    from jevons.kernels.cuda_quantiles import summarise_rows_on_device

    return summarise_rows_on_device(rows, quantiles)


def tail_mean(values: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """CVaR: mean of the values at or above each quantile, along the last axis."""
    ordered = np.sort(values, axis=-1)
    n = ordered.shape[-1]
    csum = np.cumsum(ordered[..., ::-1], axis=-1)[..., ::-1]  # csum[i] = sum(ordered[i:])
    first = np.minimum((np.asarray(quantiles) * n).astype(np.int64), n - 1)
    return np.stack([csum[..., i] / (n - i) for i in first], axis=0)


class ExactSummary:
    """Accumulates quantiles and means of per-step and per-horizon variables."""

    def __init__(self, quantiles: list[float], steps: int, reducer: RowReducer = numpy_reducer):
        self.quantiles = np.asarray(quantiles, dtype=np.float64)
        self.steps = steps
        self.reduce = reducer
        self.step_stats: dict[str, np.ndarray] = {}
        self.step_means: dict[str, np.ndarray] = {}
        self.horizon_stats: dict[str, np.ndarray] = {}
        self.horizon_means: dict[str, np.ndarray] = {}

    def _reduce(self, array: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Quantiles (quantile, *lead) and means (*lead) over the last axis.

        ``array`` may live on a GPU; the backend's reducer reads it where it is.
        """
        shape = tuple(array.shape)  # a plain tuple: device array shapes refuse negative indices
        lead = shape[:-1]
        q, means = self.reduce(array.reshape(-1, shape[-1]), self.quantiles)
        return np.moveaxis(q.reshape(*lead, -1), -1, 0), means.reshape(lead)

    def add_block(self, t0: int, values: dict[str, np.ndarray]) -> None:
        """Add steps ``t0 ..`` from arrays shaped (steps in block, *lead dims, trajectories)."""
        for name, array in values.items():
            shape = tuple(array.shape)
            count, lead = shape[0], shape[1:-1]
            if name not in self.step_means:
                self.step_means[name] = np.empty((*lead, self.steps))
                if VARIABLES[name].stat == "quantiles":
                    self.step_stats[name] = np.empty((len(self.quantiles), *lead, self.steps))
            q, means = self._reduce(array)  # (quantile, steps, *lead), (steps, *lead)
            self.step_means[name][..., t0 : t0 + count] = np.moveaxis(means, 0, -1)
            if name in self.step_stats:
                self.step_stats[name][..., t0 : t0 + count] = np.moveaxis(q, 1, -1)

    def add_horizon(self, values: dict[str, np.ndarray]) -> None:
        for name, array in values.items():
            q, means = self._reduce(np.asarray(array, dtype=np.float64))
            self.horizon_means[name] = means
            if VARIABLES[name].stat == "quantiles":
                self.horizon_stats[name] = q
        for variable in VARIABLES.values():
            if variable.cvar_of in values:
                self.horizon_stats[variable.name] = tail_mean(
                    values[variable.cvar_of], self.quantiles
                )
