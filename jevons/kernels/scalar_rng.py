"""Philox4x32-10 and its transforms as scalar functions, for the compiled kernels.

The same arithmetic as :mod:`jevons.kernels.philox` and
:mod:`jevons.kernels.variates`, one value at a time. Decorated with
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
from jevons.kernels import constants as k
from jevons.kernels.constants import (
    AS241_CENTRAL_HALF_WIDTH,
    AS241_CENTRAL_R,
    AS241_NEAR_TAIL_SHIFT,
    AS241_TAIL_SPLIT,
    UNIFORM_SCALE,
)

# The constants as the uint64 words the arithmetic below runs in.
M0 = np.uint64(k.PHILOX_M0)
M1 = np.uint64(k.PHILOX_M1)
W0 = np.uint64(k.PHILOX_W0)
W1 = np.uint64(k.PHILOX_W1)
ROUNDS = k.PHILOX_ROUNDS
MASK32 = np.uint64(0xFFFFFFFF)
SHIFT32 = np.uint64(32)
UNIFORM_SHIFT = np.uint64(k.UNIFORM_DROP_BITS)
STEP_STREAM = np.uint64(k.STEP_STREAM)
# Fast-math without nnan/ninf: the model writes NaN for undefined ratios on purpose.
FASTMATH = {"contract", "arcp", "reassoc", "nsz", "afn"}
# Options of every compiled model function. NumPy's error model lets x / 0 give
# inf or NaN instead of raising: Python's puts a zero test before each division,
# and that branch alone kept the step loops off the SIMD units (6x slower normals).
KERNEL_OPTIONS = {"cache": True, "fastmath": FASTMATH, "error_model": "numpy"}


@njit(inline="always", **KERNEL_OPTIONS)
def philox4x32_10(c0, c1, c2, c3, k0, k1):
    """One Philox4x32-10 block; all arguments and results are uint64 holding 32 bits."""
    for _ in range(ROUNDS):
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


@njit(inline="always", **KERNEL_OPTIONS)
def step_words(trajectory, step, k0, k1):
    """The per-step block of a trajectory (see the stream contract in ``philox``)."""
    t = np.uint64(trajectory)
    return philox4x32_10(t & MASK32, t >> SHIFT32, np.uint64(step), STEP_STREAM, k0, k1)


@njit(inline="always", **KERNEL_OPTIONS)
def uniform(word):
    """Uniform on (0, 1) from a 32-bit word: 23 bits, exact in float32 and float64."""
    return (float(word >> UNIFORM_SHIFT) + 0.5) * UNIFORM_SCALE


# AS 241 coefficients (lowest degree first in ``constants``), reversed for Horner.
_A, _B, _C, _D, _E, _F = (tuple(reversed(c)) for c in (
    k.AS241_A, k.AS241_B, k.AS241_C, k.AS241_D, k.AS241_E, k.AS241_F
))  # fmt: skip
CENTRAL_HALF_WIDTH = AS241_CENTRAL_HALF_WIDTH


@njit(inline="always", **KERNEL_OPTIONS)
def _horner(coefs, x):
    result = 0.0
    for c in coefs:
        result = result * x + c
    return result


@njit(inline="always", **KERNEL_OPTIONS)
def normal_central(u):
    """AS 241 for ``|u - 0.5| <= 0.425`` (85% of draws): a ratio of polynomials, no branch."""
    q = u - 0.5
    r = AS241_CENTRAL_R - q * q
    return q * _horner(_A, r) / _horner(_B, r)


@njit(**KERNEL_OPTIONS)
def normal_tail(u):
    """AS 241 for ``|u - 0.5| > 0.425``."""
    q = u - 0.5
    r = math.sqrt(-math.log(u if q < 0.0 else 1.0 - u))
    if r <= AS241_TAIL_SPLIT:
        z = _horner(_C, r - AS241_NEAR_TAIL_SHIFT) / _horner(_D, r - AS241_NEAR_TAIL_SHIFT)
    else:
        z = _horner(_E, r - AS241_TAIL_SPLIT) / _horner(_F, r - AS241_TAIL_SPLIT)
    return -z if q < 0.0 else z


# fdlibm's log (e_log.c): ln 2 split in two, and the minimax coefficients of
# log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)) with s = f / (2 + f).
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_LG = (
    6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01,
    2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01,
    1.479819860511658591e-01,
)  # fmt: skip
_SQRT_HALF = 0.70710678118654752440


@njit(inline="always", **KERNEL_OPTIONS)
def log_of_grid_uniform(x):
    """``log(x)`` for ``2**-24 <= x < 1``, the range of :func:`uniform` and ``1 - uniform``.

    libm's ``log`` is a scalar call that keeps a loop off the SIMD units; this is
    plain arithmetic, so the compiler vectorises it. The exponent comes from five
    exact power-of-two scalings (selects, not branches), then fdlibm's polynomial;
    the result is within a few units in the last place of ``math.log``.
    """
    m = x
    e = 0.0
    if m < 2.0**-16:
        m *= 2.0**16
        e -= 16.0
    if m < 2.0**-8:
        m *= 2.0**8
        e -= 8.0
    if m < 2.0**-4:
        m *= 2.0**4
        e -= 4.0
    if m < 2.0**-2:
        m *= 2.0**2
        e -= 2.0
    if m < 2.0**-1:
        m *= 2.0
        e -= 1.0
    if m < _SQRT_HALF:  # m in [sqrt(1/2), sqrt(2)): f = m - 1 stays small
        m *= 2.0
        e -= 1.0
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG[1] + w * (_LG[3] + w * _LG[5]))
    t2 = z * (_LG[0] + w * (_LG[2] + w * (_LG[4] + w * _LG[6])))
    half_f2 = 0.5 * f * f
    return e * _LN2_HI - ((half_f2 - (s * (half_f2 + t1 + t2) + e * _LN2_LO)) - f)


@njit(inline="always", **KERNEL_OPTIONS)
def normal_tail_of_grid_uniform(u):
    """:func:`normal_tail` for a :func:`uniform` value, without a libm call.

    A 23-bit uniform is at least ``2**-24`` from 0 and 1, so ``r <= sqrt(24 ln 2) < 5``
    and only the near-tail polynomial is ever needed.
    """
    q = u - 0.5
    r = math.sqrt(-log_of_grid_uniform(u if q < 0.0 else 1.0 - u))
    z = _horner(_C, r - AS241_NEAR_TAIL_SHIFT) / _horner(_D, r - AS241_NEAR_TAIL_SHIFT)
    return -z if q < 0.0 else z


@njit(**KERNEL_OPTIONS)
def normal_ppf(u):
    """Standard normal quantile (Wichura's AS 241, PPND16)."""
    if abs(u - 0.5) <= CENTRAL_HALF_WIDTH:
        return normal_central(u)
    return normal_tail(u)


@njit(**KERNEL_OPTIONS)
def normal(word):
    return normal_ppf(uniform(word))
