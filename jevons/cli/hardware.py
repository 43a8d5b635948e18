"""``jevons hardware``: the hardware catalog."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from jevons.catalog import catalog
from jevons.cli.console import out, user_errors
from jevons.errors import JevonsError
from jevons.kernels.layers import cost_per_million_tokens

app = typer.Typer()


@app.command()
def hardware(
    key: Annotated[
        str | None, typer.Argument(help="Show one profile in full, with its source.")
    ] = None,
) -> None:
    """List the hardware catalog, or show one profile with its sources and notes."""
    profiles = catalog()
    if key is not None:
        with user_errors():
            if key not in profiles:
                raise JevonsError(
                    f"unknown hardware '{key}'; the catalog has: {', '.join(profiles)}"
                )
        for field, value in profiles[key].model_dump().items():
            if value not in (None, ""):
                out.print(f"[bold]{field}[/]: {value}", highlight=False, soft_wrap=True)
        return
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("key", no_wrap=True)
    for column in ("$/GPU-h", "decode", "prefill", "kW", "$/Mtok"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("name")
    for p in profiles.values():
        table.add_row(
            p.key,
            f"{p.cost_per_gpu_hour:.2f}",
            f"{p.decode_tokens_per_s:,.0f}",
            f"{p.prefill_tokens_per_s:,.0f}",
            f"{p.power_kw:.2f}",
            f"{cost_per_million_tokens(p.cost_per_gpu_hour, p.decode_tokens_per_s):.3g}",
            p.name,
        )
    out.print(table)
    out.print(
        "decode, prefill: tokens/s per GPU; kW: all-in power per GPU;"
        " $/Mtok = $/GPU-hour / (decode x 3600) x 1e6.\n"
        "`jevons hardware KEY` shows a profile's model, sources and notes."
    )
