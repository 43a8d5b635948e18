"""The README's concept map names only scenario keys and outputs that exist."""

import re
from pathlib import Path

from pydantic import BaseModel

from jevons.analytics.sensitivity import VARIABLES as SENSITIVITY_VARIABLES
from jevons.engine.scenario.schema import HardwareUncertainty, Scenario
from jevons.kernels.variables import VARIABLES

README = Path(__file__).parents[1] / "README.md"
# coordinates and dims a row may name besides variables
OTHER_NAMES = {"time", "decode_tokens_per_s"}


def map_rows() -> list[list[str]]:
    text = README.read_text()
    section = text[text.index("## For planners") : text.index("## The model")]
    rows = [line.split("|")[1:-1] for line in section.splitlines() if line.startswith("| ")]
    assert rows[0][0].strip() == "concept"
    return rows[2:]


def model_of(annotation):
    """The pydantic model inside an annotation (Optional, Annotated, list, union)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = model_of(arg)
        if found is not None:
            return found
    return None


def key_exists(path: str) -> bool:
    model = Scenario
    parts = path.strip("[]").split(".")
    for i, part in enumerate(parts):
        if part == "<profile>":
            model = HardwareUncertainty  # supply.uncertainty.<profile>.*
            continue
        if model is None or part not in model.model_fields:
            return False
        inner = model_of(model.model_fields[part].annotation)
        model = inner if i < len(parts) - 1 else model
    return True


def test_every_key_in_the_map_is_a_scenario_key():
    keys = [k for row in map_rows() for k in re.findall(r"`([a-z_.<>\[\]]+)`", row[1])]
    assert len(keys) > 30
    assert [k for k in keys if not key_exists(k)] == []


def test_every_output_in_the_map_is_a_result_variable():
    names = [n for row in map_rows() for n in re.findall(r"`([a-z_*]+)`", row[2])]
    known = set(VARIABLES) | set(SENSITIVITY_VARIABLES) | OTHER_NAMES
    missing = [n for n in names if n not in known and not n.startswith("*_")]
    assert missing == []
    suffixes = {n[1:] for n in names if n.startswith("*_")}
    assert all(any(v.endswith(s) for v in VARIABLES) for s in suffixes)


def test_a_wrong_key_is_caught():
    assert not key_exists("usage.sessions_per_day") and key_exists("variability.surges")
