"""``jevons merge``: combine the shards of one run into its result."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jevons.cli.console import out, user_errors
from jevons.cli.run import output_target, print_summary
from jevons.engine.execution.shards import merge_shards
from jevons.engine.output.files import write_dataset
from jevons.engine.output.shard_files import read_shard

app = typer.Typer()


@app.command()
def merge(
    shards: Annotated[list[Path], typer.Argument(help="Shard files from `jevons run --shard`.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Result to write: .nc or .zarr.")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary.")] = False,
) -> None:
    """Merge every shard of one run (exactly: their sketches add) into one result."""
    with user_errors():
        target = output_target(output, output, shards)
        partials = [read_shard(path) for path in shards]
        ds = merge_shards(partials, [str(path) for path in shards])
        write_dataset(ds, target)
    if not quiet:
        print_summary(ds)
        out.print(f"merged {len(shards)} shards; wrote {target}", highlight=False)
