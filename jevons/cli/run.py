"""``jevons run``: simulate one scenario, print a summary, write the dataset."""

from __future__ import annotations

import enum
import os
from pathlib import Path
from typing import Annotated

import typer
import xarray as xr
from pydantic import ValidationError
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jevons.analytics.sensitivity import add_sensitivity
from jevons.cli.console import err, out, print_table, user_errors
from jevons.cli.sensitivity import print_sensitivity
from jevons.engine.execution.distributed import dask_client
from jevons.engine.execution.run import run_scenario
from jevons.engine.execution.shards import run_on_cluster, run_shard
from jevons.engine.output.files import check_writable, write_dataset
from jevons.engine.output.shard_files import Shard
from jevons.engine.scenario.loading import parse_scenario_text, read_scenario_text, validate_key
from jevons.engine.scenario.schema import Risk, Scenario
from jevons.errors import JevonsError, ScenarioError

app = typer.Typer()

STEP_WORDS = {"1h": "hourly", "1D": "daily", "7D": "weekly"}


def _money(x: float) -> str:
    if x != x:
        return "n/a"  # no output tokens at all
    return f"${x:,.3g}" if abs(x) < 1000 else f"${x:,.0f}"


def _count(x: float) -> str:
    if abs(x) >= 1e15:
        return f"{x:.3g}"
    for unit, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"{x / scale:.3g}{unit}"
    return f"{x:.3g}"


def output_target(output: Path | None, default: Path, inputs: list[Path]) -> Path:
    """The result's path (``output`` or ``default``), checked before any work: writable,
    and none of the command's input files (a scenario named ``x.nc`` would be replaced by
    its own result)."""
    target = check_writable(output or default)
    for source in inputs:
        same = target.resolve() == source.resolve()
        if not same and target.exists() and source.exists():
            same = os.path.samefile(target, source)  # a hard or symbolic link
        if same:
            raise JevonsError(
                f"output {target} is the input file {source}; give another name with -o"
            )
    return target


def print_summary(ds: xr.Dataset) -> None:
    q = [float(x) for x in ds["quantile"].values]
    # P50/P95/P99 when the scenario asks for them, else its three highest quantiles
    levels = [p for p in (0.5, 0.95, 0.99) if p in q] or q[-3:]
    middle = 0.5 if 0.5 in q else levels[0]
    n, steps = ds.attrs["trajectories"], ds.attrs["steps"]
    step = STEP_WORDS.get(ds.attrs["step"], ds.attrs["step"])
    out.print(
        f"[bold]{escape(ds.attrs['scenario_name'])}[/]: {n:,} trajectories x {steps} "
        f"{step} steps from {ds.attrs['horizon_start']}"
        f" ({ds.attrs['backend']} backend, {ds.attrs['wall_time_s']:.2f} s)",
        highlight=False,
    )
    tokens = "  ".join(
        f"P{p * 100:g} {_count(float(ds.total_tokens.sel(quantile=p)))}" for p in levels
    )
    out.print(f"total tokens over the horizon: {tokens}", highlight=False)

    label = "/".join(f"P{p * 100:g}" for p in levels)
    table = Table(show_edge=False, pad_edge=False, caption=f"over the horizon, {label}")
    table.add_column("hardware", no_wrap=True)
    table.add_column("peak GPUs", justify="right", no_wrap=True)
    table.add_column("$ per M output tokens", justify="right", no_wrap=True)
    table.add_column(f"$ per M tokens P{middle * 100:g}", justify="right", no_wrap=True)
    table.add_column(f"cost P{middle * 100:g}", justify="right", no_wrap=True)
    for hw in ds.hardware.values:
        sel = ds.sel(hardware=hw)
        peak = " / ".join(_count(float(sel.max_peak_gpus.sel(quantile=p))) for p in levels)
        cost = " / ".join(_money(float(sel.horizon_cost_per_mtok.sel(quantile=p))) for p in levels)
        every_token = _money(float(sel.horizon_cost_per_mtok_all.sel(quantile=middle)))
        total = _money(float(sel.total_cost.sel(quantile=middle)))
        table.add_row(str(hw), peak, cost, every_token, total)
    print_table(table)
    out.print(
        "$ per M tokens counts every token processed (input, output and thinking), the"
        " seeds' and InferenceX's convention; $ per M output tokens, visible output only.",
        highlight=False,
    )

    hardware = list(ds.hardware.values)
    if len(hardware) > 1:
        median = ds.horizon_cost_per_mtok_all.sel(quantile=middle)
        base = hardware[0]
        for other in hardware[1:]:
            ratio = float(median.sel(hardware=base) / median.sel(hardware=other))
            if ratio != ratio:
                continue  # no tokens: nothing to compare
            text = f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.2f}x"
            out.print(
                f"cost per M tokens (P{middle * 100:g}), {base} / {other}: {text}", highlight=False
            )

    print_exceedances(ds, hardware)

    if "fleet_size" in ds.dims:
        fleet = Table(
            show_edge=False,
            pad_edge=False,
            title="fixed fleets over the horizon: P(short) / P(over target)",
        )
        fleet.add_column("fleet size", justify="right")
        for hw in hardware:
            fleet.add_column(hw, justify="right")
        for size in ds.fleet_size.values:
            cells = []
            for hw in hardware:
                at = {"fleet_size": size, "hardware": hw}
                short = float(ds.any_shortfall_probability.sel(at))
                over = float(ds.any_target_breach_probability.sel(at))
                cells.append(f"{short:.3f} / {over:.3f}")
            fleet.add_row(str(size), *cells)
        print_table(fleet)
        out.print(
            "short: some hour needs more GPUs than the fleet; over target: more than"
            " target utilisation x the fleet",
            highlight=False,
            soft_wrap=True,
        )


