"""Percentile summaries over trajectories: exact, or a mergeable sketch.

Values arrive a block of steps at a time, shaped (steps in block, *lead dims,
trajectories), and are reduced at once, so memory never holds the whole
(trajectory x time) matrix.

* :class:`ExactSummary` needs every trajectory of a block together (one chunk):
  exact quantiles, by NumPy's ``nanquantile`` (the reference) or
  :func:`jevons.kernels.quantiles.summarise_rows` (all cores, the compiled
  backends) or on the GPU.
* :class:`SketchSummary` takes trajectories in any number of chunks and keeps a
  DDSketch per (variable, step, lead index): quantiles within a stated
  relative error, memory set by the values' range, not their number, and
  sketches of separate runs merge exactly (shards, Dask workers).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from jevons.engine.sketch import RowSketches, SketchSpec
from jevons.engine.tails import tail_counts
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
    """CVaR (quantile, *lead): mean of the tail at each quantile, along the last axis.

    The tail at ``q`` is the worst ``ceil((1 - q) n)`` values (at least one), ``q``
    taken as the decimal it is written as (:func:`jevons.engine.tails.tail_counts`).
    """
    ordered = np.sort(values, axis=-1)
    n = ordered.shape[-1]
    csum = np.cumsum(ordered[..., ::-1], axis=-1)[..., ::-1]  # csum[i] = sum(ordered[i:])
    counts = tail_counts(quantiles, np.array(n))
    return np.stack([csum[..., n - count] / count for count in counts], axis=0)


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

    def finish(self) -> None:
        """Nothing left to compute: blocks were reduced as they came."""


def _host(array) -> np.ndarray:
    """A NumPy view of ``array``; device arrays are copied to the host."""
    if isinstance(array, np.ndarray):
        return array
    if hasattr(array, "copy_to_host"):  # numba.cuda device array
        return array.copy_to_host()
    return np.asarray(array)


def _on_gpu(array) -> bool:
    return hasattr(array, "copy_to_host")  # a numba.cuda device array


def _add_on_device(sketch: RowSketches, rows_on_device, rows: slice) -> None:
    """Bucket a block's rows where they live; only per-row numbers and counts come back."""
    from jevons.engine.sketch import ZERO_THRESHOLD
    from jevons.kernels.cuda_sketch import sketch_rows_on_device

    zero_bits = int(np.float64(ZERO_THRESHOLD).view(np.int64))
    stats_i, stats_f, counts = sketch_rows_on_device(rows_on_device, sketch.spec.shift, zero_bits)
    if stats_i[:, 2].any():
        raise ValueError("sketched values must be non-negative and finite (NaN is skipped)")
    statistics = {
        "value_count": stats_i[:, 0], "zero_count": stats_i[:, 1], "value_sum": stats_f[:, 0],
        "value_min": stats_f[:, 1], "value_max": stats_f[:, 2],
    }  # fmt: skip
    bucketed = stats_i[:, 3] <= stats_i[:, 4]
    sketch.add_counts(rows, np.where(bucketed, stats_i[:, 3], 0), counts, statistics)


