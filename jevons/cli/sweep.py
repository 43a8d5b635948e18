"""``jevons sweep``: a grid of scenario variants, one labelled dimension per swept key."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jevons.api import sweep_source
from jevons.cli.console import out, progress_bar, user_errors
from jevons.cli.interrupts import interrupted_before
from jevons.cli.options import (
    BackendOption,
    QuietOption,
    SeedOption,
    SummaryOption,
    TrajectoriesOption,
    output_target,
)
from jevons.engine.execution.settings import RunSettings
from jevons.engine.execution.sweeps import checkpoint_folder
from jevons.engine.scenario.source import read_source
from jevons.engine.scenario.sweep_grid import parse_set_option
from jevons.errors import Interrupted

app = typer.Typer()


@app.command()
def sweep(
    scenario: Annotated[
        Path, typer.Argument(help="Scenario TOML file (may hold a \\[sweep] table).")
    ],
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="KEY=V1,V2,...: sweep a scenario key over these values (repeat for more"
            ' axes; values are TOML: 1e4, 0.3, "name", { dist = ... }). Overrides the'
            " scenario's \\[sweep] entry for the same key.",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Result: .nc or .zarr (default NAME.sweep.nc)."),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Continue an interrupted sweep: keep its finished points."),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Run points on a local Dask cluster of N workers."),
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Run points on the Dask cluster at this address.")
    ] = None,
    trajectories: TrajectoriesOption = None,
    seed: SeedOption = None,
    backend: BackendOption = "auto",
    summary: SummaryOption = None,
    quiet: QuietOption = False,
) -> None:
    """Run SCENARIO at every point of a grid; each swept key becomes a dimension.

    Finished points are kept in OUTPUT.points/ until the whole sweep is written,
    so a killed sweep continues with --resume (with the same scenario and settings).
    Keys that shape the result (horizon.*, simulation.quantiles, fleet.*) take one value.
    """
    with user_errors():
        source = read_source(scenario, sweep=True)
        axes = [parse_set_option(option) for option in set_ or []]
        target = output_target(output, Path(f"{scenario.stem}.sweep.nc"), [scenario])
        settings = RunSettings(
            trajectories=trajectories, seed=seed, backend=backend,
            summary=summary and summary.value,
        )  # fmt: skip
        reused = []
        try:
            with interrupted_before(target), progress_bar(quiet, "points") as bar:
                task = bar.add_task("sweeping", total=None)

                def on_point(done: int, total: int, was_reused: bool) -> None:
                    if was_reused:
                        reused.append(done)
                    bar.update(task, completed=done, total=total)

                ds = sweep_source(
                    source, axes, settings, output=target, resume=resume, workers=workers,
                    scheduler=scheduler, on_point=on_point,
                )  # fmt: skip
        except Interrupted as exc:
            folder = checkpoint_folder(target)
            kept = len(list(folder.glob("point-*.nc"))) if folder.is_dir() else 0
            if kept:
                points = f"{kept} finished point" + ("s" if kept > 1 else "")
                exc.add_note(f"{points} kept in {folder}: continue with --resume")
            raise
    if not quiet:
        dims = [str(dim) for dim in ds.dims if "sweep_key" in ds[dim].attrs]
        shape = ", ".join(f"{dim} ({ds.sizes[dim]})" for dim in dims) or "none"
        note = f"; {len(reused)} reused from an earlier run" if reused else ""
        out.print(
            f"{ds.attrs['sweep_points']} points{note}; sweep dims: {shape}; wrote {target}",
            highlight=False,
        )
