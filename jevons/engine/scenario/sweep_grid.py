"""Sweeps: grids over scenario keys, each axis a labelled dimension of the result.

A sweep comes from ``--set key=v1,v2`` options or a ``[sweep]`` table in the
scenario (``[sweep] "users.initial" = [1e4, 1e5]``, or nested tables). Every
point of the grid is the scenario with those keys replaced; points are
independent runs with the same seed, so they differ only by what was swept.

``supply.hardware`` is not a sweep axis: every scenario already carries a
``hardware`` dimension, and running all profiles on the same trajectories in
one pass costs little more than one, so its values become that dimension.

Every point must give a result of the same layout, or the points cannot be
stacked: an axis that changes the time axis (``horizon.*``), the quantiles
(``simulation.quantiles``) or the fleet (``fleet.policy``, ``fleet.sizes``) is
refused when the grid is expanded, before anything runs (one value is fine: it
applies to every point). An axis whose values are of different kinds (a number
and a distribution table, say) is labelled by text: ``"0.01"`` and
``'{"dist": "normal", ...}'``.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from jevons.engine.scenario.loading import scenario_from_dict
from jevons.engine.scenario.schema import Scenario
from jevons.errors import ScenarioError
from jevons.kernels.variables import VARIABLES

HARDWARE_KEY = "supply.hardware"


# Names a result already uses: its variables (each with a _mean), coordinates and dims.
_RESULT_NAMES = (
    set(VARIABLES)
    | {f"{name}_mean" for name in VARIABLES}
    | {"time", "quantile", "hardware", "fleet_size", "period", "threshold", "trajectory"}
    | {"input", "output", "prefill_tokens_per_s", "decode_tokens_per_s", "supply_kind"}
)


@dataclass(frozen=True)
class SweepAxis:
    key: str  # dotted scenario key, e.g. "users.initial"
    values: tuple[Any, ...]

    @property
    def dim(self) -> str:
        """The dataset dimension: the key with underscores (``ds.sel(users_initial=...)``),
        or ``sweep_`` and that where it would take the name of a result's variable or
        dimension (``cache.hit_rate`` sweeps along ``sweep_cache_hit_rate``)."""
        name = self.key.replace(".", "_")
        return f"sweep_{name}" if name in _RESULT_NAMES else name

    @property
    def labels(self) -> list[Any]:
        """The dimension's coordinate: the values, or all as text when their kinds differ."""
        kinds = {_kind(value) for value in self.values}
        if len(kinds) == 1 and kinds <= {"number", "str", "bool"}:
            return list(self.values)
        return [
            value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
            for value in self.values
        ]


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "str" if isinstance(value, str) else "table"


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


# What fixes the result's layout, by the key that sets it: points that differ in one
# of these cannot be stacked along a sweep dimension.
LAYOUT: dict[str, tuple[str, Callable[[Scenario], Any]]] = {
    "horizon": (
        "the time axis",
        lambda s: (s.horizon.start, s.horizon.step, s.horizon.steps),
    ),
    "simulation.quantiles": ("the quantile axis", lambda s: s.simulation.quantiles),
    "fleet": (
        "the fleet_size axis and which fleet variables exist",
        lambda s: (s.fleet.policy, getattr(s.fleet, "sizes", None)),
    ),
}


def _layout_problems(grid_axes: list[SweepAxis], points: list[SweepPoint]) -> list[tuple[str, str]]:
    """One problem per axis along which the result's layout changes."""
    shape = [len(axis.values) for axis in grid_axes]
    by_index = {point.index: point for point in points}
    problems = []
    for a, axis in enumerate(grid_axes):
        changed = []
        for point in points:
            position = list(np.unravel_index(point.index, shape))
            if position[a] == 0:
                continue
            position[a] = 0
            first = by_index[int(np.ravel_multi_index(position, shape))]
            changed.extend(
                key
                for key, (_, layout) in LAYOUT.items()
                if key not in changed and layout(point.scenario) != layout(first.scenario)
            )
        if changed:
            what = " and ".join(LAYOUT[key][0] for key in changed)
            problems.append((
                axis.key,
                f"cannot be swept: its values change {what}, which every"
                " point of a sweep shares; give it one value, or run a sweep per value",
            ))  # fmt: skip
    return problems


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
    combos = list(itertools.product(*(axis.values for axis in grid_axes)))
    found: dict[tuple[str, str], list[str]] = {}  # problem -> the points that have it
    for index, combo in enumerate(combos):
        point_data = copy.deepcopy(base)
        values = {}
        for axis, value in zip(grid_axes, combo, strict=True):
            _set_key(point_data, axis.key, value)
            values[axis.key] = value
        try:
            scenario = scenario_from_dict(point_data, source)
        except ScenarioError as exc:
            where = ", ".join(f"{k}={v!r}" for k, v in values.items())
            for problem in exc.problems:
                found.setdefault(problem, []).append(where)
            continue
        points.append(SweepPoint(index, values, scenario, point_data))
    for (path, msg), wheres in found.items():
        if len(wheres) == len(combos) or not wheres[0]:
            problems.append((path, msg))  # every point has it: one line, as for a run
        else:
            problems.extend((path, f"{msg} (sweep point {where})") for where in wheres)
    if not problems:
        problems = _layout_problems(grid_axes, points)
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
    shape = [len(axis.values) for axis in axes]
    labels = [axis.labels for axis in axes]
    labelled = []
    for point in points:
        ds = results[point.index]
        position = np.unravel_index(point.index, shape)
        for a in reversed(range(len(axes))):
            ds = ds.expand_dims({axes[a].dim: [labels[a][position[a]]]})
        labelled.append(ds)
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
