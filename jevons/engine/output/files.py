"""Result files: NetCDF or Zarr, written atomically (a temporary name, then a rename)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import xarray as xr

from jevons.errors import JevonsError

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
