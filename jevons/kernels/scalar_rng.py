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


@njit(cache=True, fastmath=FASTMATH)
def normal_ppf(u):
    """Standard normal quantile (Wichura's AS 241, PPND16)."""
    q = u - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        num = (
            (
                (
                    (
                        (
                            (2509.0809287301226727 * r + 33430.575583588128105) * r
                            + 67265.770927008700853
                        )
                        * r
                        + 45921.953931549871457
                    )
                    * r
                    + 13731.693765509461125
                )
                * r
                + 1971.5909503065514427
            )
            * r
            + 133.14166789178437745
        ) * r + 3.387132872796366608
        den = (
            (
                (
                    (
                        (
                            (5226.495278852854561 * r + 28729.085735721942674) * r
                            + 39307.89580009271061
                        )
                        * r
                        + 21213.794301586595867
                    )
                    * r
                    + 5394.1960214247511077
                )
                * r
                + 687.1870074920579083
            )
            * r
            + 42.313330701600911252
        ) * r + 1.0
        return q * num / den
    r = u if q < 0.0 else 1.0 - u
    r = math.sqrt(-math.log(r))
    if r <= 5.0:
        r -= 1.6
        num = (
            (
                (
                    (
                        (
                            (7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r
                            + 0.24178072517745061177
                        )
                        * r
                        + 1.27045825245236838258
                    )
                    * r
                    + 3.64784832476320460504
                )
                * r
                + 5.7694972214606914055
            )
            * r
            + 4.6303378461565452959
        ) * r + 1.42343711074968357734
        den = (
            (
                (
                    (
                        (
                            (1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r
                            + 0.0151986665636164571966
                        )
                        * r
                        + 0.14810397642748007459
                    )
                    * r
                    + 0.68976733498510000455
                )
                * r
                + 1.6763848301838038494
            )
            * r
            + 2.05319162663775882187
        ) * r + 1.0
    else:
        r -= 5.0
        num = (
            (
                (
                    (
                        (
                            (2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r
                            + 0.0012426609473880784386
                        )
                        * r
                        + 0.026532189526576123093
                    )
                    * r
                    + 0.29656057182850489123
                )
                * r
                + 1.7848265399172913358
            )
            * r
            + 5.4637849111641143699
        ) * r + 6.6579046435011037772
        den = (
            (
                (
                    (
                        (
                            (2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r
                            + 1.8463183175100546818e-5
                        )
                        * r
                        + 7.868691311456132591e-4
                    )
                    * r
                    + 0.0148753612908506148525
                )
                * r
                + 0.13692988092273580531
            )
            * r
            + 0.59983220655588793769
        ) * r + 1.0
    z = num / den
    return -z if q < 0.0 else z


@njit(cache=True, fastmath=FASTMATH)
def normal(word):
    return normal_ppf(uniform(word))
