"""Sketched percentile summaries: any number of chunks, merged exactly.

A DDSketch per (variable, step, lead index) (:mod:`jevons.engine.summaries.sketch`):
quantiles within a stated relative error, memory set by the values' range,
not their number, and sketches of separate runs merge exactly (shards, Dask
workers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from jevons.engine.summaries.confidence import order_statistic_ranks
from jevons.engine.summaries.exceedance import ExceedanceCounts
from jevons.engine.summaries.signed import (
    negated_name,
    signed_means,
    signed_quantiles,
    split_signed,
)
from jevons.engine.summaries.sketch import RowSketches, SketchSpec
from jevons.kernels.array_api import to_numpy
from jevons.kernels.variables import CONFIDENCE_BOUNDS, SIGNED, VARIABLES


def _on_gpu(array) -> bool:
    return hasattr(array, "copy_to_host")  # a numba.cuda device array


def _add_on_device(sketch: RowSketches, rows_on_device, rows: slice) -> None:
    """Bucket a window's rows where they live; only per-row numbers and counts come back."""
    from jevons.engine.summaries.sketch import ZERO_THRESHOLD
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
    :class:`ExactSummary`'s. Exceedance probabilities are counted, not sketched: exact.
    """

    def __init__(
        self,
        quantiles: list[float],
        steps: int,
        spec: SketchSpec | None = None,
        compiled: bool = True,
        thresholds: Mapping[str, Sequence[float]] | None = None,
    ):
        self.quantiles = np.asarray(quantiles, dtype=np.float64)
        self.steps = steps
        self.spec = spec or SketchSpec()
        self.compiled = compiled
        self.exceedance = ExceedanceCounts(thresholds or {})
        self.step_sketches: dict[str, RowSketches] = {}
        self.horizon_sketches: dict[str, RowSketches] = {}
        self.lead_shapes: dict[str, tuple[int, ...]] = {}
        self.step_stats: dict[str, np.ndarray] = {}
        self.step_means: dict[str, np.ndarray] = {}
        self.horizon_stats: dict[str, np.ndarray] = {}
        self.horizon_means: dict[str, np.ndarray] = {}

    def empty_like(self) -> SketchSummary:
        """A new, empty summary with the same settings (a chunk's scratch space)."""
        return SketchSummary(
            list(self.quantiles), self.steps, self.spec, self.compiled, self.exceedance.thresholds
        )

    def _sketch(self, table: dict[str, RowSketches], name: str, rows: int) -> RowSketches:
        if name not in table:
            table[name] = RowSketches(rows, self.spec)
        return table[name]

    def add_window(self, t0: int, values: dict[str, np.ndarray]) -> None:
        for name, array in _with_signed_split(values).items():
            shape = tuple(array.shape)  # a plain tuple: device array shapes refuse slicing
            count, lead, n = shape[0], shape[1:-1], shape[-1]
            cells = int(np.prod(lead, dtype=np.int64))
            self.lead_shapes[name] = lead
            sketch = self._sketch(self.step_sketches, name, self.steps * cells)
            rows = slice(t0 * cells, (t0 + count) * cells)
            if _on_gpu(array):
                _add_on_device(sketch, array.reshape(count * cells, n), rows)
            else:
                host = to_numpy(array).reshape(count * cells, n)
                sketch.add(host, rows=rows, compiled=self.compiled)

    def add_horizon(self, values: dict[str, np.ndarray]) -> None:
        """Add one chunk's per-trajectory horizon values, shaped (*lead dims, trajectories)."""
        for name, array in _with_signed_split(values).items():
            array = np.asarray(to_numpy(array), dtype=np.float64)
            lead = array.shape[:-1]
            self.lead_shapes[name] = lead
            cells = int(np.prod(lead, dtype=np.int64))
            sketch = self._sketch(self.horizon_sketches, name, cells)
            sketch.add(array.reshape(cells, -1), compiled=self.compiled)
            self.exceedance.add(name, array)

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
        self.exceedance.merge(other.exceedance)

    def finish(self) -> None:
        for step, sketches, stats, means in (
            (True, self.step_sketches, self.step_stats, self.step_means),
            (False, self.horizon_sketches, self.horizon_stats, self.horizon_means),
        ):
            for name, sketch in sketches.items():
                if name not in VARIABLES:
                    continue  # the negated part of a signed variable, read with it
                if name in SIGNED:
                    negated = sketches[negated_name(name)]
                    mean = signed_means(sketch, negated)
                    q = signed_quantiles(sketch, negated, self.quantiles)
                else:
                    mean = sketch.means()
                    quantiles = VARIABLES[name].stat == "quantiles"
                    q = sketch.quantiles(self.quantiles) if quantiles else None
                means[name] = self._laid_out(mean, name, step)
                if q is not None:
                    stats[name] = self._laid_out(q, name, step)
                if name in CONFIDENCE_BOUNDS:
                    for bound_name, bound in zip(
                        CONFIDENCE_BOUNDS[name], self._confidence_bounds(sketch), strict=True
                    ):
                        stats[bound_name] = self._laid_out(bound, name, step)
        for variable in VARIABLES.values():
            if variable.cvar_of in self.horizon_sketches:
                source = self.horizon_sketches[variable.cvar_of]
                tails = source.tail_means(self.quantiles)
                self.horizon_stats[variable.name] = self._laid_out(tails, variable.cvar_of, False)

    def _confidence_bounds(self, sketch: RowSketches) -> tuple[np.ndarray, np.ndarray]:
        """95% bounds (rows, m) of each quantile: the bounding order statistics (ranks from
        each row's own count), widened by the sketch's accuracy so they still hold them."""
        low, high = order_statistic_ranks(sketch.value_count[:, None], self.quantiles)
        m = len(self.quantiles)
        lower, upper = sketch.order_statistic_bounds(np.concatenate([low, high], axis=1))
        return lower[:, :m], upper[:, m:]

    def _laid_out(self, per_row: np.ndarray, name: str, step: bool) -> np.ndarray:
        """Per-row values, (rows,) or (rows, quantile), as the summary reports them:
        ([quantile,] *lead, steps) for a step variable, ([quantile,] *lead) otherwise."""
        by_quantile = per_row.ndim == 2
        leading = (self.steps,) if step else ()
        values = per_row.reshape((*leading, *self.lead_shapes[name], *per_row.shape[1:]))
        if by_quantile:
            values = np.moveaxis(values, -1, 0)
        return np.moveaxis(values, int(by_quantile), -1) if step else values


def _with_signed_split(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``values`` with each signed variable as its two parts (:mod:`.signed`); those are
    brought to the host (a device array of margins is split there)."""
    if not any(name in SIGNED for name in values):
        return values
    split = {}
    for name, array in values.items():
        if name in SIGNED:
            split[name], split[negated_name(name)] = split_signed(to_numpy(array))
        else:
            split[name] = array
    return split
