"""The ``jevons`` app: one module per command, composed here."""

from __future__ import annotations

import typer

from jevons.cli import (
    calibrate,
    describe,
    export,
    hardware,
    merge,
    report,
    run,
    schema,
    sensitivity,
    sweep,
    validate,
)

app = typer.Typer(
    name="jevons",
    help="Monte Carlo forecasts of LLM token demand, GPU capacity and cost per token.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
for module in (
    run, sweep, merge, validate, describe, report, export, schema, hardware, calibrate,
    sensitivity,
):  # fmt: skip
    app.registered_commands.extend(module.app.registered_commands)


def main() -> None:
    app()
