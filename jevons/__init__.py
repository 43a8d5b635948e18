"""jevons: Monte Carlo forecasts of LLM token demand, GPU capacity and cost per token.

>>> import jevons
>>> ds = jevons.run("scenarios/chat-assistant.toml", trajectories=100_000, backend="cpu")
>>> ds.peak_gpus.sel(quantile=0.95)

``run`` and ``sweep`` take a scenario as a path, TOML text, a table or a
:class:`Scenario`; ``open_result`` reads a result file back; ``load_scenario``
validates a scenario; ``RunSettings`` holds a run's overrides.
"""

import importlib
from typing import TYPE_CHECKING, Any

from jevons._version import __version__
from jevons.errors import JevonsError, ScenarioError

# Loaded on first use, so that `import jevons` stays light: the command line and
# every Dask worker import this package before they need the engine.
_LAZY = {
    "run": "jevons.api",
    "sweep": "jevons.api",
    "load_scenario": "jevons.api",
    "open_result": "jevons.engine.output.files",
    "RunSettings": "jevons.engine.execution.settings",
    "Scenario": "jevons.engine.scenario.schema",
}

__all__ = [
    "JevonsError",
    "RunSettings",
    "Scenario",
    "ScenarioError",
    "__version__",
    "load_scenario",
    "open_result",
    "run",
    "sweep",
]

if TYPE_CHECKING:
    from jevons.api import load_scenario, run, sweep
    from jevons.engine.execution.settings import RunSettings
    from jevons.engine.output.files import open_result
    from jevons.engine.scenario.schema import Scenario


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'jevons' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
