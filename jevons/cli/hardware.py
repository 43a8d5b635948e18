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
    key: Annotated[str | None, typer.Argument(help="Show one profile in full, with its source.")] = None,
) -> None:
    """List the hardware catalog, or show one profile with its sources and notes."""
    profiles = catalog()
    if key is not None:
        with user_errors():
            if key not in profiles:
                raise JevonsError(f"unknown hardware '{key}'; the catalog has: {', '.join(profiles)}")
        for field, value in profiles[key].model_dump().items():
            if value not in (None, ""):
                out.print(f"[bold]{field}[/]: {value}", highlight=False, soft_wrap=True)
        return
    table = Table(show_edge=False, pad_edge=False)
    for column in ("key", "name", "model", "$/GPU-h", "decode tok/s", "prefill tok/s", "kW", "$/Mtok"):
        table.add_column(column, justify="left" if column in ("key", "name", "model") else "right")
    for p in profiles.values():
        table.add_row(
            p.key, p.name, p.model, f"{p.cost_per_gpu_hour:.2f}", f"{p.decode_tokens_per_s:,.0f}",
            f"{p.prefill_tokens_per_s:,.0f}", f"{p.power_kw:.2f}",
            f"{cost_per_million_tokens(p.cost_per_gpu_hour, p.decode_tokens_per_s):.3g}",
        )
    out.print(table)
    out.print("$/Mtok = $/GPU-hour / (decode tokens/s x 3600) x 1e6; `jevons hardware KEY` shows sources.")
