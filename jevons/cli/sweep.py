"""``jevons sweep``: a grid of scenario variants, one labelled dimension per swept key."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

import typer

from jevons.cli.console import out, user_errors
from jevons.cli.run import (
    BackendOption,
    QuietOption,
    SeedOption,
    SummaryOption,
    TrajectoriesOption,
    output_target,
    simulation_progress,
)
from jevons.engine.execution.distributed import dask_client
from jevons.engine.execution.sweeps import (
    RunSettings,
    check_backend,
    check_checkpoints,
    checkpoint_folder,
    run_sweep,
    sweep_manifest,
)
from jevons.engine.scenario.loading import read_scenario_text
from jevons.engine.scenario.sweep_grid import (
    expand_grid,
    merge_axes,
    parse_set_option,
    split_sweep_table,
)
from jevons.errors import ScenarioError

app = typer.Typer()


@app.command()
def sweep(
    scenario: Annotated[
        Path, typer.Argument(help="Scenario TOML file (may hold a [sweep] table).")
    ],
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="KEY=V1,V2,...: sweep a scenario key over these values (repeat for more"
            ' axes; values are TOML: 1e4, 0.3, "name", { dist = ... }). Overrides the'
            " scenario's [sweep] entry for the same key.",
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
        text = read_scenario_text(scenario)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(str(scenario), [("", f"not valid TOML: {exc}")]) from None
        data, file_axes = split_sweep_table(data)
        axes = merge_axes(file_axes, [parse_set_option(option) for option in set_ or []])
        grid, points = expand_grid(data, axes, str(scenario))
        target = output_target(output, Path(f"{scenario.stem}.sweep.nc"), [scenario])
        settings = RunSettings(trajectories, seed, backend, summary and summary.value)
        manifest = sweep_manifest(data, axes, points, settings)
        check_checkpoints(checkpoint_folder(target), resume, manifest)
        check_backend(backend, local=scheduler is None)
        with (
            simulation_progress(quiet, "points") as bar,
            dask_client(workers, scheduler, backend) as client,
        ):
            task = bar.add_task("sweeping", total=len(points))
            reused = []

            def on_point(done: int, total: int, was_reused: bool) -> None:
                if was_reused:
                    reused.append(done)
                bar.update(task, completed=done)

            ds = run_sweep(
                grid, points, text, settings, target, manifest=manifest, resume=resume,
                client=client, on_point=on_point,
            )  # fmt: skip
    if not quiet:
        dims = ", ".join(f"{axis.dim} ({len(axis.values)})" for axis in grid) or "none"
        note = f"; {len(reused)} reused from an earlier run" if reused else ""
        out.print(
            f"{len(points)} points{note}; sweep dims: {dims}; wrote {target}", highlight=False
        )
        del ds
