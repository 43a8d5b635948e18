"""Where a scenario comes from: a file, TOML text, a table or a validated Scenario.

Whatever the source, a run records the scenario's TOML text in its provenance:
a file's own text, or else a rendering that validates back to the same Scenario.
"""

from __future__ import annotations

import copy
import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit

from jevons.engine.scenario.loading import (
    read_scenario_text,
    scenario_from_dict,
)
from jevons.engine.scenario.schema import Scenario
from jevons.errors import JevonsError, ScenarioError

ScenarioLike = str | Path | Mapping[str, Any] | Scenario


@dataclass(frozen=True)
class ScenarioSource:
    """A scenario's TOML text and table (which may hold a ``[sweep]`` table), and the
    validated scenario where the table is one to run (not a sweep's)."""

    text: str
    table: dict[str, Any]
    label: str  # names the source in error messages: the file's path, or "<scenario>"
    scenario: Scenario | None = None

    def to_run(self) -> Scenario:
        if self.scenario is None:
            raise JevonsError(f"{self.label} was read as the base of a sweep: sweep it")
        return self.scenario


def read_source(
    source: ScenarioLike, *, sweep: bool = False, label: str = "<scenario>"
) -> ScenarioSource:
    """A scenario source from a path (``str`` or ``Path``), TOML text, a table or a
    :class:`Scenario`, validated unless it is the base of a ``sweep`` (which may hold a
    ``[sweep]`` table). A ``str`` of one line is a path: the TOML text of a scenario holds
    several, for its tables (``[horizon]``, ``[users]``, ...). Raises
    :class:`~jevons.errors.ScenarioError`."""
    if isinstance(source, Scenario):
        text = scenario_toml(source)
        return ScenarioSource(text, tomllib.loads(text), label, source)
    if isinstance(source, Mapping):
        table = _plain(source)
        text = _dumps(table, label)
    elif isinstance(source, str) and "\n" in source:
        text, table = source, _parsed(source, label)
    elif isinstance(source, str | Path):
        label = str(source)
        text = read_scenario_text(source)
        table = _parsed(text, label)
    else:
        raise JevonsError(
            "a scenario is a path, TOML text, a table (dict) or a jevons Scenario,"
            f" got {type(source).__name__}"
        )
    scenario = None if sweep else scenario_from_dict(copy.deepcopy(table), label)
    return ScenarioSource(text, table, label, scenario)


def scenario_toml(scenario: Scenario) -> str:
    """TOML text that validates back to ``scenario``: the keys it was given (catalog
    hardware written out in full), so defaults stay defaults."""
    table = scenario.model_dump(mode="python", by_alias=True, exclude_unset=True)
    return _dumps(_plain(table), "<scenario>")


def _parsed(text: str, label: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(label, [("", f"not valid TOML: {exc}")]) from None


def _plain(value: Any) -> Any:
    """A table of TOML's own types: no None (TOML has no null: an absent key is its
    default), lists for tuples, Python numbers for NumPy's."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if hasattr(value, "item") and not isinstance(value, str | dt.date):
        return value.item()  # a NumPy scalar
    return value


def _dumps(table: dict[str, Any], label: str) -> str:
    try:
        return tomlkit.dumps(table)
    except (TypeError, ValueError) as exc:  # a value TOML cannot hold
        raise ScenarioError(label, [("", f"cannot be written as TOML: {exc}")]) from None
