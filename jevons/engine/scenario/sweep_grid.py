"""Sweeps: grids over scenario keys, each axis a labelled dimension of the result.

A sweep comes from ``--set key=v1,v2`` options or a ``[sweep]`` table in the
scenario (``[sweep] "users.initial" = [1e4, 1e5]``, or nested tables). Every
point of the grid is the scenario with those keys replaced; points are
independent runs with the same seed, so they differ only by what was swept.

``supply.hardware`` is not a sweep axis: every scenario already carries a
``hardware`` dimension, and running all profiles on the same trajectories in
one pass costs little more than one, so its values become that dimension.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import tomllib
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from jevons.engine.scenario.loading import scenario_from_dict
from jevons.engine.scenario.schema import Scenario
from jevons.errors import ScenarioError

HARDWARE_KEY = "supply.hardware"


@dataclass(frozen=True)
class SweepAxis:
    key: str  # dotted scenario key, e.g. "users.initial"
    values: tuple[Any, ...]

    @property
    def dim(self) -> str:
        """The dataset dimension: the key with underscores (``ds.sel(users_initial=...)``)."""
        return self.key.replace(".", "_")


@dataclass(frozen=True)
class SweepPoint:
    index: int  # position in the grid, row-major over the axes
    values: dict[str, Any]  # key -> value
    scenario: Scenario
    data: dict[str, Any]  # the point's scenario table, for provenance


def parse_value(text: str) -> Any:
    """A TOML literal (``1e4``, ``0.3``, ``"x"``, ``{ dist = ... }``) or else a bare string."""
    text = text.strip()
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _split_values(text: str) -> list[str]:
    """Split at commas outside brackets and braces, so inline tables and lists survive."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p for p in (p.strip() for p in parts) if p]


def parse_set_option(option: str) -> SweepAxis:
    """``"users.initial=1e4,1e5"`` -> an axis; a single value is an axis of one."""
    key, sep, values = option.partition("=")
    key = key.strip()
    if not sep or not key or not values.strip():
        raise ScenarioError("--set", [(key, f"expected KEY=VALUE[,VALUE...], got {option!r}")])
    return SweepAxis(key, tuple(parse_value(v) for v in _split_values(values)))


def _flatten(table: dict[str, Any], prefix: str = "") -> list[SweepAxis]:
    axes = []
    for name, value in table.items():
        key = f"{prefix}.{name}" if prefix else name
        if isinstance(value, dict):
            axes.extend(_flatten(value, key))
        elif isinstance(value, list) and value:
            axes.append(SweepAxis(key, tuple(value)))
        else:
            raise ScenarioError(
                "[sweep]", [(key, "each sweep key needs a non-empty list of values")]
            )
    return axes


def split_sweep_table(data: dict[str, Any]) -> tuple[dict[str, Any], list[SweepAxis]]:
    """The scenario table without its ``[sweep]`` table, and that table's axes."""
    data = dict(data)
    table = data.pop("sweep", None)
    if table is None:
        return data, []
    if not isinstance(table, dict):
        raise ScenarioError("[sweep]", [("sweep", "must be a table of key = [values]")])
    return data, _flatten(table)


def _set_key(data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ScenarioError("--set", [(key, f"'{part}' is not a table")])
        node = child
    node[parts[-1]] = value


def merge_axes(file_axes: list[SweepAxis], option_axes: list[SweepAxis]) -> list[SweepAxis]:
    """Options override the file's axes of the same key; order: file first, then new keys."""
    by_key = {axis.key: axis for axis in file_axes}
    for axis in option_axes:
        by_key[axis.key] = axis
    for axis in by_key.values():
        if len(set(map(repr, axis.values))) != len(axis.values):
            raise ScenarioError("sweep", [(axis.key, "values repeat")])
    return list(by_key.values())


def expand_grid(
    data: dict[str, Any], axes: list[SweepAxis], source: str = "<scenario>"
) -> tuple[list[SweepAxis], list[SweepPoint]]:
    """Validate every point before anything runs; returns the grid axes and points.

    Hardware values join the base scenario's ``hardware`` list (see the module
    docstring); one-value axes are applied to every point and dropped as dims.
    """
    base = copy.deepcopy(data)
    grid_axes = []
    for axis in axes:
        if axis.key == HARDWARE_KEY:
            names = [
                v for value in axis.values for v in (value if isinstance(value, list) else [value])
            ]
            _set_key(base, axis.key, names)
        elif len(axis.values) == 1:
            _set_key(base, axis.key, axis.values[0])
        else:
            grid_axes.append(axis)

    points, problems = [], []
    for index, combo in enumerate(itertools.product(*(axis.values for axis in grid_axes))):
        point_data = copy.deepcopy(base)
        values = {}
        for axis, value in zip(grid_axes, combo, strict=True):
            _set_key(point_data, axis.key, value)
            values[axis.key] = value
        try:
            scenario = scenario_from_dict(point_data, source)
        except ScenarioError as exc:
            where = ", ".join(f"{k}={v!r}" for k, v in values.items())
            problems.extend(
                (path, f"{msg} (sweep point {where})" if where else msg)
                for path, msg in exc.problems
            )
            continue
        points.append(SweepPoint(index, values, scenario, point_data))
    if problems:
        unique = list(dict.fromkeys(problems))
        raise ScenarioError(source, unique)
    return grid_axes, points


def coordinate(value: Any) -> Any:
    """A dimension label for a swept value: numbers and strings as they are, tables as text."""
    if isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def point_digest(point: SweepPoint, settings: dict[str, Any]) -> str:
    """Names a point's checkpoint: changes whenever its scenario or run settings do."""
    blob = json.dumps({"data": point.data, **settings}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def combine_points(
    axes: list[SweepAxis], points: list[SweepPoint], results: dict[int, xr.Dataset]
) -> xr.Dataset:
    """One dataset with a dimension per axis, from each point's dataset."""
    if not axes:
        return results[points[0].index]
    labelled = []
    for point in points:
        ds = results[point.index]
        for axis in reversed(axes):
            ds = ds.expand_dims({axis.dim: [coordinate(point.values[axis.key])]})
        labelled.append(ds)
    shape = [len(axis.values) for axis in axes]
    nested: Any = np.empty(shape, dtype=object)
    for point, ds in zip(points, labelled, strict=True):
        nested[np.unravel_index(point.index, shape)] = ds
    combined = xr.combine_nested(
        nested.tolist(),
        concat_dim=[axis.dim for axis in axes],
        combine_attrs="drop_conflicts",
        data_vars="all",
        coords="different",
        compat="equals",
        join="exact",
    )
    for axis in axes:
        combined[axis.dim].attrs["sweep_key"] = axis.key
    return combined
