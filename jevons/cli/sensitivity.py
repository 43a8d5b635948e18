"""``jevons sensitivity``: which uncertain input drives cost and capacity."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
import xarray as xr
from rich.markup import escape
from rich.table import Table

from jevons.analytics.sensitivity import add_sensitivity
from jevons.cli.console import out, print_table, user_errors
from jevons.engine.output.files import check_writable, open_result, write_dataset
from jevons.engine.output.shard_files import refuse_shard

app = typer.Typer()

OUTPUT_WORDS = {
    "total_cost": "total cost",
    "max_peak_gpus": "largest peak GPUs",
    "horizon_cost_per_mtok": "$ per M output tokens",
}


def _figure(x: float) -> str:
    return "n/a" if x != x else f"{x:,.4g}"


def print_sensitivity(ds: xr.Dataset) -> None:
    """One table per output and hardware, inputs sorted by first-order Sobol index
    (the share of variance an input explains alone, which also sees effects that are
    not monotone, where the rank correlation does not)."""
    for output in ds.output.values:
        for hw in ds.hardware.values:
            sel = ds.sel(output=output, hardware=hw)
            order = np.argsort(-np.nan_to_num(sel.sobol_first.values, nan=-np.inf), kind="stable")
            units = str(sel.output_units.values)
            table = Table(
                show_edge=False,
                pad_edge=False,
                title=f"{OUTPUT_WORDS.get(str(output), output)} on {hw}: inputs by influence",
            )
            table.add_column("input", no_wrap=True)
            table.add_column("Sobol S1", justify="right", no_wrap=True)
            table.add_column("95% bounds", justify="right", no_wrap=True)
            table.add_column("Spearman", justify="right", no_wrap=True)
            table.add_column(f"median, input low / high decile [{units}]", justify="right")
            for k in order:
                row = sel.isel(input=int(k))
                table.add_row(
                    escape(str(row.input.values)),
                    f"{float(row.sobol_first):.3f}",
                    f"{float(row.sobol_first_low):.3f}..{float(row.sobol_first_high):.3f}",
                    f"{float(row.sensitivity_spearman):+.3f}",
                    f"{_figure(float(row.tornado_low))} / {_figure(float(row.tornado_high))}",
                )
            print_table(table)


@app.command()
def sensitivity(
    result: Annotated[
        Path, typer.Argument(help="Result of `jevons run --keep-trajectories` (.nc or .zarr).")
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Where to write the result with its analysis. Default: RESULT."
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No tables.")] = False,
) -> None:
    """Which uncertain input drives total cost, largest peak GPUs and cost per token.

    Rank correlation, first-order Sobol indices and tornado medians of every uncertain
    input."""
    with user_errors():
        target = check_writable(output or result)
        ds = open_result(result)
        refuse_shard(ds, str(result))
        ds = add_sensitivity(ds)
        write_dataset(ds, target)
    if not quiet:
        print_sensitivity(ds)
        out.print(f"wrote {target}", highlight=False)
