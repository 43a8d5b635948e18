"""The scenario's JSON Schema: every key described with its units, every shipped scenario
valid against it, obvious mistakes refused (as the loader refuses them); and the scenario
reference in README.md equal to the one generated from it.

No JSON Schema package is a dependency: ``validate`` below is a small validator of the
keywords the schema uses, and refuses a schema holding any other.
"""

import datetime as dt
import json
import math
import re
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jevons.cli.main import app
from jevons.engine.scenario.json_schema import scenario_json_schema
from jevons.engine.scenario.loading import scenario_from_dict
from jevons.engine.scenario.reference import BEGIN, END, scenario_reference, split_units
from jevons.errors import ScenarioError
from jevons.kernels.contract import HARDWARE_UNITS, PARAMETER_PATHS, PARAMETER_UNITS
from tests.conftest import SCENARIOS

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = scenario_json_schema()
DEFS = SCHEMA["$defs"]

ANNOTATIONS = {"$schema", "$defs", "title", "description", "default", "discriminator"}
KEYWORDS = {
    "$ref", "allOf", "anyOf", "oneOf", "type", "enum", "const", "properties", "required",
    "additionalProperties", "propertyNames", "items", "minItems", "maxItems", "minimum",
    "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "format",
}  # fmt: skip
TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: TYPES["number"](v) and float(v).is_integer(),
}


