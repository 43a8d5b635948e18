"""Assembling summaries into an ``xarray.Dataset`` and writing it atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import xarray as xr

from jevons.engine.plan import ModelPlan
from jevons.engine.summary import ExactSummary
from jevons.engine.variables import VARIABLES
from jevons.errors import JevonsError


def _attrs(name: str, suffix: str = "") -> dict[str, str]:
    v = VARIABLES[name]
    return {"units": v.units, "long_name": v.description + suffix}


def build_dataset(summary: ExactSummary, plan: ModelPlan, provenance: dict) -> xr.Dataset:
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


def check_writable(path: str | Path) -> Path:
    """Fail before any work if ``path`` cannot be written."""
    path = Path(path)
    if path.is_dir():
        raise JevonsError(
            f"output {path} is a directory; give a file name such as {path / 'run.nc'}"
        )
    if not path.parent.exists():
        raise JevonsError(f"output folder {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK):
        raise JevonsError(f"output folder {path.parent} is not writable")
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_netcdf(ds: xr.Dataset, path: str | Path) -> Path:
    """Write ``ds`` to NetCDF-4 via a temporary file and an atomic rename.

    A reader never sees a half-written file, and an interrupted write leaves
    any earlier file at ``path`` untouched.
    """
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