def print_exceedances(ds: xr.Dataset, hardware: list) -> None:
    """One line per threshold: P(value > threshold) for each hardware profile."""
    for name, label, show in (
        ("total_cost", "total cost", _money),
        ("max_peak_gpus", "max peak GPUs", _count),
    ):
        probability = ds.get(f"{name}_exceedance_probability")
        if probability is None:
            continue
        dim = probability.dims[0]
        for limit in probability[dim].values:
            cells = ", ".join(
                f"{hw} {float(probability.sel({dim: limit, 'hardware': hw})):.3f}"
                for hw in hardware
            )
            out.print(f"P({label} > {show(float(limit))}): {cells}", highlight=False)


def simulation_progress(quiet: bool, unit: str = "steps") -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=quiet,
    )


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
    str, typer.Option(help="auto (cuda if a GPU is usable, else cpu), cuda, cpu or numpy.")
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
        " max_peak_gpus [GPUs]; repeat for more. Added to the scenario's [risk.thresholds].",
    ),
]


def with_thresholds(scenario: Scenario, options: list[str]) -> Scenario:
    """``scenario`` with the ``--threshold NAME=VALUE`` options added to its
    ``risk.thresholds``, each checked as the scenario's own thresholds are."""
    thresholds = {name: list(values) for name, values in scenario.risk.thresholds.items()}
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
    return scenario.model_copy(update={"risk": Risk(thresholds=thresholds)})


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
    quiet: QuietOption = False,
) -> None:
    """Simulate SCENARIO and write percentile demand, capacity and cost (NetCDF or Zarr)."""
    with user_errors():
        text = read_scenario_text(scenario)
        parsed = parse_scenario_text(text, str(scenario))
        if sensitivity and (shard is not None or workers is not None or scheduler is not None):
            raise JevonsError(
                "--sensitivity needs every trajectory in one process (no --shard or --workers)"
            )
        keep_trajectories = keep_trajectories or sensitivity
        if threshold:
            parsed = with_thresholds(parsed, threshold)
        if shard is not None:
            part = Shard.parse(shard)
            if keep_trajectories:
                raise JevonsError("--keep-trajectories and --shard do not go together")
            default = Path(f"{scenario.stem}.shard-{part.index + 1}-of-{part.count}.nc")
            target = output_target(output, default, [scenario])
            with simulation_progress(quiet) as bar:
                task = bar.add_task("starting (compiles on first use)", total=None)
                partial = run_shard(
                    parsed, text, part, trajectories=trajectories, seed=seed, backend=backend,
                    summary=summary and summary.value,
                    progress=lambda done, total: bar.update(
                        task, completed=done, total=total, description="simulating"
                    ),
                )  # fmt: skip
            write_dataset(partial, target)
            if not quiet:
                first, stop = partial.attrs["trajectory_start"], partial.attrs["trajectory_stop"]
                out.print(
                    f"shard {part.index + 1}/{part.count}: trajectories {first:,}..{stop - 1:,}"
                    f" of {partial.attrs['trajectories']:,}; wrote {target}"
                    " (merge the shards with `jevons merge`)",
                    highlight=False,
                )
            return
        target = output_target(output, Path(scenario.stem + ".nc"), [scenario])
        if workers is not None or scheduler is not None:
            if keep_trajectories:
                raise JevonsError("--keep-trajectories needs one process (no --workers)")
            with dask_client(workers, scheduler, backend) as client:
                ds = run_on_cluster(
                    client, parsed, text, trajectories=trajectories, seed=seed,
                    backend=backend, summary=summary and summary.value,
                )  # fmt: skip
            write_dataset(ds, target)
            if not quiet:
                print_summary(ds)
                out.print(f"wrote {target}", highlight=False)
            return
        with simulation_progress(quiet) as bar:
            # The first run on a machine compiles the kernels before the first step.
            task = bar.add_task("starting (compiles on first use)", total=None)
            ds = run_scenario(
                parsed,
                scenario_text=text,
                trajectories=trajectories,
                seed=seed,
                keep_trajectories=keep_trajectories,
                backend=backend,
                summary=summary and summary.value,
                progress=lambda done, total: bar.update(
                    task, completed=done, total=total, description="simulating"
                ),
            )
        if sensitivity:
            ds = add_sensitivity(ds)
        write_dataset(ds, target)
    if not quiet:
        print_summary(ds)
        if sensitivity:
            print_sensitivity(ds)
        out.print(f"wrote {target}", highlight=False)
