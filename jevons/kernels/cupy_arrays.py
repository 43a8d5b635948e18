"""The ``cupy`` backend: the array-API reference model on CuPy arrays, on an NVIDIA GPU.

For GPU nodes without numba-cuda. The inputs are drawn on the host, as for
every backend (the same Philox numbers), then moved to the GPU once; the
reference model (:func:`jevons.kernels.reference.simulate`) runs there on whole
arrays, each step is reduced where it lives (:func:`jevons.kernels.array_quantiles.array_reducer`
takes CuPy's own quantiles), and only the horizon totals come back to the host.

CuPy is imported when the backend runs, never at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from jevons.kernels import reference
from jevons.kernels.array_api import to_numpy
from jevons.kernels.contract import ModelPlan, TrajectoryInputs, WindowSink


def cupy_or_none() -> Any:
    """CuPy, if it imports and sees a GPU with a working driver; else None."""
    try:
        import cupy
    except ImportError:
        return None
    try:
        return cupy if cupy.is_available() else None
    except Exception:  # a broken driver install reports itself as an exception
        return None


def simulate_on(asarray: Callable[[np.ndarray], Any]):
    """The reference model's ``simulate`` on arrays made by ``asarray`` (``cupy.asarray``:
    on the GPU); horizon totals are returned as NumPy arrays."""

    def simulate(
        plan: ModelPlan,
        inputs: TrajectoryInputs,
        trajectories: np.ndarray,
        key: tuple[int, int],
        on_window: WindowSink,
    ) -> dict[str, np.ndarray]:
        moved = TrajectoryInputs(
            values={path: asarray(values) for path, values in inputs.values.items()},
            surge_multipliers=asarray(inputs.surge_multipliers),
            hardware={name: asarray(values) for name, values in inputs.hardware.items()},
        )
        totals = reference.simulate(plan, moved, asarray(trajectories), key, on_window)
        return {name: to_numpy(values) for name, values in totals.items()}

    return simulate


def simulate(plan, inputs, trajectories, key, on_window):
    """:func:`simulate_on` CuPy's arrays, on the current GPU."""
    return simulate_on(cupy_or_none().asarray)(plan, inputs, trajectories, key, on_window)


def memory_info() -> tuple[int, int]:
    """(free, total) bytes of the current GPU: what the driver has free plus the blocks
    CuPy's pool holds but no array uses, which the next allocation takes first."""
    import cupy

    free, total = cupy.cuda.runtime.memGetInfo()
    return int(free + cupy.get_default_memory_pool().free_bytes()), int(total)


def free_memory_bytes() -> int:
    """Free memory on the current GPU, counting what CuPy's pool holds unused."""
    return memory_info()[0]
