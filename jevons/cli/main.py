"""The ``jevons`` command: signal handling first, then the app (which loads the engine).

``from jevons.cli.main import app`` gives the app, as before it moved to
:mod:`jevons.cli.app`.
"""

from __future__ import annotations

from typing import Any

from jevons.cli.interrupts import signals_stop_the_command


def main() -> None:
    with signals_stop_the_command():  # in place while the engine loads: Ctrl-C is one line
        from jevons.cli.app import app

        app()


def __getattr__(name: str) -> Any:
    if name == "app":
        from jevons.cli.app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
