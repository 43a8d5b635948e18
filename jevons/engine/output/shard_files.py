"""Partial results: a sketched run's open summaries on disk, to merge later.

``jevons run --shard i/n`` simulates one slice of the trajectories and writes
its sketches (not its percentiles) with everything needed to check and finish
them; ``jevons merge`` adds the slices' sketches, which is exact: the merged
counts are those of one run over all trajectories.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from jevons.engine.output.files import FORMATS, open_result
from jevons.engine.summaries.sketch import RowSketches, SketchSpec
from jevons.engine.summaries.sketched import SketchSummary
from jevons.errors import JevonsError
from jevons.kernels.variables import VARIABLES

KIND = "jevons partial summary, sketch keys from float64 bits"
_SEP = "__"

# What every shard holds: these attributes, and per sketched variable these arrays.
ATTRIBUTES = (
    "scenario", "scenario_digest", "seed", "trajectories", "shard_index", "shard_count",
    "trajectory_start", "trajectory_stop", "backend", "jevons_version", "relative_accuracy",
    "quantiles", "steps",
)  # fmt: skip
FIELDS = (
    "bucket_counts", "key_offset", "value_count", "zero_count", "value_sum", "value_min",
    "value_max", "lead_shape",
)  # fmt: skip
# Per variable with thresholds, its exceedance counts: (threshold, lead cells) counts, the
# thresholds, the lead shape and the trajectories counted.
EXCEEDANCE_SCOPE = "exceedance"
EXCEEDANCE_FIELDS = ("count", "threshold", "lead_shape", "trajectories")
_SCOPE_FIELDS = {"step": FIELDS, "horizon": FIELDS, EXCEEDANCE_SCOPE: EXCEEDANCE_FIELDS}


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
    exceedance = summary.exceedance
    for name, counts in exceedance.counts.items():
        prefix = f"{EXCEEDANCE_SCOPE}{_SEP}{name}{_SEP}"
        dim = f"{prefix}level"  # not the name of a variable, or it would become a coordinate
        data_vars[prefix + "count"] = ((dim, f"{prefix}cells"), counts.reshape(len(counts), -1))
        data_vars[prefix + "threshold"] = ((dim,), exceedance.thresholds[name])
        data_vars[prefix + "lead_shape"] = (
            (f"{prefix}lead",),
            np.asarray(counts.shape[1:], dtype=np.int64),
        )
        data_vars[prefix + "trajectories"] = ((), np.int64(exceedance.trajectories[name]))
    ds = xr.Dataset(data_vars)
    ds.attrs.update(attrs)
    ds.attrs.update(
        kind=KIND,
        relative_accuracy=summary.spec.relative_accuracy,
        quantiles=np.asarray(summary.quantiles),
        steps=summary.steps,
    )
    return ds


def read_shard(path: str | Path) -> xr.Dataset:
    """A shard file written by ``jevons run --shard``, read and checked (:func:`check_shard`)."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise JevonsError(
            f"{path}: not a jevons shard file (unknown input format '{path.suffix}';"
            " shards are .nc or .zarr files from `jevons run --shard I/N`)"
        )
    if path.suffix.lower() == ".nc" and path.is_dir():
        raise JevonsError(f"{path}: not a jevons shard file (a folder)")
    ds = open_result(path)
    check_shard(ds, str(path))
    return ds


def refuse_shard(ds: xr.Dataset, source: str) -> None:
    """A shard holds sketches, not percentiles: a command that reads a finished result
    refuses one, saying how to finish it, rather than chart or export its sketches."""
    if ds.attrs.get("kind") != KIND:
        return
    count = ds.attrs.get("shard_count")
    which = f" ({int(ds.attrs['shard_index']) + 1} of {count})" if count is not None else ""
    raise JevonsError(
        f"{source}: a shard of a run{which}, not a result; merge all its shards with"
        " `jevons merge SHARD... -o RESULT`, then use RESULT"
    )


def _not_a_shard(source: str, what: str) -> JevonsError:
    return JevonsError(f"{source}: not a jevons shard ({what})")


def sketch_groups(ds: xr.Dataset, source: str) -> dict[tuple[str, str], set[str]]:
    """``(scope, variable) -> fields`` of a shard's data variables."""
    groups: dict[tuple[str, str], set[str]] = {}
    for var in ds.data_vars:
        parts = str(var).split(_SEP)
        if len(parts) != 3 or parts[2] not in _SCOPE_FIELDS.get(parts[0], ()):
            raise _not_a_shard(source, f"unexpected variable '{var}'")
        scope, name, field = parts
        groups.setdefault((scope, name), set()).add(field)
    return groups


