"""Scenario keys written into TOML text: a fragment of its own, or a whole scenario with
every other key and comment kept (tomlkit edits the document in place)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import tomlkit
from tomlkit.items import AoT, InlineTable, Table


@dataclass(frozen=True)
class Setting:
    """One scenario key to write: ``key`` as ``section.name``, its value (a number, a list,
    or a table such as a distribution), and a comment saying where it came from."""

    key: str
    value: Any
    comment: str = ""


def _item(value: Any) -> Any:
    if isinstance(value, dict):
        table: InlineTable = tomlkit.inline_table()
        table.update({k: _item(v) for k, v in value.items()})
        return table
    if isinstance(value, list):
        array = tomlkit.array()
        array.extend(_item(v) for v in value)
        return array
    return value


def _after_last_value(table: Any) -> int | None:
    """Where a new key goes in ``table``: after its last plain key, before the comments and
    sub-tables that follow it (they belong to what comes next)."""
    last = None
    for index, (key, item) in enumerate(table.value.body):
        if key is not None and not isinstance(item, Table | AoT):
            last = index
    return None if last is None else last + 1


def _put(doc: Any, setting: Setting) -> None:
    section, name = setting.key.split(".")
    if section not in doc:
        doc.add(section, tomlkit.table())
    table = doc[section]
    comment = setting.comment
    if name in table:
        table[name] = _item(setting.value)
        # the comments above the key described the value it replaces
        comment = f"calibrated, replacing the value the comments above describe; {comment}"
    else:
        position = _after_last_value(table)
        if position is None or position >= len(table.value.body):
            table[name] = _item(setting.value)
        else:
            table.value._insert_at(position, name, _item(setting.value))
    if comment:
        table[name].comment(comment)


def fragment_text(settings: list[Setting], header: list[str]) -> str:
    """A TOML fragment: ``header`` as comment lines, then each setting in its section."""
    doc = tomlkit.document()
    for line in header:
        doc.add(tomlkit.comment(line))
    doc.add(tomlkit.nl())
    for setting in settings:
        _put(doc, setting)
    return tomlkit.dumps(doc)


def scenario_with(text: str, settings: list[Setting], header: list[str]) -> str:
    """``text`` (a scenario) with ``settings`` replacing or adding their keys; every other
    key and comment is kept, and ``header`` comment lines go first."""
    doc = tomlkit.parse(text)
    for setting in settings:
        _put(doc, setting)
    lead = "".join(f"# {line}\n" if line else "#\n" for line in header)
    return lead + "\n" + tomlkit.dumps(doc)
