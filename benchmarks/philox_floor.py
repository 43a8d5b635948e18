"""The floor under every backend: generating the model's Philox words and nothing else.

Each kernel draws the same per-step block as the model (one Philox4x32-10 call
per trajectory and step) and folds the words into one value per trajectory so
that the compiler cannot drop the work.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from jevons.kernels.scalar_rng import step_words


@njit(parallel=True, cache=True)
def philox_floor_cpu(n, steps, k0, k1, out):
    for i in prange(n):
        acc = np.uint64(0)
        for t in range(steps):
            w0, w1, w2, w3 = step_words(i, t, k0, k1)
            acc ^= w0 ^ w1 ^ w2 ^ w3
        out[i] = acc


cuda = None  # numba.cuda, imported on demand: the CUDA packages are optional
_device_step_words = None


def _philox_floor_cuda(n, steps, k0, k1, out):
    # Module level, naming `cuda` as a global, so that the CUDA simulator can swap in
    # its own module (it cannot reach a closure's).
    i = cuda.grid(1)
    if i < n:
        acc = np.uint64(0)
        for t in range(steps):
            w0, w1, w2, w3 = _device_step_words(i, t, k0, k1)
            acc ^= w0 ^ w1 ^ w2 ^ w3
        out[i] = acc


def philox_floor_cuda_kernel():
    """The same loop as a CUDA kernel, built on demand."""
    global cuda, _device_step_words
    from numba import cuda as numba_cuda

    cuda = numba_cuda
    _device_step_words = numba_cuda.jit(device=True)(step_words.py_func)
    return numba_cuda.jit(_philox_floor_cuda)
