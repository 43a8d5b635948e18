"""Shared consoles and the error boundary of every command."""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from jevons.errors import InternalError, JevonsError, JevonsWarning


class _Stdout(Console):
    """Standard output; if it cannot be written (a full device) the command ends at once."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        if not self.is_terminal and all(isinstance(o, str) for o in objects):
            # In a file or a pipe rich assumes 80 columns; a line of text stays whole in a
            # log (tables are laid out to their own width: print_table).
            kwargs.setdefault("soft_wrap", True)
        try:
            super().print(*objects, **kwargs)
        except OSError as exc:
            # What could not be written stays in rich's buffer; drop it, or the next
            # command in this process (a library user's, a test's) would print it first.
            del self._buffer[:]
            stdout_failed(exc)


def stdout_failed(exc: OSError) -> NoReturn:
    """One line on stderr and exit code 2, no traceback; files already written are kept."""
    with contextlib.suppress(OSError, ValueError):
        # What could not be written would fail again when Python exits: send it nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    reason = reason[:1].lower() + reason[1:]
    with contextlib.suppress(OSError):
        err.print(
            f"[bold red]error:[/] cannot write to standard output: {escape(reason)}",
            highlight=False,
            soft_wrap=True,
        )
    raise SystemExit(USER_ERROR)


out = _Stdout()
err = Console(stderr=True)

# Exit codes (README, "Exit codes"): 0 done; 1 an internal error (a bug to report);
# 2 bad input, nothing written; 128 + N stopped by signal N (jevons.cli.interrupts).
INTERNAL_ERROR = 1
USER_ERROR = 2


def stderr_is_terminal() -> bool:
    """Progress goes to a terminal only, never into a batch job's log."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError, OSError):  # closed or replaced by a non-file
        return False


def progress_bar(quiet: bool, unit: str = "steps") -> Progress:
    """A bar on stderr, shown only on a terminal and never with --quiet."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=quiet or not stderr_is_terminal(),
    )


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn the project's own errors into a message and exit code 2 (1 for an internal
    error), no traceback, and its warnings into one line each."""
    shown = warnings.showwarning

    def one_line(message, category, *args, **kwargs) -> None:
        if issubclass(category, JevonsWarning):
            err.print(f"[bold yellow]warning:[/] {escape(str(message))}", highlight=False,
                      soft_wrap=True)  # fmt: skip
        else:
            shown(message, category, *args, **kwargs)

    try:
        with warnings.catch_warnings():
            warnings.showwarning = one_line
            yield
    except JevonsError as exc:
        for line in str(exc).splitlines():
            err.print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)
        code = INTERNAL_ERROR if isinstance(exc, InternalError) else USER_ERROR
        raise typer.Exit(code=code) from None


# Tables printed to a file or pipe keep every figure whole, whatever the terminal width.
FILE_WIDTH = 220


def print_table(table: Any) -> None:
    """Print a rich table on standard output: at the terminal's width on a terminal, else
    wide enough that no figure is cut short."""
    if out.is_terminal:
        out.print(table)
        return
    # print(width=...) is capped at the console's own width, so widen the console itself
    saved = out._width
    out.width = FILE_WIDTH
    try:
        out.print(table)
    finally:
        out._width = saved
