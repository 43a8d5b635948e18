"""Exact percentile summaries: every trajectory of a window of steps reduced at once.

Values arrive a window of steps at a time, shaped (steps in the window, *lead
dims, trajectories), and are reduced at once by a row reducer
(:mod:`jevons.engine.summaries.reducers`), so memory never holds the whole
(trajectory x time) matrix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from jevons.engine.summaries.confidence import order_statistic_ranks, quantile_bounds
from jevons.engine.summaries.exceedance import ExceedanceCounts
from jevons.engine.summaries.reducers import RowReducer, numpy_reducer
from jevons.engine.summaries.tails import tail_counts
from jevons.kernels.array_api import reshape
from jevons.kernels.variables import CONFIDENCE_BOUNDS as _BOUNDS
from jevons.kernels.variables import VARIABLES


def tail_mean(values: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """CVaR (quantile, *lead): mean of the tail at each quantile, along the last axis.

    The tail at ``q`` is the worst ``ceil((1 - q) n)`` values (at least one), ``q``
    taken as the decimal it is written as (:func:`jevons.engine.summaries.tails.tail_counts`).
    NaN (an undefined ratio) is skipped, as the sketch skips it; a row of NaN alone has
    a NaN tail mean.
    """
    ordered = np.sort(values, axis=-1)  # NaN sorts last
    valid = np.sum(~np.isnan(ordered), axis=-1)  # (*lead)
    ordered = np.where(np.isnan(ordered), 0.0, ordered)  # adds nothing to a suffix sum
    csum = np.cumsum(ordered[..., ::-1], axis=-1)[..., ::-1]  # csum[i] = sum(ordered[i:])
    csum = np.concatenate([csum, np.zeros((*csum.shape[:-1], 1))], axis=-1)
    counts = tail_counts(quantiles, valid)  # (*lead, quantile)
    first = valid[..., None] - counts  # first value in each tail
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.take_along_axis(csum, first, axis=-1) / counts
    return np.moveaxis(np.where(counts > 0, means, np.nan), -1, 0)


class ExactSummary:
    """Accumulates quantiles and means of per-step and per-horizon variables."""

    def __init__(
        self,
        quantiles: list[float],
        steps: int,
        reducer: RowReducer = numpy_reducer,
        thresholds: Mapping[str, Sequence[float]] | None = None,
    ):
        self.quantiles = np.asarray(quantiles, dtype=np.float64)
        self.exceedance = ExceedanceCounts(thresholds or {})
        self.steps = steps
        self.reduce = reducer
        self.step_stats: dict[str, np.ndarray] = {}
        self.step_means: dict[str, np.ndarray] = {}
        self.horizon_stats: dict[str, np.ndarray] = {}
        self.horizon_means: dict[str, np.ndarray] = {}

    def _reduce(
        self, name: str, array: np.ndarray, extra: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Quantiles (quantile, *lead) and means (*lead) over the last axis; a probability
        (the mean of a 0/1 event) gets its mean alone. ``extra`` levels are read in the
        same pass and come after the quantiles.

        ``array`` may live on a GPU; the backend's reducer reads it where it is.
        """
        shape = tuple(array.shape)  # a plain tuple: device array shapes refuse negative indices
        lead = shape[:-1]
        wanted = self.quantiles if VARIABLES[name].stat == "quantiles" else self.quantiles[:0]
        if extra is not None:
            wanted = np.concatenate([wanted, extra])
        q, means = self.reduce(reshape(array, (-1, shape[-1])), wanted)
        return np.moveaxis(q.reshape(*lead, -1), -1, 0), means.reshape(lead)

    def _bound_levels(self, n: int) -> np.ndarray:
        """Levels (rank - 1) / (n - 1) that land on the order statistics bounding each
        quantile's 95% interval: every lower rank, then every upper one."""
        low, high = order_statistic_ranks(np.array(n), self.quantiles)
        return (np.concatenate([low, high]) - 1) / max(n - 1, 1)

    def add_window(self, t0: int, values: dict[str, np.ndarray]) -> None:
        """Add steps ``t0 ..`` from arrays shaped (window steps, *lead dims, trajectories)."""
        for name, array in values.items():
            shape = tuple(array.shape)
            count, lead = shape[0], shape[1:-1]
            if name not in self.step_means:
                self.step_means[name] = np.empty((*lead, self.steps))
                if VARIABLES[name].stat == "quantiles":
                    self.step_stats[name] = np.empty((len(self.quantiles), *lead, self.steps))
            # The rows are finite (a per-step output that is not stops the run), so each has
            # n values and the same bounding ranks, read in the quantiles' own pass.
            extra = self._bound_levels(shape[-1]) if name in _BOUNDS else None
            q, means = self._reduce(name, array, extra)  # (levels, steps, *lead), (steps, *lead)
            m = len(self.quantiles)
            self.step_means[name][..., t0 : t0 + count] = np.moveaxis(means, 0, -1)
            if name in self.step_stats:
                self.step_stats[name][..., t0 : t0 + count] = np.moveaxis(q[:m], 1, -1)
            if extra is not None:
                for bound_name, bound in zip(
                    _BOUNDS[name], (q[m : 2 * m], q[2 * m :]), strict=True
                ):
                    if bound_name not in self.step_stats:
                        self.step_stats[bound_name] = np.empty((m, *lead, self.steps))
                    self.step_stats[bound_name][..., t0 : t0 + count] = np.moveaxis(bound, 1, -1)

    def add_horizon(self, values: dict[str, np.ndarray]) -> None:
        host = {name: np.asarray(array, dtype=np.float64) for name, array in values.items()}
        for name, array in host.items():
            q, means = self._reduce(name, array)
            self.horizon_means[name] = means
            if VARIABLES[name].stat == "quantiles":
                self.horizon_stats[name] = q
            self.exceedance.add(name, array)
            if name in _BOUNDS:
                bounds = quantile_bounds(array, self.quantiles)
                for bound_name, bound in zip(_BOUNDS[name], bounds, strict=True):
                    self.horizon_stats[bound_name] = bound
        for variable in VARIABLES.values():
            if variable.cvar_of in host:
                self.horizon_stats[variable.name] = tail_mean(
                    host[variable.cvar_of], self.quantiles
                )

    def finish(self) -> None:
        """Nothing left to compute: windows were reduced as they came."""
