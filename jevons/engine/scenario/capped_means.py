"""Closed forms of E[min(X, cap)] that need more than one line: normal tails, the
lognormal, the beta. Each is exact to float64 special-function accuracy for any
cap, with the terms arranged so that nothing cancels. Units are those of X.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
# exp overflows float64 above this
_LOG_MAX = math.log(np.finfo(np.float64).max)


def phi(x: float) -> float:
    """Standard normal density; 0 at +-inf."""
    return _INV_SQRT_2PI * math.exp(-0.5 * x * x)


def phi_diff(x: float, y: float) -> float:
    """phi(x) - phi(y), without cancellation when x and y are close.

    phi(x) - phi(y) = -phi(x) expm1(-(y^2 - x^2) / 2), anchored at whichever
    of x and y is nearer 0 (its phi is the larger, so neither underflows first).
    """
    if not (math.isfinite(x) and math.isfinite(y)):
        return phi(x) - phi(y)
    half_gap = 0.5 * (y - x) * (y + x)  # (y^2 - x^2) / 2
    if abs(x) <= abs(y):
        return -phi(x) * math.expm1(-half_gap)
    return phi(y) * math.expm1(half_gap)


def hermite_series(a: float, d: float, shift: int) -> float:
    """sum_k (-1)^k He_k(a) d^(k+shift) / (k+shift)!, for a finite and d (|a| + d) <= 1.

    From the Taylor series phi(a + u) = phi(a) sum_k He_k(a) (-u)^k / k!, He
    the probabilists' Hermite polynomials (He_{k+1} = a He_k - k He_{k-1}),
    integrated over u in [0, d]: times phi(a), shift 1 gives the mass
    Phi(a + d) - Phi(a) and shift 2 the integral of (d - u) phi(a + u). The
    terms fall at least as fast as (d (|a| + sqrt k))^k / k!, and their
    absolute sum is within a factor e^2 of the total.
    """
    h_prev, h = 0.0, 1.0  # He_{k-1}(a), He_k(a)
    power = d**shift / math.factorial(shift)  # d^(k+shift) / (k+shift)!
    total = 0.0
    for k in range(200):
        term = h * power if k % 2 == 0 else -h * power
        total += term
        if abs(term) <= 1e-17 * abs(total) and k > 2:
            break
        h_prev, h = h, a * h - k * h_prev
        power *= d / (k + 1 + shift)
    return total


def is_short(a: float, d: float) -> bool:
    """Whether [a, a + d] is short enough for ``hermite_series``."""
    return math.isfinite(a) and d * (abs(a) + d) <= 1.0


def normal_mass(x: float, y: float) -> float:
    """Phi(y) - Phi(x) for x <= y, with neither end rounded onto 1.

    A short interval sums the Taylor series (``hermite_series``), as the
    difference of two nearly equal Phi would cancel. Otherwise: both ends in
    the upper tail, the difference of the upper tails Phi(-x) - Phi(-y); both in
    the lower tail, Phi(y) - Phi(x); straddling 0, from erf, which carries full
    relative precision near 0.
    """
    if is_short(x, y - x):
        return phi(x) * hermite_series(x, y - x, 1)
    if x >= 0.0:
        return float(special.ndtr(-x) - special.ndtr(-y))
    if y <= 0.0:
        return float(special.ndtr(y) - special.ndtr(x))
    return float(0.5 * (special.erf(y / _SQRT2) - special.erf(x / _SQRT2)))


def normal_stop_loss(a: float, d: float) -> float:
    """Integral over u in [0, d] of (d - u) phi(a + u), for d >= 0 and a finite.

    That is the standard normal's E[(a + d - Y); a < Y < a + d], in closed form
    (a + d) [Phi(a + d) - Phi(a)] - [phi(a) - phi(a + d)]. The two brackets
    cancel to about d^2 / 2 of their size, so a short interval sums the Taylor
    series instead: phi(a) sum_k (-1)^k He_k(a) d^(k+2) / (k+2)!
    (``hermite_series``).
    """
    if is_short(a, d):
        return phi(a) * hermite_series(a, d, 2)
    return max((a + d) * normal_mass(a, a + d) - phi_diff(a, a + d), 0.0)


def beta_capped_mean(a: float, b: float, low: float, width: float, cap: float) -> float:
    """E[min(X, cap)] for X = low + width * B, B ~ Beta(a, b), in the units of X::

        low + width * [ m I_y(a + 1, b) + y (1 - I_y(a, b)) ],
        y = (cap - low) / width clipped to [0, 1],  m = a / (a + b),

    where I is the regularised incomplete beta function. The first term is
    E[B; B < y] (as x x^(a-1) (1-x)^(b-1) / B(a, b) = m * Beta(a + 1, b) density),
    the second y times P(B > y). Both terms are non-negative: no cancellation.
    """
    y = min(max((cap - low) / width, 0.0), 1.0)
    m = a / (a + b)
    below = m * special.betainc(a + 1.0, b, y)
    above = y * special.betaincc(a, b, y)
    return float(low + width * (below + above))


def exp_or_inf(x: float) -> float:
    """exp(x), or +inf past float64's range (math.exp would raise)."""
    return math.exp(x) if x <= _LOG_MAX else math.inf


def lognormal_capped_mean(mu: float, sigma: float, cap: float | None) -> float:
    """E[min(X, cap)] for log X ~ N(mu, sigma^2), in closed form::

        exp(mu + sigma^2 / 2) Phi((ln cap - mu - sigma^2) / sigma)
            + cap (1 - Phi((ln cap - mu) / sigma))

    The first term is the mean of the draws below the cap, the second the cap
    times the chance a draw exceeds it (for thinking tokens: the budget times
    the chance a call would have thought longer); units those of X. Both terms
    are non-negative, so nothing cancels. Where exp(mu + sigma^2 / 2) alone
    would overflow, the first term is taken as exp(mu + sigma^2 / 2 + log Phi(.)).
    ``cap`` None or +inf gives E[X]; a cap at or below 0 gives the cap.
    """
    if cap is None or cap == math.inf:
        return exp_or_inf(mu + 0.5 * sigma * sigma)
    if cap <= 0:
        return float(cap)
    z = (math.log(cap) - mu) / sigma
    log_scale = mu + 0.5 * sigma * sigma
    if log_scale <= _LOG_MAX:
        below = math.exp(log_scale) * float(special.ndtr(z - sigma))
    else:
        below = exp_or_inf(log_scale + float(special.log_ndtr(z - sigma)))
    return float(below + cap * special.ndtr(-z))
