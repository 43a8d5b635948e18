"""Reading a scenario: TOML text -> ``tomllib`` -> pydantic validation.

Every problem in a file is reported at once, each with the TOML key path it
belongs to (``users.initial.median``), as a :class:`~jevons.errors.ScenarioError`.
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from jevons.engine.scenario.distributions import DISTRIBUTION_NAMES
from jevons.engine.scenario.schema import Scenario
from jevons.errors import ScenarioError

# Names pydantic puts into error locations that are not TOML keys.
_INTERNAL_LOC = set(DISTRIBUTION_NAMES) | {"elastic", "fixed"}

# A scenario is a few kilobytes; anything far larger is not one (or is a device).
MAX_SCENARIO_BYTES = 10_000_000


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


def _problem(error: dict[str, Any]) -> tuple[str, str]:
    """The TOML key path and the message of one pydantic error."""
    path = _key_path(error["loc"])
    msg = error["msg"].removeprefix("Value error, ")
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == "extra_forbidden":
        return path, "unknown key (check its spelling and section)"
    if kind == "missing":
        return path, "missing required key"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        # A tagged table: a distribution (``dist``) or a section with a kind (``policy``).
        tag_key = str(ctx.get("discriminator", "")).strip("'")
        allowed = str(ctx.get("expected_tags", "")).replace("'", "")
        if tag_key == "dist":
            if kind == "union_tag_not_found":
                return path, "a distribution table needs a 'dist' key (e.g. dist = \"lognormal\")"
            return path, f"unknown distribution '{ctx.get('tag', '?')}'; expected one of {allowed}"
        path = f"{path}.{tag_key}" if path else tag_key
        if kind == "union_tag_not_found":
            return path, "missing required key"
        given = error["input"].get(tag_key) if isinstance(error["input"], dict) else None
        return path, f"must be one of {allowed}, got {given!r}"
    return path, msg


def scenario_from_dict(data: dict[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate a parsed scenario table. Files it names (hardware profiles) are read
    relative to the folder of ``source`` where that is a file, else the working directory."""
    folder = Path(source).parent if Path(source).is_file() else None
    try:
        return Scenario.model_validate(data, context={"base_dir": folder})
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            problem = _problem(error)
            if problem not in problems:
                problems.append(problem)
        raise ScenarioError(source, problems) from None


def parse_scenario_text(text: str, source: str = "<scenario>") -> Scenario:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, [("", f"not valid TOML: {exc}")]) from None
    return scenario_from_dict(data, source)


def validate_key(key: str, value: Any) -> Any:
    """``value`` checked (and converted) as the scenario key ``key`` is, e.g.
    ``simulation.trajectories``: one schema field, one set of bounds, for the
    file and for a command-line override alike. Raises :class:`ScenarioError`.
    """
    model: type[BaseModel] = Scenario
    *sections, name = key.split(".")
    for section in sections:
        model = model.model_fields[section].annotation
    field = model.model_fields[name]
    adapter = TypeAdapter(Annotated[field.annotation, *field.metadata])
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        problems = [(key, _problem(error)[1]) for error in exc.errors(include_url=False)]
        raise ScenarioError("<override>", problems) from None


def read_scenario_text(path: str | Path) -> str:
    """The text of a scenario file: a regular file of at most 10 MB, UTF-8 (a BOM is allowed)."""
    path = Path(path)
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise ScenarioError(str(path), [("", "is a folder, not a scenario file")])
        if not stat.S_ISREG(info.st_mode):
            # A device (/dev/zero), a pipe or a socket: it may never end, or block.
            raise ScenarioError(str(path), [("", "not a regular file; give a scenario TOML file")])
        too_large = ScenarioError(
            str(path),
            [("", f"larger than {MAX_SCENARIO_BYTES:,} bytes; a scenario file is a few kB")],
        )
        if info.st_size > MAX_SCENARIO_BYTES:
            raise too_large
        with path.open("rb") as file:
            data = file.read(MAX_SCENARIO_BYTES + 1)  # the file may grow after the stat
        if len(data) > MAX_SCENARIO_BYTES:
            raise too_large
        return data.decode("utf-8-sig")
    except FileNotFoundError:
        raise ScenarioError(str(path), [("", "no such file")]) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(str(path), [("", f"not UTF-8 text: {exc}")]) from None
    except OSError as exc:
        raise ScenarioError(str(path), [("", f"cannot read it: {exc.strerror or exc}")]) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file."""
    return parse_scenario_text(read_scenario_text(path), str(path))
