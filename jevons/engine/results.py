"""Assembling summaries into an ``xarray.Dataset`` and writing it atomically."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

from jevons.engine.summary import Summary
from jevons.engine.variables import VARIABLES
from jevons.errors import JevonsError
from jevons.kernels.contract import (
    PARAMETER_PATHS,
    PARAMETER_UNITS,
    SURGE_MULTIPLIER_UNITS,
    ModelPlan,
    TrajectoryInputs,
    surge_path,
)


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
    for name, means in summary.horizon_means.items():
        v = VARIABLES[name]
        if v.stat == "probability":
            data_vars[name] = (v.lead_dims, means, _attrs(name))
            continue
        data_vars[f"{name}_mean"] = (v.lead_dims, means, _attrs(name, " (mean)"))
    for name, stats in summary.horizon_stats.items():
        data_vars[name] = (("quantile", *VARIABLES[name].lead_dims), stats, _attrs(name))
    ds = xr.Dataset(data_vars, coords=coords, attrs=provenance)
    ds["quantile"].attrs["long_name"] = "quantile over trajectories"
    ds["time"].attrs["long_name"] = f"start of each {plan.step_hours}-hour step"
    return ds


PER_TRAJECTORY_TOTALS = ("total_tokens", "total_cost", "max_peak_gpus", "horizon_cost_per_mtok")


def add_trajectories(
    ds: xr.Dataset,
    trajectories: np.ndarray,
    inputs: TrajectoryInputs,
    totals: dict[str, np.ndarray],
    surge_names: tuple[str, ...],
) -> xr.Dataset:
    """Each trajectory's uncertain inputs and horizon totals, for sensitivity analysis.

    Inputs that are fixed in the scenario are left out (they explain nothing).
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
    for name in PER_TRAJECTORY_TOTALS:
        v = VARIABLES[name]
        data_vars[f"trajectory_{name}"] = (
            (*v.lead_dims, "trajectory"),
            totals[name],
            {"units": v.units, "long_name": v.description},
        )
    extra = xr.Dataset(data_vars, coords={"trajectory": trajectories.astype(np.int64)})
    return xr.merge([ds, extra], combine_attrs="override")


FORMATS = {".nc": "netcdf", ".zarr": "zarr"}


def output_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise JevonsError(
            f"output {path}: unknown format '{path.suffix}'; use .nc (NetCDF) or .zarr (Zarr)"
        )
    return fmt


def check_writable(path: str | Path) -> Path:
    """Fail before any work if ``path`` cannot be written."""
    path = Path(path)
    fmt = output_format(path)
    if path.is_dir() and fmt != "zarr":
        raise JevonsError(
            f"output {path} is a directory; give a file name such as {path / 'run.nc'}"
        )
    if (
        fmt == "zarr"
        and path.exists()
        and not (path / "zarr.json").exists()
        and not (path / ".zgroup").exists()
    ):
        raise JevonsError(f"output {path} exists and is not a Zarr store; it is left alone")
    if not path.parent.is_dir():
        raise JevonsError(f"output folder {path.parent} does not exist (or is not a folder)")
    if not os.access(path.parent, os.W_OK):
        raise JevonsError(f"output folder {path.parent} is not writable")
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_dataset(ds: xr.Dataset, path: str | Path) -> Path:
    """Write ``ds`` as NetCDF (``.nc``) or Zarr (``.zarr``), atomically.

    Both go to a temporary name beside ``path`` and are renamed into place, so a
    reader never sees a half-written result and an interrupted write leaves
    any earlier result at ``path`` untouched.
    """
    path = check_writable(path)
    if output_format(path) == "zarr":
        return _write_zarr(ds, path)
    return write_netcdf(ds, path)


def write_netcdf(ds: xr.Dataset, path: str | Path) -> Path:
    path = check_writable(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        encoding = {name: {"zlib": True, "complevel": 4} for name in ds.data_vars}
        ds.to_netcdf(tmp, engine="netcdf4", encoding=encoding)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; give it a normal file's mode
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return path


def _write_zarr(ds: xr.Dataset, path: Path) -> Path:
    # A directory cannot replace another in one rename: the old store is renamed
    # aside first, and removed only once the new one is in place.
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    old = path.parent / f".{path.name}.old"
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        ds.to_zarr(tmp, mode="w", zarr_format=2, consolidated=True)
        if path.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return path


def open_result(path: str | Path) -> xr.Dataset:
    """Read a result (or partial result) written by :func:`write_dataset`, into memory."""
    path = Path(path)
    if not path.exists():
        raise JevonsError(f"{path}: no such file")
    try:
        if output_format(path) == "zarr":
            return xr.open_zarr(path).load()
        with xr.open_dataset(path, engine="netcdf4") as ds:
            return ds.load()
    except (OSError, ValueError, KeyError) as exc:
        raise JevonsError(f"{path}: cannot read it as a jevons result ({exc})") from None
