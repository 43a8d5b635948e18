"""Shared consoles and the error boundary of every command."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer
from rich.console import Console
from rich.markup import escape

from jevons.errors import JevonsError

out = Console()
err = Console(stderr=True)

USER_ERROR = 2


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn the project's own errors into a message and exit code 2, no traceback."""
    try:
        yield
    except JevonsError as exc:
        for line in str(exc).splitlines():
            err.print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=USER_ERROR) from None