def validate(value, schema, path="") -> list[str]:
    """Problems of ``value`` against ``schema`` (draft 7, the keywords above), by path."""
    unknown = set(schema) - KEYWORDS - ANNOTATIONS
    assert not unknown, f"the test's validator does not know {unknown}"
    problems = []

    def fail(message):
        problems.append(f"{path or '<root>'}: {message}")

    if "$ref" in schema:
        problems += validate(value, DEFS[schema["$ref"].rsplit("/", 1)[1]], path)
    for part in schema.get("allOf", ()):
        problems += validate(value, part, path)
    if "anyOf" in schema and all(validate(value, s, path) for s in schema["anyOf"]):
        fail("matches none of anyOf")
    if "oneOf" in schema and sum(not validate(value, s, path) for s in schema["oneOf"]) != 1:
        fail("matches not exactly one of oneOf")
    kind = schema.get("type")
    if kind is not None and not TYPES[kind](value):
        fail(f"not a {kind}: {value!r}")
        return problems
    if "enum" in schema and value not in schema["enum"]:
        fail(f"{value!r} not in {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        fail(f"{value!r} is not {schema['const']!r}")
    if TYPES["number"](value):
        for key, ok in (
            ("minimum", lambda b: value >= b),
            ("maximum", lambda b: value <= b),
            ("exclusiveMinimum", lambda b: value > b),
            ("exclusiveMaximum", lambda b: value < b),
        ):
            if key in schema and not ok(schema[key]):
                fail(f"{value!r} fails {key} {schema[key]}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            fail("too short")
        if schema.get("format") == "date" and not re.fullmatch(r"\d{4}-\d\d-\d\d", value):
            fail(f"not a date: {value!r}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", 1e9):
            fail("wrong number of items")
        if "items" in schema:
            for i, item in enumerate(value):
                problems += validate(item, schema["items"], f"{path}[{i}]")
    if isinstance(value, dict):
        for key in schema.get("required", ()):
            if key not in value:
                fail(f"missing {key}")
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            if "propertyNames" in schema:
                problems += validate(key, schema["propertyNames"], f"{where} (name)")
            if key in properties:
                problems += validate(item, properties[key], where)
            elif extra is False:
                fail(f"unknown key {key}")
            elif isinstance(extra, dict):
                problems += validate(item, extra, where)
    return problems


def as_json(value):
    """A parsed TOML file as JSON holds it: dates as ISO strings."""
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def _properties(node, where=""):
    """(where, name, schema) of every property in ``node``, recursively."""
    if isinstance(node, dict):
        for name, prop in node.get("properties", {}).items():
            yield where, name, prop
        for key, value in node.items():
            yield from _properties(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _properties(value, f"{where}/{i}")


def _is_numeric(prop) -> bool:
    refs = [prop.get("$ref"), *(p.get("$ref") for p in prop.get("allOf", ()))]
    if "#/$defs/Distribution" in refs:
        return True
    kinds = {prop.get("type"), prop.get("items", {}).get("type")}
    return bool(kinds & {"number", "integer"})


def test_every_property_has_a_description_and_every_number_its_units():
    found = list(_properties(SCHEMA))
    assert len(found) > 100
    for where, name, prop in found:
        description = prop.get("description", "")
        assert len(description) > 10, (where, name)
        _, units = split_units(description)
        if _is_numeric(prop) and name != "seed":
            assert units, f"{where}/{name}: no [units] at the end of {description!r}"


def _section(name: str) -> dict:
    return DEFS[SCHEMA["properties"][name]["allOf"][0]["$ref"].rsplit("/", 1)[1]]


def test_units_are_those_of_the_drawn_inputs_in_results():
    """The units a key's description states are the units its drawn values carry in a
    result (``drawn_*`` variables)."""
    for path in PARAMETER_PATHS:
        section, key = path.split(".")
        description = _section(section)["properties"][key]["description"]
        assert split_units(description)[1] == PARAMETER_UNITS[path], path
    uncertain = DEFS["HardwareUncertainty"]["properties"]
    for field, units in HARDWARE_UNITS.items():
        assert split_units(uncertain[field]["description"])[1] == units, field


def test_the_schema_is_plain_json():
    text = json.dumps(SCHEMA, allow_nan=False)
    assert json.loads(text) == SCHEMA
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"


SHIPPED = sorted(SCENARIOS.glob("*.toml"))


def _readme_example() -> dict:
    """The scenario that README's "Scenario format" section shows."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Scenario format") :]
    block = section[section.index("```toml\n") + 8 : section.index("```\n", 8)]
    return tomllib.loads(block)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_scenario_is_valid(path):
    assert validate(as_json(tomllib.loads(path.read_text())), SCHEMA) == []


def test_the_readme_example_and_its_forms_are_valid():
    example = _readme_example()
    assert validate(as_json(example), SCHEMA) == []
    scenario_from_dict(example)  # the loader agrees
    # the other forms of a hardware entry README describes, and a [sweep] table
    example["supply"]["hardware"] = [
        "h200-hgx",
        {"base": "h200-hgx", "cost_per_gpu_hour": 1.10},
        {"gpu": "h100-sxm", "model": "llama-3.1-70b"},
        {"file": "profiles.toml", "profile": "x"},
        {"key": "my-gpu", "cost_per_gpu_hour": 2, "prefill_tokens_per_s": 1e4,
         "decode_tokens_per_s": 100, "power_kw": 1},
    ]  # fmt: skip
    example["sweep"] = {"users.initial": [1e5, 1e6], "reasoning": {"share": [0.1, 0.3]}}
    example["risk"] = {"thresholds": {"total_cost": 1e6, "max_peak_gpus": [500, 800]}}
    assert validate(as_json(example), SCHEMA) == []


def _set(table: dict, path: str, value) -> dict:
    *sections, key = path.split(".")
    node = table
    for section in sections:
        node = node.setdefault(section, {})
    node[key] = value
    return table


MISTAKES = {
    "unknown key": ("users.initail", 1000, "unknown key initail"),
    "wrong type": ("horizon.steps", "ten", "not a integer"),
    "unknown step": ("horizon.step", "1M", "not in"),
    "a date that is no date": ("horizon.start", "next year", "not a date"),
    "a distribution without its family": ("users.initial", {"median": 5}, "matches none"),
    "an unknown family": ("users.initial", {"dist": "cauchy", "loc": 1}, "matches none"),
    "a parameter of another family": (
        "cache.hit_rate",
        {"dist": "beta", "mean": 0.2, "sd": 0.1, "p95": 0.4},
        "matches none",
    ),
    "a probability above 1": ("supply.target_utilization", 1.5, "fails maximum"),
    "a threshold of an unknown variable": ("risk.thresholds", {"total_tokens": 5}, "not in"),
    "a hardware table naming nothing": ("supply.hardware", [{"name": "x"}], "matches none"),
    "a fixed fleet without sizes": ("fleet", {"policy": "fixed"}, "not exactly one"),
}


@pytest.mark.parametrize("case", list(MISTAKES))
def test_obvious_mistakes_are_refused_as_the_loader_refuses_them(case):
    path, value, expected = MISTAKES[case]
    scenario = _set(tomllib.loads((SCENARIOS / "chat-assistant.toml").read_text()), path, value)
    problems = validate(as_json(scenario), SCHEMA)
    assert any(expected in problem for problem in problems), problems
    with pytest.raises(ScenarioError):
        scenario_from_dict(scenario)


def test_a_missing_section_is_refused():
    scenario = tomllib.loads((SCENARIOS / "chat-assistant.toml").read_text())
    del scenario["usage"]
    assert validate(as_json(scenario), SCHEMA) == ["<root>: missing usage"]


def test_defaults_are_the_models_own():
    users = _section("users")["properties"]
    assert users["growth_per_month"]["default"] == 0.0
    assert _section("agents")["properties"]["calls_per_request"]["default"] == 1.0
    assert _section("variability")["properties"]["burst_factor"]["default"] == 1.0
    assert "default" not in DEFS["Normal"]["properties"]["low"]  # -inf is no JSON number
    assert math.isclose(_section("supply")["properties"]["target_utilization"]["default"], 0.7)


def test_readme_holds_the_generated_scenario_reference():
    readme = (ROOT / "README.md").read_text()
    start, end = readme.index(BEGIN), readme.index(END) + len(END) + 1
    assert readme[start:end] == scenario_reference(), (
        "README's scenario reference differs from the schema: replace the block between its"
        " markers with the output of `jevons schema --format markdown`"
    )


def test_the_reference_lists_every_key_once():
    reference = scenario_reference()
    rows = [line for line in reference.splitlines() if line.startswith("| `")]
    keys = [row.split(" | ")[0].strip("| `") for row in rows]
    scenario_keys = keys[: keys.index("fixed")]
    assert len(scenario_keys) == len(set(scenario_keys))
    for key in ("horizon.start", "users.initial", "variability.surges[].multiplier",
                "supply.hardware[].points[].tokens_per_s_per_gpu",
                "supply.uncertainty.<profile>.cost_per_gpu_hour", "fleet.sizes",
                "risk.thresholds", "sweep"):  # fmt: skip
        assert key in scenario_keys, key
    row = rows[keys.index("users.initial")]
    assert "| users |" in row and "required" in row


def test_schema_command_writes_the_schema_and_the_reference(tmp_path):
    runner = CliRunner()
    target = tmp_path / "jevons.schema.json"
    done = runner.invoke(app, ["schema", "-o", str(target)])
    assert done.exit_code == 0, done.output
    assert json.loads(target.read_text()) == SCHEMA
    assert done.output.strip() == f"wrote {target}"
    printed = runner.invoke(app, ["schema", "--format", "markdown"])
    assert printed.exit_code == 0 and printed.output == scenario_reference()


@pytest.mark.parametrize(
    ("args", "expected"),
    [(["--format", "yaml"], "error: unknown format 'yaml'; use json or markdown"),
     (["-o", "missing/x.json"],
      "error: output folder missing does not exist (or is not a folder)")],
)  # fmt: skip
def test_schema_command_bad_input(tmp_path, monkeypatch, args, expected):
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(app, ["schema", *args])
    assert done.exit_code == 2
    assert done.output.strip().splitlines() == [expected]
    assert list(tmp_path.iterdir()) == []
