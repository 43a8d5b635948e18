"""Sketches of values of either sign (a gross margin), as two sketches of magnitudes.

A sketch holds non-negative values (:mod:`jevons.engine.summaries.sketch`). A
signed value goes to one of two: ``x >= 0`` to the positive sketch, ``-x`` for
``x < 0`` to the negated one (the other gets NaN, which a sketch skips). With
``k`` negative values among ``n``, the ``r``-th smallest (0-based) is
``-(negated's (k - 1 - r)-th smallest)`` for ``r < k``, else the positive
sketch's ``(r - k)``-th: each within the sketch's relative accuracy ``a`` of the
true order statistic. Quantiles interpolate two of them as NumPy's ``linear``
method does, so one that falls between a negative and a positive value is
within ``a`` times the sum of the two magnitudes' shares, not of the quantile.
"""

from __future__ import annotations

import numpy as np

from jevons.engine.summaries.sketch import RowSketches, linear_interpolation, linear_ranks


def negated_name(name: str) -> str:
    """The sketch that holds the magnitudes of ``name``'s negative values."""
    return f"{name}_negated"


def split_signed(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(positive, negated)``: ``values`` where >= 0 (else NaN), and ``-values`` where < 0."""
    values = np.asarray(values, dtype=np.float64)
    negative = values < 0.0
    return np.where(negative, np.nan, values), np.where(negative, -values, np.nan)


def signed_quantiles(
    positive: RowSketches, negated: RowSketches, quantiles: np.ndarray
) -> np.ndarray:
    """Quantiles (rows, m) of each row's signed values, as ``np.nanquantile`` (linear)."""
    qs = np.asarray(quantiles, dtype=np.float64)
    below = negated.value_count[:, None]
    n = below + positive.value_count[:, None]
    lower_rank, upper_rank, weight = linear_ranks(n, qs)

    def statistic(rank: np.ndarray) -> np.ndarray:
        from_negated = -negated.order_statistics(below - 1 - rank)
        return np.where(rank < below, from_negated, positive.order_statistics(rank - below))

    result = linear_interpolation(statistic(lower_rank), statistic(upper_rank), weight)
    return np.where(n > 0, result, np.nan)


def signed_means(positive: RowSketches, negated: RowSketches) -> np.ndarray:
    """Exact mean (rows,) of each row's signed values; NaN for a row without any."""
    n = positive.value_count + negated.value_count
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (positive.value_sum - negated.value_sum) / n, np.nan)
