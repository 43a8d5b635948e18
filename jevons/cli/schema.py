"""``jevons schema``: the scenario's JSON Schema for editors, or its Markdown reference."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from jevons.cli.console import out, stdout_failed, user_errors
from jevons.engine.output.files import check_file_target, write_text
from jevons.engine.scenario.json_schema import scenario_json_schema
from jevons.engine.scenario.reference import scenario_reference
from jevons.errors import JevonsError

app = typer.Typer()

FORMATS = ("json", "markdown")


def schema_text(fmt: str) -> str:
    if fmt == "json":
        return json.dumps(scenario_json_schema(), indent=2, allow_nan=False) + "\n"
    if fmt == "markdown":
        return scenario_reference()
    raise JevonsError(f"unknown format '{fmt}'; use {' or '.join(FORMATS)}")


@app.command()
def schema(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write. Default: standard output."),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="json (the JSON Schema, for editors) or markdown (the scenario reference).",
        ),
    ] = "json",
) -> None:
    """The JSON Schema of scenario files, for editors; or the same as a Markdown reference.

    Every key has a description and its units, so that editors validate and complete
    scenario files."""
    with user_errors():
        if output is not None:
            check_file_target(output)
        text = schema_text(fmt)
        if output is not None:
            write_text(text, output)
            out.print(f"wrote {output}", highlight=False, soft_wrap=True)
            return
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as exc:
        stdout_failed(exc)
