"""``jevons describe``: a scenario on the back of a napkin, layer by layer."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from jevons.cli.console import out, print_table, user_errors
from jevons.cli.options import BackendOption
from jevons.engine.scenario.loading import load_scenario
from jevons.report.describe import DEFAULT_TRAJECTORIES, Description, Layer, describe

app = typer.Typer()


def figure(x: float) -> str:
    """A number to four significant figures, whole numbers with thousands separators."""
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "none" if x > 0 else "-inf"
    if x == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(x)))
    if magnitude >= 15 or magnitude < -3:
        return f"{x:.3e}"
    if magnitude >= 3:
        return f"{round(x, 3 - magnitude):,.0f}"
    return f"{x:.4g}"


def _layer_table(title: str, layers: tuple[Layer, ...]) -> Table:
    table = Table(show_edge=False, pad_edge=False, title=title, show_lines=True)
    table.add_column("layer", no_wrap=True)
    table.add_column("reads (at the medians)")
    table.add_column("x", justify="right", no_wrap=True)
    table.add_column("running value", justify="right", no_wrap=True)
    table.add_column("units", no_wrap=True)
    for layer in layers:
        reads = "\n".join(f"{key} = {figure(value)}" for key, value in layer.reads)
        times = "" if layer.multiplier is None else f"x{figure(layer.multiplier)}"
        table.add_row(
            escape(layer.name), escape(reads), times, figure(layer.value), escape(layer.units)
        )
    return table


def _comparison_table(described: Description) -> Table:
    run = (
        f"simulated P50 of {described.trajectories:,} trajectories ({described.backend})"
        if described.backend is not None
        else "no simulation (-n 0)"
    )
    table = Table(
        show_edge=False, pad_edge=False, title=f"At the medians, and the {run}"
    )  # one row per output and hardware
    table.add_column("output", no_wrap=True)
    table.add_column("hardware", no_wrap=True)
    table.add_column("at the medians", justify="right", no_wrap=True)
    table.add_column("simulated P50", justify="right", no_wrap=True)
    table.add_column("P50 / medians", justify="right", no_wrap=True)
    table.add_column("units")
    for row in described.comparisons:
        p50 = row.simulated_p50
        ratio = ""
        if p50 is not None and row.at_medians != 0:
            ratio = figure(p50 / row.at_medians)
        when = "per step" if row.scope == "step" else "horizon"
        table.add_row(
            escape(f"{row.variable} ({when})"),
            escape(row.hardware or ""),
            figure(row.at_medians),
            "" if p50 is None else figure(p50),
            ratio,
            escape(row.units),
        )
    return table


def print_description(described: Description) -> None:
    at = f"{described.time:%Y-%m-%d %H:%M} (step {described.step}, {described.why})"
    out.print(f"{described.scenario} at {at}", highlight=False, soft_wrap=True)
    print_table(_layer_table("Demand a day, at the medians", described.demand))
    for hardware, layers in described.capacity.items():
        print_table(_layer_table(f"GPUs on {hardware}", layers))
    print_table(_comparison_table(described))
    noisy = [f"{key} (median {figure(v)})" for key, v in described.noise_medians.items() if v]
    if described.count_noise:
        noisy.append("Poisson request counts")
    if noisy:
        out.print(
            f"The napkin takes the per-step noise at its mean: {', '.join(noisy)}; the"
            " simulated percentiles include it.",
            highlight=False,
            soft_wrap=True,
        )


@app.command("describe")
def describe_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    trajectories: Annotated[
        int,
        typer.Option(
            "--trajectories",
            "-n",
            min=0,
            help="Trajectories of the short run beside the medians; 0: no run.",
        ),
    ] = DEFAULT_TRAJECTORIES,
    backend: BackendOption = "auto",
    at: Annotated[
        str,
        typer.Option(
            help="The step to describe: peak (largest peak GPUs at the medians), start, end,"
            " or a date YYYY-MM-DD inside the horizon."
        ),
    ] = "peak",
) -> None:
    """Each demand layer of SCENARIO at the medians of its inputs, from users to peak GPUs.

    The GPUs and cost per token at the medians stand next to a short run's medians."""
    with user_errors():
        described = describe(
            load_scenario(scenario), trajectories=trajectories, backend=backend, at=at
        )
    print_description(described)
