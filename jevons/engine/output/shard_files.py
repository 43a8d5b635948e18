"""Partial results: a sketched run's open summaries on disk, to merge later.

``jevons run --shard i/n`` simulates one slice of the trajectories and writes
its sketches (not its percentiles) with everything needed to check and finish
them; ``jevons merge`` adds the slices' sketches, which is exact: the merged
counts are those of one run over all trajectories.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import xarray as xr

from jevons.engine.summaries.sketch import RowSketches, SketchSpec
from jevons.engine.summaries.sketched import SketchSummary
from jevons.errors import JevonsError

KIND = "jevons partial summary, sketch keys from float64 bits"
_SEP = "__"


@dataclass(frozen=True)
class Shard:
    index: int  # 0-based
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"i/n"`` with 1 <= i <= n (as Slurm array indices are usually written)."""
        try:
            i, n = (int(part) for part in text.split("/"))
        except ValueError:
            raise JevonsError(f"--shard takes I/N (e.g. 3/16), got {text!r}") from None
        if not 1 <= i <= n:
            raise JevonsError(f"--shard {text}: I must lie between 1 and N")
        return cls(i - 1, n)

    def trajectory_range(self, n: int) -> tuple[int, int]:
        """Contiguous, near-equal slices that together cover 0 .. n - 1 once."""
        return self.index * n // self.count, (self.index + 1) * n // self.count


def scenario_digest(scenario_text: str) -> str:
    return hashlib.sha256(scenario_text.encode()).hexdigest()[:16]


def to_dataset(summary: SketchSummary, attrs: dict) -> xr.Dataset:
    """The summary's sketches as plain arrays (NetCDF and Zarr hold them as they are)."""
    data_vars = {}
    for scope, table in (("step", summary.step_sketches), ("horizon", summary.horizon_sketches)):
        for name, sketch in table.items():
            prefix = f"{scope}{_SEP}{name}{_SEP}"
            rows, width = f"{prefix}rows", f"{prefix}width"
            for field, array in sketch.to_arrays().items():
                if field == "relative_accuracy":
                    continue
                dims = (rows, width) if array.ndim == 2 else (rows,)
                data_vars[prefix + field] = (dims, array)
            data_vars[prefix + "lead_shape"] = (
                (f"{prefix}lead",),
                np.asarray(summary.lead_shapes[name], dtype=np.int64),
            )
    ds = xr.Dataset(data_vars)
    ds.attrs.update(attrs)
    ds.attrs.update(
        kind=KIND,
        relative_accuracy=summary.spec.relative_accuracy,
        quantiles=np.asarray(summary.quantiles),
        steps=summary.steps,
    )
    return ds


def from_dataset(ds: xr.Dataset, compiled: bool = True) -> SketchSummary:
    if ds.attrs.get("kind") != KIND:
        raise JevonsError("not a partial result of `jevons run --shard` (no sketches in it)")
    spec = SketchSpec(float(ds.attrs["relative_accuracy"]))
    summary = SketchSummary(
        [float(q) for q in np.atleast_1d(ds.attrs["quantiles"])], int(ds.attrs["steps"]), spec,
        compiled,
    )  # fmt: skip
    fields: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for var in ds.data_vars:
        scope, name, field = str(var).split(_SEP)
        fields.setdefault((scope, name), {})[field] = ds[var].values
    for (scope, name), arrays in fields.items():
        lead = tuple(int(x) for x in arrays.pop("lead_shape"))
        arrays["relative_accuracy"] = np.float64(spec.relative_accuracy)
        table = summary.step_sketches if scope == "step" else summary.horizon_sketches
        table[name] = RowSketches.from_arrays(arrays)
        summary.lead_shapes[name] = lead
    return summary
