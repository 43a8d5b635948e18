"""Backends that run the model, behind a small registry.

A backend is a name, an availability check that imports nothing heavy, and a
``simulate`` entry point with the signature of
:func:`jevons.kernels.reference.simulate`. ``auto`` takes the first available
backend in ``PREFERENCE``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jevons.errors import BackendUnavailableError


@dataclass(frozen=True)
class Backend:
    name: str
    description: str
    available: Callable[[], bool]
    load: Callable[[], Callable]  # returns the simulate function, importing lazily


def _numpy_simulate():
    from jevons.kernels.reference import simulate

    return simulate


BACKENDS: dict[str, Backend] = {
    "numpy": Backend("numpy", "vectorised NumPy reference model", lambda: True, _numpy_simulate),
}
PREFERENCE = ("numpy",)


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
