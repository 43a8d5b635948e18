"""Reading a scenario: TOML text -> ``tomllib`` -> pydantic validation.

Every problem in a file is reported at once, each with the TOML key path it
belongs to (``users.initial.median``), as a :class:`~jevons.errors.ScenarioError`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from jevons.engine.scenario.distributions import DISTRIBUTION_NAMES
from jevons.engine.scenario.schema import Scenario
from jevons.errors import ScenarioError

# Names pydantic puts into error locations that are not TOML keys.
_INTERNAL_LOC = set(DISTRIBUTION_NAMES) | {"elastic", "fixed"}


def _key_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in _INTERNAL_LOC or "[" in str(part):
            continue
        else:
            path += ("." if path else "") + str(part)
    return path


def _message(error: dict[str, Any]) -> str:
    msg = error["msg"]
    msg = msg.removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return "unknown key (check its spelling and section)"
    if error["type"] == "missing":
        return "missing required key"
    if error["type"] == "union_tag_invalid":
        tag = error.get("ctx", {}).get("tag", "?")
        expected = error.get("ctx", {}).get("expected_tags", "")
        return f"unknown distribution '{tag}'; expected one of {expected}"
    if error["type"] == "union_tag_not_found":
        return "a distribution table needs a 'dist' key (e.g. dist = \"lognormal\")"
    return msg


def scenario_from_dict(data: dict[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate a parsed scenario table."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            problem = (_key_path(error["loc"]), _message(error))
            if problem not in problems:
                problems.append(problem)
        raise ScenarioError(source, problems) from None


def parse_scenario_text(text: str, source: str = "<scenario>") -> Scenario:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, [("", f"not valid TOML: {exc}")]) from None
    return scenario_from_dict(data, source)


def read_scenario_text(path: str | Path) -> str:
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(str(path), [("", "no such file")]) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise ScenarioError(str(path), [("", f"cannot read it: {exc}")]) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file."""
    return parse_scenario_text(read_scenario_text(path), str(path))
