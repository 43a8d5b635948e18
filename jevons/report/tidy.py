"""A result as one tidy long table: one row per number, labelled by its coordinates.

Spreadsheets and BI tools read long tables directly: each row holds one
variable's value at one point of its dims (time, quantile, hardware, fleet
size, sweep keys, period, threshold, ...), with the variable's units. A
column of a dim that a variable lacks is empty (null) in that variable's rows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from jevons.engine.output.files import write_file
from jevons.errors import JevonsError

# Dims placed first, in this order; sweep dims follow them, then every other dim in the
# Dataset's order, and the trajectory dim last.
LEADING_DIMS = ("time", "quantile", "hardware", "fleet_size")
TRAJECTORY_DIM = "trajectory"
FORMATS = {"csv": ".csv", "parquet": ".parquet"}

# A variable whose units differ by label (tornado medians, in each output's units) names
# the coordinate that holds them: "... (see output_units)".
_UNITS_BY_LABEL = re.compile(r"\(see (\w+)\)")


def exported_names(ds: xr.Dataset, trajectories: bool = False) -> list[Hashable]:
    """The numeric variables of ``ds`` in its order, then its numeric coordinates that
    are not dims (each hardware profile's nominal rates, say). Variables along the
    trajectory dim (kept inputs and totals) only if ``trajectories``."""
    names = list(ds.data_vars) + [name for name in ds.coords if name not in ds.dims]
    return [
        name
        for name in names
        if ds[name].dtype.kind in "iufb" and (trajectories or TRAJECTORY_DIM not in ds[name].dims)
    ]


def _column_dims(ds: xr.Dataset, names: list[Hashable]) -> list[Hashable]:
    used = {dim for name in names for dim in ds[name].dims}
    swept = [dim for dim in ds.dims if "sweep_key" in ds[dim].attrs]
    order = [*LEADING_DIMS, *swept, *(d for d in ds.dims if d != TRAJECTORY_DIM), TRAJECTORY_DIM]
    return [dim for dim in dict.fromkeys(order) if dim in used]


def _units(da: xr.DataArray) -> np.ndarray | str:
    """The units of each element of ``da``: its ``units`` attribute, or per label where
    that attribute points at a coordinate of units."""
    units = str(da.attrs.get("units", ""))
    match = _UNITS_BY_LABEL.search(units)
    if match and match[1] in da.coords:
        return da[match[1]].broadcast_like(da).transpose(*da.dims).values.ravel()
    return units


def _column_dtype(index: pd.Index) -> str:
    """A dtype that holds the dim's labels and a missing value (rows without the dim)."""
    kind = index.dtype.kind
    if kind in "iu":
        return "Int64"
    if kind == "f":
        return "float64"
    if kind == "M":
        return "datetime64[ns]"
    return "string"


def tidy_table(ds: xr.Dataset, *, trajectories: bool = False) -> pd.DataFrame:
    """Every number of ``ds`` as a long table.

    Columns: ``variable``; one per dim used (``time``, ``quantile``, ``hardware``,
    ``fleet_size``, the sweep dims, then ``period``, thresholds, ``input``,
    ``output``, ..., ``trajectory``), null where a variable lacks that dim;
    ``value`` (float64) and ``units``. Rows run variable by variable, in the
    Dataset's order, with time varying fastest. Variables along ``trajectory``
    (``--keep-trajectories``) are left out unless ``trajectories``.
    """
    names = exported_names(ds, trajectories)
    dims = _column_dims(ds, names)
    frames = []
    for name in names:
        da = ds[name]
        order = [dim for dim in dims if dim in da.dims and dim != "time"]
        order += ["time"] if "time" in da.dims else []
        da = da.transpose(*order)
        if order:
            labels = [ds.get_index(dim) for dim in order]
            frame = pd.MultiIndex.from_product(labels, names=order).to_frame(index=False)
        else:
            frame = pd.DataFrame(index=range(1))
        frame.insert(0, "variable", str(name))
        frame["value"] = np.asarray(da.values, dtype=np.float64).ravel()
        frame["units"] = _units(da)
        frames.append(frame)
    columns = ["variable", *map(str, dims), "value", "units"]
    if not frames:
        return pd.DataFrame({column: [] for column in columns})
    table = pd.concat(frames, ignore_index=True, sort=False).reindex(columns=columns)
    dtypes = {str(dim): _column_dtype(ds.get_index(dim)) for dim in dims}
    return table.astype({"variable": "string", **dtypes, "value": "float64", "units": "string"})


def _provenance(ds: xr.Dataset) -> str:
    """The Dataset's attributes (scenario text, seed, version, ...) as JSON."""
    return json.dumps(
        {str(k): v.item() if isinstance(v, np.generic) else v for k, v in ds.attrs.items()},
        default=str,
    )


def write_table(table: pd.DataFrame, path: str | Path, fmt: str, provenance: str = "") -> Path:
    """Write ``table`` as CSV or Parquet, atomically. Parquet keeps ``provenance`` (JSON)
    in its schema metadata under ``jevons``; CSV has no place for it."""
    if fmt == "csv":
        return write_file(lambda tmp: table.to_csv(tmp, index=False), path)
    if fmt != "parquet":
        raise JevonsError(f"unknown format '{fmt}'; use csv or parquet")
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(table, preserve_index=False)
    metadata = {**(arrow.schema.metadata or {}), b"jevons": provenance.encode()}
    arrow = arrow.replace_schema_metadata(metadata)
    return write_file(lambda tmp: pq.write_table(arrow, tmp), path)


def table_format(path: str | Path | None, fmt: str | None = None) -> str:
    """The format to write: ``fmt`` if given, else the one ``path``'s suffix names, else
    CSV. A suffix naming the other format than ``fmt`` is refused."""
    by_suffix = {suffix: name for name, suffix in FORMATS.items()}
    if fmt is not None and fmt not in FORMATS:
        raise JevonsError(f"unknown format '{fmt}'; use csv or parquet")
    suffix = Path(path).suffix.lower() if path is not None else ""
    named = by_suffix.get(suffix)
    if fmt is None and path is not None and named is None:
        raise JevonsError(
            f"output {path}: unknown format '{suffix}'; use .csv or .parquet, or give --format"
        )
    if fmt is not None and named is not None and named != fmt:
        raise JevonsError(f"output {path} names {named}, but the format asked for is {fmt}")
    return fmt or named or "csv"


def export_result(
    ds: xr.Dataset, path: str | Path, fmt: str | None = None, *, trajectories: bool = False
) -> pd.DataFrame:
    """Write the tidy table of ``ds`` to ``path`` as CSV or Parquet (``fmt``, else by the
    suffix), atomically; returns the table."""
    table = tidy_table(ds, trajectories=trajectories)
    write_table(table, path, table_format(path, fmt), _provenance(ds))
    return table
