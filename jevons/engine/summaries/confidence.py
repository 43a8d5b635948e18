"""Distribution-free confidence intervals of quantiles, from order statistics.

With ``n`` values drawn independently, the count ``B`` of values at or below the
true q-quantile is Binomial(n, q). The 1-based ranks

    l = binom.ppf(0.025, n, q),   u = binom.ppf(0.975, n, q) + 1,   both clipped to [1, n]

give ``P(l <= B < u) >= 0.95`` (before clipping), so the l-th and u-th smallest
values bound the q-quantile with at least 95% confidence, whatever the
distribution. Clipping at the ends (few values, or q near 0 or 1) keeps the
bounds inside the sample, where the coverage may fall short of 95%.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binom

LEVEL = 0.95  # confidence of the reported intervals


def order_statistic_ranks(
    n: np.ndarray | int, quantiles: np.ndarray | float, level: float = LEVEL
) -> tuple[np.ndarray, np.ndarray]:
    """1-based ranks ``(low, high)`` of the order statistics that bound each quantile.

    ``n`` (values per row) and ``quantiles`` broadcast together; see the module's
    rule. Where ``n`` is 0 both ranks are 0: there is no interval.
    """
    n = np.asarray(n, dtype=np.int64)
    q = np.asarray(quantiles, dtype=np.float64)
    tail = (1.0 - level) / 2.0
    low = binom.ppf(tail, n, q)
    high = binom.ppf(1.0 - tail, n, q) + 1
    upper = np.maximum(n, 1)
    low = np.clip(np.nan_to_num(low), 1, upper).astype(np.int64)
    high = np.clip(np.nan_to_num(high), 1, upper).astype(np.int64)
    empty = n == 0
    return np.where(empty, 0, low), np.where(empty, 0, high)


def quantile_bounds(
    values: np.ndarray, quantiles: np.ndarray, level: float = LEVEL
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper confidence bounds (quantile, *lead) of each quantile of
    ``values`` (*lead, samples), along the last axis.

    NaN (an undefined ratio) is skipped: ``n`` is each row's count of non-NaN
    values. A row of NaN alone has NaN bounds.
    """
    values = np.asarray(values, dtype=np.float64)
    q = np.asarray(quantiles, dtype=np.float64)
    if values.shape[-1] and not np.isnan(values).any():
        # Every row holds n values: the same ranks for all, found by partial selection
        # (linear time) rather than a full sort.
        n = values.shape[-1]
        low, high = order_statistic_ranks(np.array(n), q)  # (quantile,)
        part = np.partition(values, np.unique(np.concatenate([low, high])) - 1, axis=-1)
        return (
            np.moveaxis(np.take(part, low - 1, axis=-1), -1, 0),
            np.moveaxis(np.take(part, high - 1, axis=-1), -1, 0),
        )
    ordered = np.sort(values, axis=-1)  # NaN sorts last
    n = np.sum(~np.isnan(ordered), axis=-1)  # (*lead)
    low, high = order_statistic_ranks(n[..., None], q)  # (*lead, quantile)
    bounds = []
    for rank in (low, high):
        picked = np.take_along_axis(ordered, np.maximum(rank - 1, 0), axis=-1)
        picked = np.where(rank > 0, picked, np.nan)
        bounds.append(np.moveaxis(picked, -1, 0))
    return bounds[0], bounds[1]
