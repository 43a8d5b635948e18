"""How to run a scenario, over and above the scenario itself.

One frozen :class:`RunSettings` serves a run, a shard, a run split over Dask
workers and every point of a sweep, so an override means the same thing
wherever it is given. A field left at ``None`` takes the scenario's own value
(``[simulation]``); thresholds add to the scenario's ``[risk.thresholds]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from jevons.engine.scenario.loading import validate_key
from jevons.engine.scenario.schema import Risk, Scenario
from jevons.errors import JevonsError, ScenarioError

SUMMARIES = ("auto", "exact", "sketch")

# name -> the values to add, sorted by name: immutable, so the settings can be hashed
Thresholds = tuple[tuple[str, tuple[float, ...]], ...]


@dataclass(frozen=True, kw_only=True)
class RunSettings:
    """Overrides of a run; each is checked as the scenario key it overrides is.

    ``trajectories`` and ``seed`` replace ``simulation.trajectories`` and
    ``simulation.seed``; ``summary`` (auto, exact or sketch) replaces
    ``simulation.summary``; ``backend`` is auto, cuda, cupy, cpu or numpy; ``chunk``
    fixes the trajectories per chunk of a sketched run (default: sized from
    memory); ``keep_trajectories`` keeps each trajectory's drawn inputs and horizon
    totals (for sensitivity analysis); ``thresholds`` maps total_cost [USD] or
    max_peak_gpus [GPUs] to one value or a list, added to ``risk.thresholds``.
    """

    trajectories: int | None = None
    seed: int | None = None
    backend: str = "auto"
    summary: str | None = None
    chunk: int | None = None
    keep_trajectories: bool = False
    # given as {name: value or values}; kept as sorted (name, values) pairs
    thresholds: Thresholds | Mapping[str, float | Sequence[float]] = field(default=())

    def __post_init__(self) -> None:
        for name, key in (("trajectories", "simulation.trajectories"), ("seed", "simulation.seed")):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _checked_key(key, value))
        if not isinstance(self.backend, str):
            raise JevonsError(
                f"backend: a name (auto, cuda, cupy, cpu or numpy), got {self.backend!r}"
            )
        if self.summary is not None:
            summary = str(self.summary)
            if summary not in SUMMARIES:
                raise JevonsError(f"summary: one of {', '.join(SUMMARIES)}, got {self.summary!r}")
            object.__setattr__(self, "summary", summary)
        if self.chunk is not None and (
            isinstance(self.chunk, bool) or not isinstance(self.chunk, int) or self.chunk < 1
        ):
            raise JevonsError(
                f"chunk: a whole number of trajectories, at least 1, got {self.chunk!r}"
            )
        if not isinstance(self.keep_trajectories, bool):
            raise JevonsError(f"keep_trajectories: True or False, got {self.keep_trajectories!r}")
        object.__setattr__(self, "thresholds", _checked_thresholds(self.thresholds))

    def trajectories_for(self, scenario: Scenario) -> int:
        given = self.trajectories
        return scenario.simulation.trajectories if given is None else given

    def seed_for(self, scenario: Scenario) -> int:
        return scenario.simulation.seed if self.seed is None else self.seed

    def summary_for(self, scenario: Scenario) -> str:
        """auto, exact or sketch, as asked (``summary_mode`` decides what auto becomes)."""
        return self.summary or scenario.simulation.summary

    def applied_to(self, scenario: Scenario) -> Scenario:
        """``scenario`` with these thresholds added to its own ``risk.thresholds``."""
        if not self.thresholds:
            return scenario
        tables = {name: list(values) for name, values in scenario.risk.thresholds.items()}
        for name, values in self.thresholds:
            tables.setdefault(name, []).extend(values)
        return scenario.model_copy(update={"risk": Risk(thresholds=tables)})


def _checked_key(key: str, value: Any) -> Any:
    if isinstance(value, bool):  # True is an int to Python, never a count or a seed
        raise ScenarioError("<override>", [(key, f"a whole number, got {value!r}")])
    return validate_key(key, value)


def _checked_thresholds(given: Any) -> Thresholds:
    """``{name: value or values}`` (or the normalised tuple) as sorted, checked pairs."""
    if isinstance(given, Mapping):
        pairs = list(given.items())
    elif isinstance(given, Sequence) and not isinstance(given, str):
        pairs = list(given)
        if not all(isinstance(pair, Sequence) and len(pair) == 2 for pair in pairs):
            raise JevonsError(f"thresholds: a table of name = value(s), got {given!r}")
    else:
        raise JevonsError(f"thresholds: a table of name = value(s), got {given!r}")
    tables: dict[str, list[Any]] = {}
    for name, values in pairs:
        listed = list(values) if isinstance(values, Sequence | set) else [values]
        tables.setdefault(str(name), []).extend(listed)
    try:
        Risk(thresholds=tables)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        name, *index = error["loc"][1:]
        where = f"{name}[{index[0]}]" if index and len(tables[name]) > 1 else name
        reason = error["msg"].removeprefix("Value error, ")
        raise JevonsError(f"thresholds.{where}: {reason}") from None
    return tuple(
        (name, tuple(float(v) for v in values)) for name, values in sorted(tables.items()) if values
    )
