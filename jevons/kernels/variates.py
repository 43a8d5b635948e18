"""Turning Philox words into uniforms and standard normals.

Uniforms keep 23 bits, ``u = ((x >> 9) + 0.5) * 2**-23``: ``k + 0.5`` with
``k < 2**23`` fits float32's 24-bit significand, so the value is exact in
float32 and float64 alike. Every backend, whatever its precision, sees
bit-identical uniforms, and ``u`` is never 0 or 1 (normals reach +-5.3 sigma).

Normals use the inverse CDF (Wichura's AS 241, PPND16, relative accuracy about
1e-16): one uniform per normal, no rejection loop, so the number of words a
trajectory consumes never depends on the values drawn, and the central 85% of
draws needs no transcendental function.

Both take and return arrays of any array API namespace (NumPy, CuPy, ...).
"""

from __future__ import annotations

import numpy as np

from jevons.kernels.array_api import Array, namespace
from jevons.kernels.constants import (
    AS241_A,
    AS241_B,
    AS241_C,
    AS241_CENTRAL_HALF_WIDTH,
    AS241_CENTRAL_R,
    AS241_D,
    AS241_E,
    AS241_F,
    AS241_NEAR_TAIL_SHIFT,
    AS241_TAIL_SPLIT,
    UNIFORM_DROP_BITS,
    UNIFORM_SCALE,
)


def uniform_from_word(x: Array) -> Array:
    """Uniform on (0, 1) from a uint32 word, as float64."""
    xp = namespace(x)
    words = xp.astype(x, xp.uint32, copy=False)
    return (xp.astype(words >> UNIFORM_DROP_BITS, xp.float64) + 0.5) * UNIFORM_SCALE


def _poly(xp, coefs: tuple[float, ...], x: Array) -> Array:
    result = xp.full_like(x, coefs[-1])
    for c in reversed(coefs[:-1]):
        result = result * x + c
    return result


def normal_ppf(u: Array) -> Array:
    """Standard normal quantile of ``u`` in (0, 1) (AS 241)."""
    xp = namespace(u)
    u = xp.astype(u, xp.float64, copy=False)
    q = u - 0.5
    central = xp.abs(q) <= AS241_CENTRAL_HALF_WIDTH
    r_c = AS241_CENTRAL_R - q * q
    z_central = q * _poly(xp, AS241_A, r_c) / _poly(xp, AS241_B, r_c)

    tail = xp.where(q < 0.0, u, 1.0 - u)
    with np.errstate(divide="ignore", invalid="ignore"):  # NumPy's warnings, should u be 0 or 1
        r = xp.sqrt(-xp.log(xp.where(central, 0.5, tail)))
    near = r <= AS241_TAIL_SPLIT
    r_near = r - AS241_NEAR_TAIL_SHIFT
    r_far = r - AS241_TAIL_SPLIT
    z_tail = xp.where(
        near,
        _poly(xp, AS241_C, r_near) / _poly(xp, AS241_D, r_near),
        _poly(xp, AS241_E, r_far) / _poly(xp, AS241_F, r_far),
    )
    z_tail = xp.where(q < 0.0, -z_tail, z_tail)
    return xp.where(central, z_central, z_tail)


def normal_from_word(x: Array) -> Array:
    """Standard normal from a uint32 word."""
    return normal_ppf(uniform_from_word(x))
