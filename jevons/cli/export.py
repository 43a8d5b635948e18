"""``jevons export``: a result as a tidy CSV or Parquet table for spreadsheets and BI tools."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jevons.cli.console import out, user_errors
from jevons.cli.options import file_output_target
from jevons.engine.output.files import open_result
from jevons.engine.output.shard_files import refuse_shard
from jevons.report.tidy import FORMATS, export_result, table_format

app = typer.Typer()


@app.command()
def export(
    result: Annotated[
        Path, typer.Argument(help="Result of `jevons run`, `sweep` or `merge` (.nc or .zarr).")
    ],
    fmt: Annotated[
        str | None,
        typer.Option("--format", "-f", help="csv or parquet. Default: the one -o names, else csv."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="File to write. Default: RESULT's name with .csv or .parquet, in the current"
            " folder.",
        ),
    ] = None,
    trajectories: Annotated[
        bool,
        typer.Option(
            "--trajectories",
            help="Also export the per-trajectory inputs and totals of --keep-trajectories,"
            " one row per trajectory.",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No closing line.")] = False,
) -> None:
    """Write every number of RESULT as a long table (CSV or Parquet), with its units.

    One row per variable and point of its dims (time, quantile, hardware, fleet size,
    sweep keys, ...)."""
    with user_errors():
        chosen = table_format(output, fmt)
        ds = open_result(result)
        refuse_shard(ds, str(result))
        target = file_output_target(output or Path(result.stem + FORMATS[chosen]), result)
        table = export_result(ds, target, chosen, trajectories=trajectories)
    if not quiet:
        out.print(f"wrote {len(table):,} rows to {target} ({chosen})", highlight=False)
