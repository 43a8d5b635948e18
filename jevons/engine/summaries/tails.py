"""How many values a tail mean (CVaR) averages: one rule for every summary path.

The tail at level ``q`` of ``n`` values is the worst (largest)
``ceil((1 - q) n)`` of them, at least one, with ``q`` taken as the decimal it is
written as: 0.57 means 57/100, not the binary float nearest to it, so 0.57 of 100
values leaves a tail of 43, not 44. Floating point cannot give that count (both
``int(0.57 * 100)`` and ``ceil((1 - 0.57) * 100)`` are off by one), so ``q``
becomes the fraction ``p / d`` of its shortest ``repr`` and the count is
``n - floor(p n / d)`` in Python integers, which cannot overflow.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np


def _as_decimal(q: float) -> Fraction:
    """``q`` as the decimal it is written as: the exact value of its shortest repr."""
    level = Fraction(repr(float(q)))
    if not 0 <= level <= 1:
        raise ValueError(f"quantile must be in [0, 1], not {q!r}")
    return level


def tail_count(q: float, n: int) -> int:
    """Values in the tail at level ``q`` of ``n``: ``ceil((1 - q) n)``, at least one.

    ``q`` is taken as the decimal it is written as. An empty set (``n = 0``) has
    an empty tail.
    """
    return int(tail_counts(np.array([q]), np.array(n))[0])


def tail_counts(quantiles: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """:func:`tail_count` for every quantile and count: int64 ``(*counts.shape, m)``."""
    levels = [_as_decimal(q) for q in np.atleast_1d(np.asarray(quantiles, dtype=np.float64))]
    counts = np.asarray(counts, dtype=np.int64)
    distinct, where = np.unique(counts, return_inverse=True)
    # Python integers (object arrays): p * n overflows int64 for a q of 17 digits.
    n = distinct.astype(object)
    out = np.empty((len(distinct), len(levels)), dtype=np.int64)
    for j, level in enumerate(levels):
        out[:, j] = n - n * level.numerator // level.denominator
    out = np.minimum(np.maximum(out, 1), distinct[:, None])
    return out[where.reshape(counts.shape)]