def check_shard(ds: xr.Dataset, source: str) -> None:
    """Refuse anything but a complete shard, naming ``source`` and what is missing."""
    if ds.attrs.get("kind") != KIND:
        if "summary" in ds.attrs and "jevons_version" in ds.attrs:
            raise _not_a_shard(
                source, "a finished result of `jevons run`; shards come from `jevons run --shard`"
            )
        raise _not_a_shard(source, "attribute 'kind' missing or not a shard's")
    for name in ATTRIBUTES:
        if name not in ds.attrs:
            raise _not_a_shard(source, f"attribute '{name}' missing")
    groups = sketch_groups(ds, source)
    if not groups:
        raise _not_a_shard(source, "no sketches in it")
    for (scope, name), fields in groups.items():
        for field in _SCOPE_FIELDS[scope]:
            if field not in fields:
                raise _not_a_shard(source, f"variable '{scope}{_SEP}{name}{_SEP}{field}' missing")


def check_same_thresholds(partials: Sequence[xr.Dataset], sources: Sequence[str]) -> None:
    """Refuse shards (holding the same variables) that counted exceedances of other thresholds."""
    for var in partials[0].data_vars:
        scope, name, field = str(var).split(_SEP)
        if (scope, field) != (EXCEEDANCE_SCOPE, "threshold"):
            continue
        first = partials[0][var].values
        for ds, source in zip(partials[1:], sources[1:], strict=True):
            theirs = ds[var].values
            if not np.array_equal(first, theirs):
                raise JevonsError(
                    f"{source}: its {name} thresholds ({theirs.tolist()}) differ from"
                    f" {sources[0]}'s ({first.tolist()}); shards must come from one run"
                    " (the same risk.thresholds and --threshold)"
                )


def from_dataset(ds: xr.Dataset, compiled: bool = True, source: str = "shard") -> SketchSummary:
    """The sketches of a shard (checked by :func:`check_shard`), ready to merge."""
    check_shard(ds, source)
    try:
        spec = SketchSpec(float(ds.attrs["relative_accuracy"]))
        steps = int(ds.attrs["steps"])
        fields: dict[tuple[str, str], dict[str, np.ndarray]] = {}
        for var in ds.data_vars:
            scope, name, field = str(var).split(_SEP)
            fields.setdefault((scope, name), {})[field] = ds[var].values
        counted = {
            name: arrays for (scope, name), arrays in fields.items() if scope == EXCEEDANCE_SCOPE
        }
        summary = SketchSummary(
            [float(q) for q in np.atleast_1d(ds.attrs["quantiles"])], steps, spec, compiled,
            {name: arrays["threshold"] for name, arrays in counted.items()},
        )  # fmt: skip
        for name, arrays in counted.items():
            _read_counts(summary, name, arrays)
        for (scope, name), arrays in fields.items():
            if scope == EXCEEDANCE_SCOPE:
                continue
            lead = tuple(int(x) for x in arrays.pop("lead_shape"))
            arrays["relative_accuracy"] = np.float64(spec.relative_accuracy)
            sketch = RowSketches.from_arrays(arrays)
            rows = int(np.prod(lead, dtype=np.int64)) * (steps if scope == "step" else 1)
            if sketch.rows != rows:
                raise ValueError(f"'{scope}{_SEP}{name}' has {sketch.rows} rows, not {rows}")
            table = summary.step_sketches if scope == "step" else summary.horizon_sketches
            table[name] = sketch
            summary.lead_shapes[name] = lead
    except (TypeError, ValueError) as exc:
        raise _not_a_shard(source, str(exc)) from None
    return summary


def _read_counts(summary: SketchSummary, name: str, arrays: dict[str, np.ndarray]) -> None:
    """A shard's exceedance counts of ``name`` into ``summary`` (its thresholds already set)."""
    if name not in VARIABLES or VARIABLES[name].scope != "horizon":
        raise ValueError(f"exceedance counts of '{name}', not a horizon variable")
    thresholds = summary.exceedance.thresholds.get(name)
    if thresholds is None or not np.array_equal(thresholds, arrays["threshold"]):
        raise ValueError(f"the {name} thresholds are not ascending and distinct")
    lead = tuple(int(x) for x in arrays["lead_shape"])
    counts = np.asarray(arrays["count"])
    trajectories = int(arrays["trajectories"])
    if counts.shape != (len(thresholds), int(np.prod(lead, dtype=np.int64))):
        raise ValueError(f"the {name} exceedance counts have shape {counts.shape}")
    if counts.dtype.kind not in "iu" or (counts < 0).any() or (counts > trajectories).any():
        raise ValueError(f"the {name} exceedance counts are not counts of {trajectories}")
    summary.exceedance.counts[name] = counts.astype(np.int64).reshape(len(thresholds), *lead)
    summary.exceedance.trajectories[name] = trajectories
