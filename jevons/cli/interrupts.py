"""Signals that stop a command: one line on stderr, exit code 128 + the signal's number.

SIGINT (Ctrl-C), SIGTERM (how batch schedulers stop a job) and SIGHUP raise
:class:`~jevons.errors.Interrupted` in the main thread. Cleanups run as it
passes: a result being written is removed and an earlier file at its path stays
as it was (see ``jevons.engine.output.files``), a sweep keeps its finished
points. The command then ends with one line and no traceback: exit code 130
for SIGINT, 143 for SIGTERM, 129 for SIGHUP, as a shell reports a process the
signal ended. A signal that is ignored (``nohup``, a background job) stays ignored.

This module imports nothing heavy: it is in place before the engine loads.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from jevons.errors import Interrupted

SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


class _RaiseOnce:
    """Raises :class:`Interrupted` at the first signal; later ones must not cut the
    cleanup short, and are let go."""

    # A write in progress takes the signal over, removes what it wrote, then calls
    # this handler (jevons.engine.output.files._termination_during_write).
    ends_the_work = True

    def __init__(self) -> None:
        self.raised = False

    def __call__(self, signum: int, _frame: object) -> None:
        if self.raised:
            return
        self.raised = True
        raise Interrupted(signum, signal.Signals(signum).name)


def _takes_over(action: object) -> bool:
    return action is signal.SIG_DFL or action is signal.default_int_handler


@contextlib.contextmanager
def signals_stop_the_command() -> Iterator[None]:
    """Within this block the signals raise :class:`Interrupted`; leaving it by one,
    the command prints one line and exits with 128 + its number."""
    handler = _RaiseOnce()
    previous = {}
    for name in SIGNALS:
        signum = getattr(signal, name, None)
        if signum is not None and _takes_over(signal.getsignal(signum)):
            previous[signum] = signal.signal(signum, handler)
    try:
        yield
    except Interrupted as exc:
        notes = "; ".join(getattr(exc, "__notes__", ()))
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(f"error: {exc}{'; ' + notes if notes else ''}\n")
            sys.stderr.flush()
        raise SystemExit(exc.exit_code) from None
    finally:
        for signum, action in previous.items():
            signal.signal(signum, action)


@contextlib.contextmanager
def interrupted_before(target: Path) -> Iterator[None]:
    """A signal in this block says, in its line, that ``target`` was not written."""
    try:
        yield
    except Interrupted as exc:
        exc.add_note(f"{target} not written (an earlier file there is left as it was)")
        raise
