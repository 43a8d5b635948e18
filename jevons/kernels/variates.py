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

UNIFORM_SCALE = 2.0**-23


def uniform_from_word(x: Array) -> Array:
    """Uniform on (0, 1) from a uint32 word, as float64."""
    xp = namespace(x)
    words = xp.astype(x, xp.uint32, copy=False)
    return (xp.astype(words >> 9, xp.float64) + 0.5) * UNIFORM_SCALE


# AS 241 coefficients (Wichura 1988, Applied Statistics 37, 477-484), PPND16.
_A = (
    3.387132872796366608,
    133.14166789178437745,
    1971.5909503065514427,
    13731.693765509461125,
    45921.953931549871457,
    67265.770927008700853,
    33430.575583588128105,
    2509.0809287301226727,
)
_B = (
    1.0,
    42.313330701600911252,
    687.1870074920579083,
    5394.1960214247511077,
    21213.794301586595867,
    39307.89580009271061,
    28729.085735721942674,
    5226.495278852854561,
)
_C = (
    1.42343711074968357734,
    4.6303378461565452959,
    5.7694972214606914055,
    3.64784832476320460504,
    1.27045825245236838258,
    0.24178072517745061177,
    0.0227238449892691845833,
    7.7454501427834140764e-4,
)
_D = (
    1.0,
    2.05319162663775882187,
    1.6763848301838038494,
    0.68976733498510000455,
    0.14810397642748007459,
    0.0151986665636164571966,
    5.475938084995344946e-4,
    1.05075007164441684324e-9,
)
_E = (
    6.6579046435011037772,
    5.4637849111641143699,
    1.7848265399172913358,
    0.29656057182850489123,
    0.026532189526576123093,
    0.0012426609473880784386,
    2.71155556874348757815e-5,
    2.01033439929228813265e-7,
)
_F = (
    1.0,
    0.59983220655588793769,
    0.13692988092273580531,
    0.0148753612908506148525,
    7.868691311456132591e-4,
    1.8463183175100546818e-5,
    1.4215117583164458887e-7,
    2.04426310338993978564e-15,
)


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
    central = xp.abs(q) <= 0.425
    r_c = 0.180625 - q * q
    z_central = q * _poly(xp, _A, r_c) / _poly(xp, _B, r_c)

    tail = xp.where(q < 0.0, u, 1.0 - u)
    with np.errstate(divide="ignore", invalid="ignore"):  # NumPy's warnings, should u be 0 or 1
        r = xp.sqrt(-xp.log(xp.where(central, 0.5, tail)))
    near = r <= 5.0
    r_near = r - 1.6
    r_far = r - 5.0
    z_tail = xp.where(
        near,
        _poly(xp, _C, r_near) / _poly(xp, _D, r_near),
        _poly(xp, _E, r_far) / _poly(xp, _F, r_far),
    )
    z_tail = xp.where(q < 0.0, -z_tail, z_tail)
    return xp.where(central, z_central, z_tail)


def normal_from_word(x: Array) -> Array:
    """Standard normal from a uint32 word."""
    return normal_ppf(uniform_from_word(x))
