"""Measured benchmark points from a CSV file, as hardware profiles a scenario can name.

The file has a header row and one row per point. Columns (names are case-sensitive):

* required: ``gpu`` (a key of catalog/gpus.toml), ``model`` (a key of
  catalog/models.toml), ``precision`` (bf16, fp8 or fp4), ``input_tokens`` and
  ``output_tokens`` [tokens per request], ``tokens_per_s_per_gpu`` [tokens/s per
  GPU] and ``token_convention`` (``input+output`` or ``output``: which tokens the
  throughput counts);
* optional: ``interactivity`` [tokens/s per user], ``ttft_s`` [s],
  ``serving_stack``, ``date``, ``source`` (text) and ``profile`` (the profile key,
  by default ``<gpu>-<model>-<precision>``).

An empty optional cell means "not given". Rows with the same profile key form one
profile, in file order; its first point is the headline. :func:`profiles_toml`
writes the profiles in the layout of catalog/hardware.toml.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from typing import Any

from pydantic import ValidationError

from jevons.errors import JevonsError
from jevons.supply.points import BenchmarkPoint
from jevons.supply.profiles import HardwareProfile
from jevons.supply.specs import gpus, models

REQUIRED_COLUMNS = (
    "gpu",
    "model",
    "precision",
    "input_tokens",
    "output_tokens",
    "tokens_per_s_per_gpu",
    "token_convention",
)
OPTIONAL_COLUMNS = ("interactivity", "ttft_s", "serving_stack", "date", "source", "profile")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
NUMBER_COLUMNS = (
    "input_tokens",
    "output_tokens",
    "tokens_per_s_per_gpu",
    "interactivity",
    "ttft_s",
)
COUNT_COLUMNS = ("input_tokens", "output_tokens")  # [tokens]: written as integers where whole
# Point fields in BenchmarkPoint's order, so the written TOML reads like the catalog.
POINT_COLUMNS = tuple(name for name in BenchmarkPoint.model_fields if name in COLUMNS)

# A plain decimal number: no sign other than "+", no "nan", "inf", "0x", or "1_000"
# (all of which float() would accept).
_DECIMAL = re.compile(r"\+?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_INTEGER = re.compile(r"\+?\d+")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_MAX_EXACT_INTEGER = 2**53


def read_points_csv(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Profile key -> profile table (``key``, ``gpu``, ``points``) read from a CSV file.

    Each table is ready for ``HardwareProfile.model_validate`` and has passed it.
    Raises :class:`JevonsError` with one line naming the file, row (its line number,
    the header being line 1) and column of the first problem.
    """
    name = os.fspath(path)
    rows = _rows(name, _text(name))
    header_line, header = next(rows, (0, None))
    if header is None:
        raise JevonsError(
            f"{name}: empty file; expected a header row naming the columns {','.join(COLUMNS)}"
        )
    columns = _checked_header(name, header_line, header)
    profiles: dict[str, dict[str, Any]] = {}
    lines: dict[str, list[int]] = {}  # profile key -> line of each of its points
    for line, cells in rows:
        key, gpu, point = _checked_row(name, line, columns, cells)
        profile = profiles.setdefault(key, {"key": key, "gpu": gpu, "points": []})
        _check_same_as_profile(name, line, profile, gpu, point)
        profile["points"].append(point)
        lines.setdefault(key, []).append(line)
    if not profiles:
        raise JevonsError(f"{name}: no points after the header row")
    for key, profile in profiles.items():
        _check_profile(name, profile, lines[key])
    return profiles


