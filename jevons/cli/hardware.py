"""``jevons hardware``: the hardware catalog, the roofline check, and point import."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from jevons.cli.console import out, print_table, user_errors
from jevons.engine.output.files import check_file_target, write_text
from jevons.errors import JevonsError
from jevons.kernels.layers import cost_per_million_tokens
from jevons.supply import estimate
from jevons.supply.check import check_rows, log_error_summary
from jevons.supply.csv_points import profiles_toml, read_points_csv
from jevons.supply.profiles import catalog

app = typer.Typer()

IMPORT = "import"


def _show(key: str) -> None:
    profiles = catalog()
    if key not in profiles:
        raise JevonsError(f"unknown hardware '{key}'; the catalog has: {', '.join(profiles)}")
    profile = profiles[key]
    for field, value in profile.model_dump(exclude={"points"}).items():
        if value not in (None, ""):
            out.print(f"[bold]{field}[/]: {value}", highlight=False, soft_wrap=True)
    out.print(f"[bold]prefill_tokens_per_s[/]: {profile.prefill_rate:,.1f}", highlight=False)
    for point, decode in zip(profile.points, profile.point_decode_rates(), strict=True):
        out.print(
            f"[bold]point[/]: {point.label()}, {point.precision}; reproduced by decode"
            f" {decode:,.2f} output tokens/s per GPU; {point.serving_stack or 'stack not stated'};"
            f" {point.date or 'undated'}; source: {point.source}",
            highlight=False,
            soft_wrap=True,
        )
        for field, why in point.assumed.items():
            out.print(f"    assumed {field}: {why}", highlight=False, soft_wrap=True)


def _list() -> None:
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("key", no_wrap=True)
    for column in ("$/GPU-h", "tok/s/GPU", "ISL/OSL", "tok/s/user", "prefill", "decode",
                   "$/Mtok all", "$/Mtok out", "kW"):  # fmt: skip
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("name")
    for p in catalog().values():
        point = p.points[p.headline()]
        decode = p.point_decode_rates()[p.headline()]
        all_tokens = cost_per_million_tokens(p.cost_per_gpu_hour, point.tokens_per_s_per_gpu)
        per_output = (
            p.cost_per_gpu_hour * point.seconds_per_request / 3600 / point.output_tokens * 1e6
        )
        if point.token_convention == "output":
            all_tokens = (
                per_output * point.output_tokens / (point.input_tokens + point.output_tokens)
            )
        table.add_row(
            p.key,
            f"{p.cost_per_gpu_hour:.2f}",
            f"{point.tokens_per_s_per_gpu:,.1f}",
            f"{point.input_tokens:g}/{point.output_tokens:g}",
            "-" if point.interactivity is None else f"{point.interactivity:g}",
            f"{p.prefill_rate:,.0f}",
            f"{decode:,.1f}",
            f"{all_tokens:.3g}",
            f"{per_output:.3g}",
            f"{p.power_kw:.2f}",
            p.name,
        )
    print_table(table)
    out.print(
        "Each profile's headline point. tok/s/GPU as measured (input + output tokens unless the"
        " point says output); prefill and decode: the rates that reproduce it exactly (decode"
        " counts output tokens only); $/Mtok all: per million tokens processed, out: per"
        " million output tokens; kW: all-in power per GPU.\n"
        "`jevons hardware KEY` shows a profile's points and sources; `--check` compares the"
        " roofline estimate with every measured point."
    )


def _check() -> None:
    rows = check_rows()
    table = Table(show_edge=False, pad_edge=False)
    for column in ("profile", "model", "prec", "ISL/OSL"):
        table.add_column(column, no_wrap=True)
    for column in ("tok/s/user", "measured", "estimated", "error"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("assumed")
    for r in rows:
        table.add_row(
            r.profile,
            r.model,
            r.precision,
            f"{r.input_tokens:g}/{r.output_tokens:g}",
            f"{r.interactivity:g}",
            f"{r.measured:,.1f}",
            f"{r.estimated:,.1f}" if r.estimated > 0 else "unreachable",
            f"{r.error:+.0%}" if r.estimated > 0 else "-",
            ", ".join(r.assumed),
        )
    print_table(table)
    median, largest = log_error_summary(rows)
    out.print(
        f"tokens/s per GPU, each point's own token convention and shape. Roofline efficiencies:"
        f" prefill {estimate.prefill_efficiency():.3f} of dense FLOP/s (DeepSeek's production"
        f" prefill), decode {estimate.fitted_decode_efficiency():.3f} of HBM bandwidth (fitted"
        f" to these points). Typical error x{median:.2f}, worst x{largest:.2f}"
        " (ratio either way)."
    )


@app.command()
def hardware(
    key: Annotated[
        str | None,
        typer.Argument(help="Show one profile in full, with its points and sources; or 'import'."),
    ] = None,
    file: Annotated[
        Path | None, typer.Argument(help="With 'import': the CSV of benchmark points.")
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Roofline estimate vs every measured point.")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="With 'import': the profile TOML to write."),
    ] = None,
) -> None:
    """List the hardware catalog, show one profile, check the roofline, or import points.

    `jevons hardware import FILE.csv -o profiles.toml` turns measured points into profiles.
    """
    with user_errors():
        if key == IMPORT:
            _import(file, output)
        elif file is not None or output is not None:
            raise JevonsError("a file and --output go with 'jevons hardware import FILE.csv'")
        elif check:
            _check()
        elif key is not None:
            _show(key)
        else:
            _list()


def _import(file: Path | None, output: Path | None) -> None:
    if file is None:
        raise JevonsError("jevons hardware import needs a CSV file of benchmark points")
    target = output or file.with_suffix(".toml")
    if target.resolve() == file.resolve():
        raise JevonsError(f"--output {target} would overwrite the CSV file itself")
    check_file_target(target)  # before the points are read
    profiles = read_points_csv(file)  # every row checked before anything is written
    write_text(profiles_toml(profiles, str(file)), target)
    points = sum(len(p["points"]) for p in profiles.values())
    out.print(
        f"{target}: {len(profiles)} profile(s), {points} point(s): {', '.join(profiles)}."
        f' A scenario names one with hardware = [{{ file = "{target.name}",'
        f' profile = "{next(iter(profiles))}" }}].',
        highlight=False,
        soft_wrap=True,
    )
