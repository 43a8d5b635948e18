"""The scenario's JSON Schema, from the pydantic models, for editors that validate and
complete scenario files (Taplo, Even Better TOML).

pydantic writes the schema of what the models hold. A scenario file may say some
things more briefly, which the loader expands before the models see them; the
schema states those forms too:

* a plain number wherever a distribution is accepted (a fixed value);
* ``supply.hardware`` as a catalog key, a table (a profile, ``{ base = ... }``
  overrides of a catalog profile, ``{ file = ... }`` a profile from a file, or a
  roofline estimate ``{ gpu = ..., model = ... }``), or a list of them;
* a threshold of ``[risk.thresholds]`` as one number or a list;
* the ``[sweep]`` table that ``jevons sweep`` reads.

TOML has no null, so an optional key is left out rather than set to null. Each
field's description ends with its units in brackets, e.g. ``[tokens/call]``.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, NoDefault

from jevons.engine.scenario.distributions import Fixed
from jevons.engine.scenario.schema import Scenario
from jevons.kernels.variables import EXCEEDANCE_OF

# Taplo and most editors read draft 7; pydantic's output keeps to it (``$defs`` is only
# where the references point).
DRAFT = "http://json-schema.org/draft-07/schema#"
DEFS = "$defs"

DISTRIBUTION = {
    "description": "A number (a fixed value) or a distribution table, drawn once per"
    ' trajectory, e.g. { dist = "lognormal", median = 1e6, p95 = 3e6 }',
}
FIXED_VALUE = {"type": "number", "description": 'A fixed value: { dist = "fixed", value = ... }'}

HARDWARE_ENTRY_KEYS = {
    "base": {
        "type": "string",
        "description": "A catalog profile whose figures this table's other keys override",
    },
    "file": {
        "type": "string",
        "description": "A TOML file of profiles (such as `jevons hardware import` writes),"
        " relative to the scenario's folder",
    },
    "profile": {
        "type": "string",
        "description": "The profile of that file to use; needed where it holds more than one",
    },
}
CATALOG_KEY = {
    "type": "string",
    "description": "A hardware profile of the catalog (`jevons hardware` lists them)",
}

SWEEP = {
    "type": "object",
    "description": "Grid of `jevons sweep` (which alone reads it): key path = [values], or"
    " nested tables; each key becomes a dim of the result",
    "additionalProperties": {
        "anyOf": [{"type": "array", "minItems": 1}, {"$ref": f"#/{DEFS}/SweepTable"}]
    },
}


class _ScenarioSchema(GenerateJsonSchema):
    """pydantic's generator, with what a TOML file can say."""

    def nullable_schema(self, schema):
        # TOML has no null: an optional key is left out
        return self.generate_inner(schema["schema"])

    def field_title_should_be_set(self, schema) -> bool:
        return False  # the description says it; a title derived from the key adds nothing

    def get_default_value(self, schema) -> Any:
        """Defaults made by a factory too, where they are a fixed value or an empty table or
        list; a default of a whole section is left to its keys', and +-inf is no number."""
        default = schema.get("default", NoDefault)
        factory = schema.get("default_factory")
        if default is NoDefault and factory is not None:
            if schema.get("default_factory_takes_data"):
                return NoDefault
            default = factory()
        if isinstance(default, Fixed):
            return default.value
        if isinstance(default, float) and not math.isfinite(default):
            return NoDefault
        if not isinstance(default, list | dict | str | int | float | bool | None):
            return NoDefault
        return default


def _walk(node: Any):
    """Every dict in ``node``, parents before children."""
    if isinstance(node, dict):
        yield node
        for value in list(node.values()):
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _name_distributions(schema: dict) -> None:
    """One definition, Distribution, for every distribution-valued field: a number or one of
    the tables tagged by ``dist`` (each of which needs its tag)."""
    tables = None
    for node in _walk(schema):
        if node.get("discriminator", {}).get("propertyName") == "dist":
            tables = {"oneOf": node.pop("oneOf"), "discriminator": node.pop("discriminator")}
            node["$ref"] = f"#/{DEFS}/Distribution"
    assert tables is not None, "the scenario has distribution-valued fields"
    for choice in tables["oneOf"]:
        family = schema[DEFS][choice["$ref"].rsplit("/", 1)[1]]
        required = family.setdefault("required", [])
        if "dist" not in required:
            required.insert(0, "dist")
    schema[DEFS]["Distribution"] = {**DISTRIBUTION, "anyOf": [FIXED_VALUE, tables]}


def _hardware_entries(schema: dict) -> None:
    """``supply.hardware``: a catalog key, a table or a list of them. A table holds a
    profile's keys, or changes to a catalog profile (``base``) or to one from a file
    (``file``); it names its profile by ``key``, or ``base``, ``file`` or ``gpu`` name it."""
    defs = schema[DEFS]
    entry = copy.deepcopy(defs.pop("HardwareProfile"))
    entry.pop("required", None)
    entry["properties"].update(HARDWARE_ENTRY_KEYS)
    entry["anyOf"] = [{"required": [key]} for key in ("key", "base", "file", "gpu")]
    defs["HardwareEntry"] = entry
    table = {"$ref": f"#/{DEFS}/HardwareEntry"}
    field = defs["Supply"]["properties"]["hardware"]
    description = field["description"]
    field.clear()
    field.update(
        description=description,
        anyOf=[
            CATALOG_KEY,
            table,
            {"type": "array", "minItems": 1, "items": {"anyOf": [CATALOG_KEY, table]}},
        ],
    )


def _thresholds(schema: dict) -> None:
    """``[risk.thresholds]``: a known variable = a number or a list of numbers, at least 0."""
    number = {"type": "number", "minimum": 0}
    field = schema[DEFS]["Risk"]["properties"]["thresholds"]
    field["propertyNames"] = {"enum": list(EXCEEDANCE_OF)}
    field["additionalProperties"] = {"anyOf": [number, {"type": "array", "items": number}]}


def _sweep_table(schema: dict) -> None:
    schema[DEFS]["SweepTable"] = {k: v for k, v in SWEEP.items() if k != "description"}
    schema["properties"]["sweep"] = SWEEP


def _describe_references(schema: dict) -> None:
    """A reference with a description (or default) beside it becomes ``allOf`` of the
    reference: draft 7, and Taplo, ignore whatever sits beside a ``$ref``."""
    for node in _walk(schema):
        if "$ref" in node and len(node) > 1:
            node["allOf"] = [{"$ref": node.pop("$ref")}]


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file, as a dict ready for ``json.dumps``."""
    schema = Scenario.model_json_schema(schema_generator=_ScenarioSchema)
    _name_distributions(schema)
    _hardware_entries(schema)
    _thresholds(schema)
    _sweep_table(schema)
    _describe_references(schema)
    schema["title"] = "jevons scenario"
    schema["description"] = (
        "A jevons scenario: a product's demand, its uncertain inputs and the hardware that"
        " serves it (TOML)"
    )
    return {"$schema": DRAFT, **schema}