def _text(name: str) -> str:
    try:
        with open(name, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        raise JevonsError(f"{name}: no such file") from None
    except OSError as exc:
        raise JevonsError(f"{name}: cannot read it: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        decoded = exc.object  # after the byte-order mark, if any: exc.start counts from there
        line = decoded.count(b"\n", 0, exc.start) + 1
        raise JevonsError(
            f"{name}: row {line}: not UTF-8 text (byte 0x{decoded[exc.start]:02x});"
            " save the file as UTF-8"
        ) from None


def _rows(name: str, text: str):
    """(line number where the row starts, cells) of each non-blank row."""
    # newline="" leaves line endings to the csv module, which reads LF and CRLF alike
    # and keeps newlines inside quoted cells.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise JevonsError(f"{name}: row {start}: not valid CSV: {exc}") from None
        if any(cell.strip() for cell in cells):
            yield start, [cell.strip() for cell in cells]


def _checked_header(name: str, line: int, header: list[str]) -> list[str]:
    seen = set()
    for column in header:
        if column not in COLUMNS:
            raise JevonsError(
                f"{name}: row {line}, column {column!r}: unknown column; the columns are"
                f" {', '.join(COLUMNS)}"
            )
        if column in seen:
            raise JevonsError(f"{name}: row {line}, column {column}: named twice")
        seen.add(column)
    missing = [column for column in REQUIRED_COLUMNS if column not in seen]
    if missing:
        raise JevonsError(
            f"{name}: row {line}: missing required column{'s' * (len(missing) > 1)}"
            f" {', '.join(missing)}"
        )
    return header


def _checked_row(name: str, line: int, columns: list[str], cells: list[str]):
    """(profile key, gpu, point table) of one row, the point validated."""
    if len(cells) > len(columns):
        raise JevonsError(
            f"{name}: row {line}: {len(cells)} cells, but the header names {len(columns)} columns"
        )
    if len(cells) < len(columns):
        raise JevonsError(
            f"{name}: row {line}, column {columns[len(cells)]}: missing (the row has"
            f" {len(cells)} cells, the header {len(columns)} columns)"
        )
    given = {column: cell for column, cell in zip(columns, cells, strict=True) if cell}

    def fail(column: str, message: str):
        return JevonsError(f"{name}: row {line}, column {column}: {message}")

    for column in REQUIRED_COLUMNS:
        if column not in given:
            raise fail(column, "required, but the cell is empty")
    if given["gpu"] not in gpus():
        raise fail("gpu", f"unknown gpu {given['gpu']!r}; the catalog has: {', '.join(gpus())}")
    if given["model"] not in models():
        raise fail(
            "model", f"unknown model {given['model']!r}; the catalog has: {', '.join(models())}"
        )
    point: dict[str, Any] = {}
    for column in POINT_COLUMNS:
        if column not in given:
            continue
        if column in NUMBER_COLUMNS:
            number = _positive_number(given[column], whole=column in COUNT_COLUMNS)
            if number is None:
                raise fail(column, f"must be a number > 0, got {given[column]!r}")
            point[column] = number
        else:
            point[column] = given[column]
    try:
        BenchmarkPoint.model_validate(point)
    except ValidationError as exc:
        first = exc.errors()[0]
        column = str(first["loc"][0]) if first["loc"] else "?"
        message = first["msg"].removeprefix("Value error, ")
        raise fail(column, f"{message}, got {given.get(column, '')!r}") from None
    key = given.get("profile") or f"{given['gpu']}-{given['model']}-{given['precision']}"
    return key, given["gpu"], point


def _positive_number(cell: str, whole: bool) -> int | float | None:
    """The value of a plain decimal number > 0, or None. With ``whole``, an integer stays
    an int (the catalog writes token counts so) where a float holds it exactly."""
    if not _DECIMAL.fullmatch(cell):
        return None
    value = float(cell)
    if value <= 0:
        return None
    # a number too large for a float reads as inf, which the point's bounds refuse
    if whole and _INTEGER.fullmatch(cell) and value < _MAX_EXACT_INTEGER:
        return int(cell)
    return value


def _check_same_as_profile(name: str, line: int, profile: dict, gpu: str, point: dict) -> None:
    first = profile["points"][0] if profile["points"] else point
    for column, own, theirs in (
        ("gpu", profile["gpu"], gpu),
        ("model", first["model"], point["model"]),
        ("precision", first["precision"], point["precision"]),
    ):
        if own != theirs:
            raise JevonsError(
                f"{name}: row {line}, column {column}: profile '{profile['key']}' is of"
                f" {column} {own!r} (its first row), this row says {theirs!r}; give the"
                " row another profile key"
            )


def _check_profile(name: str, profile: dict, lines: list[int]) -> None:
    """Validate the profile, which converts its points to decode rates; a failure names
    the row of the first point whose addition makes it fail."""
    try:
        HardwareProfile.model_validate(profile)
    except ValidationError:
        pass
    else:
        return
    for count in range(1, len(lines) + 1):
        try:
            HardwareProfile.model_validate({**profile, "points": profile["points"][:count]})
        except ValidationError as exc:
            raise JevonsError(f"{name}: row {lines[count - 1]}: {_error_line(exc)}") from None
    raise AssertionError("a profile failed whole but every prefix of its points passed")


def _error_line(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def profiles_toml(profiles: dict[str, dict[str, Any]], source: str) -> str:
    """TOML text of ``profiles`` in the layout of catalog/hardware.toml: a ``[key]``
    table of the profile's fields, then one ``[[key.points]]`` table per point.

    ``source`` (the file the profiles came from) is named in a comment at the top.
    Values may be str, int, float (finite), bool, or a table of those (``assumed``);
    anything else raises ``TypeError``, an infinite or nan float ``ValueError``.
    """
    lines = [
        f"# Hardware profiles imported from {_comment_text(source)}.",
        "# A scenario names one as hardware = [{ file = ..., profile = ... }].",
    ]
    for key, profile in profiles.items():
        if profile.get("key", key) != key:
            raise ValueError(f"profile '{key}' holds key '{profile['key']}'")
        table = _toml_key(key)
        lines += ["", f"[{table}]"]
        lines += _key_values({k: v for k, v in profile.items() if k not in ("key", "points")})
        for point in profile.get("points", []):
            lines += ["", f"[[{table}.points]]", *_key_values(point)]
    return "\n".join(lines) + "\n"


def _key_values(table: dict[str, Any]) -> list[str]:
    return [f"{_toml_key(key)} = {_toml_value(value)}" for key, value in table.items()]


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _toml_string(key)


def _toml_value(value: Any, table_allowed: bool = True) -> str:
    if isinstance(value, bool):  # before int: a bool is an int
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} has no place in a profile")
        return repr(value)  # shortest text that reads back as the same float
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, dict) and table_allowed:  # one level: `assumed`
        inner = ", ".join(f"{_toml_key(k)} = {_toml_value(v, False)}" for k, v in value.items())
        return f"{{ {inner} }}" if inner else "{}"
    raise TypeError(f"cannot write a {type(value).__name__} as a profile value")


_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif char < " " or char == "\x7f":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _comment_text(text: str) -> str:
    return "".join(char if char.isprintable() else " " for char in text)
