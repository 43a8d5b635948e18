"""The ``jevons`` app: one module per command, composed here, and the options that
come before the command (``--version``, ``--verbose``)."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

import jevons
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
    epilog="Exit codes: 0 done; 1 internal error; 2 bad input, nothing written; 130 stopped"
    " by SIGINT (Ctrl-C), 143 by SIGTERM, 129 by SIGHUP: nothing half-written, an earlier"
    " result left as it was.",
)
for module in (
    run, sweep, merge, validate, describe, report, export, schema, hardware, calibrate,
    sensitivity,
):  # fmt: skip
    app.registered_commands.extend(module.app.registered_commands)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record comes (a test may replace it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


_handler = _StderrHandler()
_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))


def configure_logging(verbose: bool) -> None:
    """``--verbose``: the library's INFO records (plan, backend, chunks, points, files)
    on stderr; otherwise only its warnings."""
    logger = logging.getLogger("jevons")
    if _handler not in logger.handlers:
        logger.addHandler(_handler)
    logger.setLevel(logging.INFO if verbose else logging.WARNING)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"jevons {jevons.__version__}")
        raise typer.Exit()


@app.callback()
def options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_print_version,
            help="Print the version and exit.",
        ),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Log what the run does (plan, backend, chunk size, sweep points, files"
            " written) on standard error.",
        ),
    ] = False,
) -> None:
    configure_logging(verbose)
