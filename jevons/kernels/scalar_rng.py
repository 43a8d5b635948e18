"""Philox4x32-10 and its transforms as scalar functions, for the compiled kernels.

The same arithmetic as :mod:`jevons.kernels.philox` and
:mod:`jevons.kernels.transforms`, one value at a time. Decorated with
``numba.njit``: the CPU kernel calls them directly, and numba-cuda compiles
the same functions into the CUDA kernel.

Words travel as uint64 holding 32-bit values: a 32 x 32-bit product needs 64
bits, and mixing uint64 with a signed literal would make numba promote to
float64, so every constant below is typed explicitly.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

import jevons.kernels.compile_cache  # noqa: F401  (before any @njit with cache=True)
from jevons.kernels import transforms

M0 = np.uint64(0xD2511F53)
M1 = np.uint64(0xCD9E8D57)
W0 = np.uint64(0x9E3779B9)
W1 = np.uint64(0xBB67AE85)
MASK32 = np.uint64(0xFFFFFFFF)
SHIFT32 = np.uint64(32)
SHIFT9 = np.uint64(9)
UNIFORM_SCALE = 2.0**-23
STEP_STREAM = np.uint64(0)
# Fast-math without nnan/ninf: the model writes NaN for undefined ratios on purpose.
FASTMATH = {"contract", "arcp", "reassoc", "nsz", "afn"}


@njit(cache=True, fastmath=FASTMATH)
def philox4x32_10(c0, c1, c2, c3, k0, k1):
    """One Philox4x32-10 block; all arguments and results are uint64 holding 32 bits."""
    for _ in range(10):
        p0 = M0 * c0
        p1 = M1 * c2
        c0, c1, c2, c3 = (
            (p1 >> SHIFT32) ^ c1 ^ k0,
            p1 & MASK32,
            (p0 >> SHIFT32) ^ c3 ^ k1,
            p0 & MASK32,
        )
        k0 = (k0 + W0) & MASK32
        k1 = (k1 + W1) & MASK32
    return c0, c1, c2, c3


@njit(cache=True, fastmath=FASTMATH)
def step_words(trajectory, step, k0, k1):
    """The per-step block of a trajectory (see the stream contract in ``philox``)."""
    t = np.uint64(trajectory)
    return philox4x32_10(t & MASK32, t >> SHIFT32, np.uint64(step), STEP_STREAM, k0, k1)


@njit(cache=True, fastmath=FASTMATH)
def uniform(word):
    """Uniform on (0, 1) from a 32-bit word: 23 bits, exact in float32 and float64."""
    return (float(word >> SHIFT9) + 0.5) * UNIFORM_SCALE


# AS 241 coefficients from ``transforms`` (lowest degree first), reversed for Horner.
_A, _B, _C, _D, _E, _F = (tuple(reversed(c)) for c in (
    transforms._A, transforms._B, transforms._C, transforms._D, transforms._E, transforms._F
))  # fmt: skip
CENTRAL_HALF_WIDTH = 0.425


@njit(cache=True, fastmath=FASTMATH, inline="always")
def _horner(coefs, x):
    result = 0.0
    for c in coefs:
        result = result * x + c
    return result


@njit(cache=True, fastmath=FASTMATH)
def normal_central(u):
    """AS 241 for ``|u - 0.5| <= 0.425`` (85% of draws): a ratio of polynomials, no branch."""
    q = u - 0.5
    r = 0.180625 - q * q
    return q * _horner(_A, r) / _horner(_B, r)


@njit(cache=True, fastmath=FASTMATH)
def normal_tail(u):
    """AS 241 for ``|u - 0.5| > 0.425``."""
    q = u - 0.5
    r = math.sqrt(-math.log(u if q < 0.0 else 1.0 - u))
    if r <= 5.0:
        z = _horner(_C, r - 1.6) / _horner(_D, r - 1.6)
    else:
        z = _horner(_E, r - 5.0) / _horner(_F, r - 5.0)
    return -z if q < 0.0 else z


@njit(cache=True, fastmath=FASTMATH)
def normal_ppf(u):
    """Standard normal quantile (Wichura's AS 241, PPND16)."""
    if abs(u - 0.5) <= CENTRAL_HALF_WIDTH:
        return normal_central(u)
    return normal_tail(u)


@njit(cache=True, fastmath=FASTMATH)
def normal(word):
    return normal_ppf(uniform(word))
