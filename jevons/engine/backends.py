"""Backends that run the model, behind a small registry.

A backend is a name, an availability check that imports nothing heavy, and a
``simulate`` entry point with the signature of
:func:`jevons.kernels.reference.simulate`. ``auto`` takes the first available
backend in ``PREFERENCE``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass

from jevons.errors import BackendUnavailableError


@dataclass(frozen=True)
class Backend:
    name: str
    description: str
    available: Callable[[], bool]
    load: Callable[[], Callable]  # returns the simulate function, importing lazily
    reducer: Callable[[], Callable]  # returns the row reducer of its summaries


def _numpy_simulate():
    from jevons.kernels.reference import simulate

    return simulate


def _numpy_reducer():
    from jevons.engine.summary import numpy_reducer

    return numpy_reducer


def _compiled_reducer():
    from jevons.engine.summary import compiled_reducer

    return compiled_reducer


def _numba_available() -> bool:
    return importlib.util.find_spec("numba") is not None


def _cpu_simulate():
    from jevons.kernels.cpu import simulate

    return simulate


BACKENDS: dict[str, Backend] = {
    "cpu": Backend(
        "cpu",
        "fused model on every CPU core (numba)",
        _numba_available,
        _cpu_simulate,
        _compiled_reducer,
    ),
    "numpy": Backend(
        "numpy", "vectorised NumPy reference model", lambda: True, _numpy_simulate, _numpy_reducer
    ),
}
PREFERENCE = ("cpu", "numpy")


def get_backend(name: str) -> Backend:
    """The backend called ``name``, or the first available one for ``auto``."""
    if name == "auto":
        for candidate in PREFERENCE:
            if BACKENDS[candidate].available():
                return BACKENDS[candidate]
    if name not in BACKENDS:
        known = ", ".join(["auto", *BACKENDS])
        raise BackendUnavailableError(f"unknown backend '{name}'; this version has: {known}")
    backend = BACKENDS[name]
    if not backend.available():
        raise BackendUnavailableError(f"backend '{name}' cannot run on this machine")
    return backend
