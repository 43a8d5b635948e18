"""Backends that run the model, behind a small registry.

A backend is a name, an availability check that imports nothing heavy, and a
``simulate`` entry point with the signature of
:func:`jevons.kernels.reference.simulate`. ``auto`` takes the first available
backend in ``PREFERENCE``.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass

from jevons.errors import BackendUnavailableError, InternalError, JevonsError


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
    from jevons.engine.summaries.reducers import numpy_reducer

    return numpy_reducer


def _compiled_reducer():
    from jevons.engine.summaries.reducers import compiled_reducer

    return compiled_reducer


def _device_reducer():
    from jevons.engine.summaries.reducers import device_reducer

    return device_reducer


def _numba_available() -> bool:
    return importlib.util.find_spec("numba") is not None


def _cpu_simulate():
    from jevons.kernels.cpu import simulate

    return simulate


def cuda_simulator_enabled() -> bool:
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def _cuda_available() -> bool:
    """A real NVIDIA GPU that numba-cuda can drive (the simulator does not count for auto)."""
    if importlib.util.find_spec("numba_cuda") is None or cuda_simulator_enabled():
        return False
    from jevons.kernels.cuda import gpu_available

    return gpu_available()


def _cuda_simulate():
    from numba import config

    # the reducers launch one block per output row: a window of few rows is a small grid
    # by design, which numba-cuda would warn of at every launch
    config.CUDA_LOW_OCCUPANCY_WARNINGS = False
    if not cuda_simulator_enabled() and importlib.util.find_spec("cupy") is not None:
        from jevons.kernels.cupy_memory import use_cupy_pool

        use_cupy_pool()  # before numba-cuda's first context, which binds its allocator
    from jevons.kernels.cuda import simulate

    return simulate


def _cupy_available() -> bool:
    """CuPy sees a GPU with a working driver (the simulator does not count)."""
    if importlib.util.find_spec("cupy") is None:
        return False
    from jevons.kernels.cupy_arrays import cupy_or_none

    return cupy_or_none() is not None


def _cupy_simulate():
    from jevons.kernels.cupy_arrays import simulate

    return simulate


def _array_reducer():
    from jevons.kernels.array_quantiles import array_reducer

    return array_reducer


BACKENDS: dict[str, Backend] = {
    "cuda": Backend(
        "cuda",
        "fused model on an NVIDIA GPU (numba-cuda)",
        _cuda_available,
        _cuda_simulate,
        _device_reducer,
    ),
    "cupy": Backend(
        "cupy",
        "reference model on CuPy arrays on an NVIDIA GPU (no numba-cuda needed)",
        _cupy_available,
        _cupy_simulate,
        _array_reducer,
    ),
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
PREFERENCE = ("cuda", "cupy", "cpu", "numpy")
GPU_BACKENDS = ("cuda", "cupy")
UNAVAILABLE_HINT = {
    "cuda": "it needs an NVIDIA GPU with a working driver and numba-cuda:"
    " pip install 'jevons[cuda12]' (or [cuda13])",
    "cupy": "it needs an NVIDIA GPU with a working driver and CuPy:"
    " pip install 'jevons[cuda12]' (or [cuda13])",
    "cpu": "it needs numba: pip install numba",
}


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
    if name == "cuda" and cuda_simulator_enabled():
        return backend  # asked for by name: run on Numba's CUDA simulator
    if not backend.available():
        hint = UNAVAILABLE_HINT.get(name, "")
        raise BackendUnavailableError(f"backend '{name}' cannot run on this machine; {hint}")
    return backend


def is_out_of_memory(exc: BaseException) -> bool:
    """A GPU allocation failure: numba-cuda reports CUDA_ERROR_OUT_OF_MEMORY, CuPy raises
    its own ``cupy.cuda.memory.OutOfMemoryError``."""
    return (
        isinstance(exc, MemoryError)
        or "OUT_OF_MEMORY" in str(exc)
        or type(exc).__name__ == "OutOfMemoryError"
    )


# Where the GPU's toolchain and driver raise from: numba's compiler and numba-cuda's
# driver bindings, CuPy, NVIDIA's cuda-python.
_GPU_ERROR_MODULES = ("numba", "cupy", "cupy_backends", "cuda")
# numba-cuda's compile stages: a kernel that does not build is a fault of jevons
_COMPILE_ERRORS = ("NumbaError", "NvvmError", "NvvmSupportError", "NvrtcError")
# the driver's refusals of a launch's grid, block or resources: a fault of jevons too
_LAUNCH_CONFIGURATION_ERRORS = (
    "CUDA_ERROR_INVALID_VALUE",
    "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES",
    "CUDA_ERROR_INVALID_CONFIGURATION",
)


def gpu_failure(backend: str, exc: BaseException) -> JevonsError | None:
    """A GPU backend's failure to build or launch its kernels, as one line naming the
    backend and the reason; None for anything else, which keeps its traceback."""
    if backend not in GPU_BACKENDS:
        return None
    module = type(exc).__module__ or ""
    if module.split(".")[0] not in _GPU_ERROR_MODULES:
        return None
    reason = " ".join(str(exc).split())
    reason = f"{type(exc).__name__}: {reason[:400]}" if reason else type(exc).__name__
    if is_out_of_memory(exc):
        return BackendUnavailableError(
            f"backend '{backend}' ran out of GPU memory ({reason}); run fewer trajectories"
            " at a time: --summary sketch works in chunks sized to the GPU"
        )
    if any(base.__name__ in _COMPILE_ERRORS for base in type(exc).__mro__):
        return InternalError(
            f"backend '{backend}': a kernel did not compile for this GPU ({reason});"
            " please report it with `jevons --version`; --backend cpu runs without the GPU"
        )
    if any(code in reason for code in _LAUNCH_CONFIGURATION_ERRORS):
        return InternalError(
            f"backend '{backend}': a kernel could not be launched as configured ({reason});"
            " please report it with `jevons --version`; --backend cpu runs without the GPU"
        )
    return BackendUnavailableError(
        f"backend '{backend}' could not run on this GPU ({reason}); check the driver"
        " (nvidia-smi) and the CUDA extra installed; --backend cpu runs without the GPU"
    )