class SketchSummary:
    """Sketches of every variable, filled chunk by chunk; :meth:`finish` reports them.

    Step variables get one :class:`RowSketches` each, row ``t * L + l`` for step
    ``t`` and lead index ``l`` (``L`` lead cells); horizon variables one row per
    lead index. After :meth:`finish` the results sit in the same attributes as
    :class:`ExactSummary`'s.
    """

    def __init__(
        self,
        quantiles: list[float],
        steps: int,
        spec: SketchSpec | None = None,
        compiled: bool = True,
    ):
        self.quantiles = np.asarray(quantiles, dtype=np.float64)
        self.steps = steps
        self.spec = spec or SketchSpec()
        self.compiled = compiled
        self.step_sketches: dict[str, RowSketches] = {}
        self.horizon_sketches: dict[str, RowSketches] = {}
        self.lead_shapes: dict[str, tuple[int, ...]] = {}
        self.step_stats: dict[str, np.ndarray] = {}
        self.step_means: dict[str, np.ndarray] = {}
        self.horizon_stats: dict[str, np.ndarray] = {}
        self.horizon_means: dict[str, np.ndarray] = {}

    def empty_like(self) -> SketchSummary:
        """A new, empty summary with the same settings (a chunk's scratch space)."""
        return SketchSummary(list(self.quantiles), self.steps, self.spec, self.compiled)

    def _sketch(self, table: dict[str, RowSketches], name: str, rows: int) -> RowSketches:
        if name not in table:
            table[name] = RowSketches(rows, self.spec)
        return table[name]

    def add_block(self, t0: int, values: dict[str, np.ndarray]) -> None:
        for name, array in values.items():
            shape = tuple(array.shape)  # a plain tuple: device array shapes refuse slicing
            count, lead, n = shape[0], shape[1:-1], shape[-1]
            cells = int(np.prod(lead, dtype=np.int64))
            self.lead_shapes[name] = lead
            sketch = self._sketch(self.step_sketches, name, self.steps * cells)
            rows = slice(t0 * cells, (t0 + count) * cells)
            if _on_gpu(array):
                _add_on_device(sketch, array.reshape(count * cells, n), rows)
            else:
                sketch.add(array.reshape(count * cells, n), rows=rows, compiled=self.compiled)

    def add_horizon(self, values: dict[str, np.ndarray]) -> None:
        """Add one chunk's per-trajectory horizon values, shaped (*lead dims, trajectories)."""
        for name, array in values.items():
            array = np.asarray(_host(array), dtype=np.float64)
            lead = array.shape[:-1]
            self.lead_shapes[name] = lead
            cells = int(np.prod(lead, dtype=np.int64))
            sketch = self._sketch(self.horizon_sketches, name, cells)
            sketch.add(array.reshape(cells, -1), compiled=self.compiled)

    def merge(self, other: SketchSummary) -> None:
        """Add another run's sketches of other trajectories (a shard, a worker's chunks)."""
        for mine, theirs in (
            (self.step_sketches, other.step_sketches),
            (self.horizon_sketches, other.horizon_sketches),
        ):
            for name, sketch in theirs.items():
                if name in mine:
                    mine[name].merge(sketch)
                else:
                    mine[name] = sketch
        self.lead_shapes.update(other.lead_shapes)

    def finish(self) -> None:
        m = len(self.quantiles)
        for name, sketch in self.step_sketches.items():
            lead = self.lead_shapes[name]
            means = sketch.means().reshape(self.steps, *lead)
            self.step_means[name] = np.moveaxis(means, 0, -1)
            if VARIABLES[name].stat == "quantiles":
                q = sketch.quantiles(self.quantiles).reshape(self.steps, *lead, m)
                self.step_stats[name] = np.moveaxis(np.moveaxis(q, -1, 0), 1, -1)
        for name, sketch in self.horizon_sketches.items():
            lead = self.lead_shapes[name]
            self.horizon_means[name] = sketch.means().reshape(lead)
            if VARIABLES[name].stat == "quantiles":
                q = sketch.quantiles(self.quantiles).reshape(*lead, m)
                self.horizon_stats[name] = np.moveaxis(q, -1, 0)
        for variable in VARIABLES.values():
            if variable.cvar_of in self.horizon_sketches:
                source = self.horizon_sketches[variable.cvar_of]
                lead = self.lead_shapes[variable.cvar_of]
                tails = source.tail_means(self.quantiles).reshape(*lead, m)
                self.horizon_stats[variable.name] = np.moveaxis(tails, -1, 0)


Summary = ExactSummary | SketchSummary


def add_scaled_variables(summary: Summary, all_in_price: np.ndarray, power: np.ndarray) -> None:
    """Per-step cost and energy from gpu_hours' statistics, per hardware profile.

    Per step, ``energy = gpu_hours x power`` and ``cost = gpu_hours x (price +
    power x energy price)``, constants per profile: scaling by a positive
    constant commutes with every quantile, the mean and the sketch, so the
    kernels neither write nor reduce these two rows.
    """
    for name, factor in (("cost", all_in_price), ("energy_kwh", power)):
        per_hardware = np.asarray(factor, dtype=np.float64)[:, None]  # (hardware, steps)
        summary.step_means[name] = summary.step_means["gpu_hours"] * per_hardware
        summary.step_stats[name] = summary.step_stats["gpu_hours"] * per_hardware
