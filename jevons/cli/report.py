"""``jevons report``: one self-contained HTML page of a result's charts and tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jevons.cli.console import out, user_errors
from jevons.cli.options import file_output_target
from jevons.engine.output.files import open_result
from jevons.engine.output.shard_files import refuse_shard
from jevons.errors import JevonsError

app = typer.Typer()

HTML_SUFFIXES = (".html", ".htm")


def report_target(output: Path | None, result: Path) -> Path:
    """Where the report goes (``output``, else RESULT's name with .html in the current
    folder), checked before any work: an HTML name in a writable folder, never the
    result itself."""
    target = output or Path(result.with_suffix(".html").name)
    if target.suffix.lower() not in HTML_SUFFIXES:
        raise JevonsError(f"output {target}: give a file name ending in .html")
    return file_output_target(target, result)


@app.command()
def report(
    result: Annotated[Path, typer.Argument(help="Result of `jevons run` (.nc or .zarr).")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="HTML file to write. Default: RESULT's name with .html, in the current folder.",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No message.")] = False,
) -> None:
    """Write one self-contained HTML page of RESULT's charts and tables: open it anywhere.

    Fan charts of demand and GPUs, cost per token, total-cost exceedance, sensitivity,
    fixed fleets, inputs and provenance; nothing is fetched, so it opens offline."""
    with user_errors():
        target = report_target(output, result)
        ds = open_result(result)
        refuse_shard(ds, str(result))
        # matplotlib is imported here, not at start-up: other commands never pay for it
        from jevons.report.document import check_result, write_report

        check_result(ds, str(result))
        write_report(ds, target)
    if not quiet:
        out.print(f"wrote {target}", highlight=False)
