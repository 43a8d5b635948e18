"""Options and checks that several commands share."""

from __future__ import annotations

import enum
import os
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from jevons.engine.output.files import check_file_target, check_writable
from jevons.engine.scenario.loading import validate_key
from jevons.engine.scenario.schema import Risk
from jevons.errors import JevonsError, ScenarioError


def output_target(output: Path | None, default: Path, inputs: list[Path]) -> Path:
    """The result's path (``output`` or ``default``), checked before any work: writable,
    and none of the command's input files (a scenario named ``x.nc`` would be replaced by
    its own result)."""
    target = check_writable(output or default)
    for source in inputs:
        if same_file(target, source):
            raise JevonsError(
                f"output {target} is the input file {source}; give another name with -o"
            )
    return target


def file_output_target(target: Path, result: Path) -> Path:
    """A plain file made from ``result`` (a report, a table), checked before any work:
    writable, and not the result itself."""
    check_file_target(target)
    if same_file(target, result):
        raise JevonsError(f"output {target} is the result itself; give another name with -o")
    return target


def same_file(a: Path, b: Path) -> bool:
    """``a`` and ``b`` name one file: the same path, or a hard or symbolic link."""
    if a.resolve() == b.resolve():
        return True
    return a.exists() and b.exists() and os.path.samefile(a, b)


class SummaryChoice(enum.StrEnum):
    auto = "auto"
    exact = "exact"
    sketch = "sketch"


SummaryOption = Annotated[
    SummaryChoice | None,
    typer.Option(
        "--summary",
        help="Percentiles: exact (every trajectory at once), sketch (any number of chunks,"
        " within simulation.relative_accuracy) or auto (exact up to 1,000,000 trajectories)."
        " Default: the scenario's simulation.summary.",
    ),
]
BackendOption = Annotated[
    str, typer.Option(help="auto (the first usable of cuda, cupy, cpu), cuda, cupy, cpu or numpy.")
]


def scenario_key_option(key: str):
    """A parser for an option that overrides scenario key ``key``: the value is read
    as a number (``1e6`` as in a scenario file) and validated by the key's own schema
    field, so the option and the file share one set of bounds."""

    def parse(text: str) -> int:
        try:
            value: float = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                raise typer.BadParameter(f"{text!r} is not a number ({key})") from None
            if value.is_integer():
                value = int(value)  # 1e20 is a whole number, however large
        try:
            return validate_key(key, value)
        except ScenarioError as exc:
            reason = exc.problems[0][1]
            raise typer.BadParameter(f"{reason} ({key}), got {text}") from None

    return parse


TrajectoriesOption = Annotated[
    int | None,
    typer.Option(
        "--trajectories",
        "-n",
        parser=scenario_key_option("simulation.trajectories"),
        metavar="INTEGER",
        help="Override simulation.trajectories.",
    ),
]
SeedOption = Annotated[
    int | None,
    typer.Option(
        parser=scenario_key_option("simulation.seed"),
        metavar="INTEGER",
        help="Override simulation.seed.",
    ),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")]
ThresholdOption = Annotated[
    list[str] | None,
    typer.Option(
        "--threshold",
        metavar="NAME=VALUE",
        help="Also report P(NAME > VALUE) over trajectories, for NAME total_cost [USD] or"
        " max_peak_gpus [GPUs]; repeat for more. Added to the scenario's \\[risk.thresholds].",
    ),
]


def threshold_options(options: list[str]) -> dict[str, list[float]]:
    """``--threshold NAME=VALUE`` options as a table, each checked as the scenario's own
    thresholds are, and refused in one line naming the option."""
    thresholds: dict[str, list[float]] = {}
    for option in options:
        name, equals, text = option.partition("=")
        name = name.strip()
        if not equals or not name:
            raise JevonsError(f"--threshold takes NAME=VALUE (e.g. total_cost=2e6), got {option!r}")
        try:
            value = float(text)
        except ValueError:
            raise JevonsError(f"--threshold {option}: {text.strip()!r} is not a number") from None
        try:
            Risk(thresholds={name: value})
        except ValidationError as exc:
            reason = exc.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")
            raise JevonsError(f"--threshold {option}: {reason}") from None
        thresholds.setdefault(name, []).append(value)
    return thresholds
