"""``jevons run``: simulate one scenario, print a summary, write the dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from jevons.api import run_shard, run_source
from jevons.cli.console import err, out, progress_bar, user_errors
from jevons.cli.interrupts import interrupted_before
from jevons.cli.options import (
    BackendOption,
    QuietOption,
    SeedOption,
    SummaryOption,
    ThresholdOption,
    TrajectoriesOption,
    output_target,
    scenario_key_option,
    threshold_options,
)
from jevons.cli.sensitivity import print_sensitivity
from jevons.cli.summary import print_summary
from jevons.engine.execution.precision import DEFAULT_MAX_TRAJECTORIES, precision_target
from jevons.engine.execution.run import ProgressCallback
from jevons.engine.execution.settings import RunSettings
from jevons.engine.output.files import write_dataset
from jevons.engine.output.shard_files import Shard
from jevons.engine.scenario.source import read_source
from jevons.errors import JevonsError

app = typer.Typer()


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Result to write: .nc (NetCDF) or .zarr (Zarr). Default: the scenario"
            " file's name with .nc (with --shard: NAME.shard-I-of-N.nc).",
        ),
    ] = None,
    trajectories: TrajectoriesOption = None,
    seed: SeedOption = None,
    backend: BackendOption = "auto",
    summary: SummaryOption = None,
    shard: Annotated[
        str | None,
        typer.Option(
            help="I/N: simulate only the I-th of N slices of the trajectories and write its"
            " sketches, for `jevons merge` (e.g. one Slurm array task each).",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Split the trajectories over a local Dask cluster of N workers."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Split the trajectories over the Dask cluster at this address."),
    ] = None,
    keep_trajectories: Annotated[
        bool,
        typer.Option(
            "--keep-trajectories",
            help="Also store each trajectory's drawn inputs and horizon totals"
            " (for sensitivity analysis; grows with the trajectory count).",
        ),
    ] = False,
    sensitivity: Annotated[
        bool,
        typer.Option(
            "--sensitivity",
            help="Keep the trajectories and add what `jevons sensitivity` adds: which"
            " uncertain input drives cost and capacity.",
        ),
    ] = False,
    threshold: ThresholdOption = None,
    precision: Annotated[
        float | None,
        typer.Option(
            help="Add trajectories until the 95% confidence interval of the P95 is within"
            " ± this share of it (0.01: ±1%), for --precision-of; starts at -n.",
        ),
    ] = None,
    precision_of: Annotated[
        str,
        typer.Option(
            help="The output --precision narrows: total_cost, max_peak_gpus,"
            " horizon_cost_per_mtok or peak_gpus (every step).",
        ),
    ] = "total_cost",
    max_trajectories: Annotated[
        int,
        typer.Option(
            parser=scenario_key_option("simulation.trajectories"),
            metavar="INTEGER",
            help="With --precision: stop at this many trajectories, reached or not.",
        ),
    ] = DEFAULT_MAX_TRAJECTORIES,
    quiet: QuietOption = False,
) -> None:
    """Simulate SCENARIO and write percentile demand, capacity and cost (NetCDF or Zarr)."""
    with user_errors():
        source = read_source(scenario)
        if sensitivity and (shard is not None or workers is not None or scheduler is not None):
            raise JevonsError(
                "--sensitivity needs every trajectory in one process (no --shard or --workers)"
            )
        goal = precision_target(precision, precision_of, max_trajectories)
        if goal is not None and shard is not None:
            raise JevonsError("--precision grows one run: not with --shard")
        settings = RunSettings(
            trajectories=trajectories, seed=seed, backend=backend,
            summary=summary and summary.value, keep_trajectories=keep_trajectories,
            thresholds=threshold_options(threshold or []),
        )  # fmt: skip
        if shard is not None:
            part = Shard.parse(shard)
            default = Path(f"{scenario.stem}.shard-{part.index + 1}-of-{part.count}.nc")
            target = output_target(output, default, [scenario])
            with interrupted_before(target):
                with progress_bar(quiet) as bar:
                    partial = run_shard(source, part, settings, progress=step_progress(bar))
                write_dataset(partial, target)
            if not quiet:
                first, stop = partial.attrs["trajectory_start"], partial.attrs["trajectory_stop"]
                out.print(
                    f"shard {part.index + 1}/{part.count}: trajectories {first:,}..{stop - 1:,}"
                    f" of {partial.attrs['trajectories']:,}; wrote {target}"
                    " (merge the shards with `jevons merge`)",
                    highlight=False,
                    soft_wrap=True,
                )
            return
        target = output_target(output, Path(scenario.stem + ".nc"), [scenario])
        on_dask = workers is not None or scheduler is not None
        with interrupted_before(target):
            with progress_bar(quiet) as bar:
                waiting = "simulating on Dask workers" if on_dask else None
                ds = run_source(
                    source, settings, sensitivity=sensitivity, workers=workers,
                    scheduler=scheduler, progress=step_progress(bar, waiting),
                    precision=goal, on_round=None if quiet else print_round,
                )  # fmt: skip
            write_dataset(ds, target)
    if not quiet:
        print_summary(ds)
        if sensitivity:
            print_sensitivity(ds)
        if "precision_target" in ds.attrs:
            print_precision(ds)
        out.print(f"wrote {target}", highlight=False, soft_wrap=True)


def print_round(trajectories: int, reached: float) -> None:
    """One line per round of a --precision run, on stderr (the log of a batch job)."""
    err.print(
        f"{trajectories:,} trajectories: P95 within ±{reached:.2%}",
        highlight=False,
        soft_wrap=True,
    )


def print_precision(ds) -> None:
    target, reached = ds.attrs["precision_target"], ds.attrs["precision_achieved"]
    name, n = ds.attrs["precision_of"], ds.attrs["trajectories"]
    if ds.attrs["precision_met"]:
        what = f"reached at {n:,} trajectories"
    else:
        what = f"NOT reached: stopped at {n:,} trajectories, {ds.attrs['precision_stopped_at']}"
    out.print(
        f"precision: the P95 of {name} is within ±{reached:.2%} (95% confidence;"
        f" target ±{target:.2%}), {what}",
        highlight=False,
        soft_wrap=True,
    )


def step_progress(bar: Progress, waiting: str | None = None) -> ProgressCallback:
    """A progress callback that moves ``bar``; until the first step it shows ``waiting``
    (by default: the first run on a machine compiles the kernels before its first step)."""
    task = bar.add_task(waiting or "starting (compiles on first use)", total=None)

    def moved(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total, description="simulating")

    return moved
