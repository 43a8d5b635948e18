"""Compiled update of :class:`jevons.engine.sketch.RowSketches`, on every CPU core.

Two passes over the values, one thread per row. The first takes each row's exact
statistics (count, zeros, sum, minimum, maximum) without touching the sketch, so
that invalid values are refused before anything changes and the caller widens
the count windows once, for the whole block; the second adds the counts. The key
is non-decreasing in the value, so the first pass needs only two logarithms a
row, for its smallest and largest bucketed values; the second takes one a value.

Keys use the NumPy path's float64 formula, ``ceil(log(x) * inv_log_gamma)``
with the same constant, and float32 values are widened before the logarithm.
NumPy's vectorised ``log`` (AVX-512 builds) and libm may still differ by one
unit in the last place, which moves a value only when it lies within about
``1e-13`` (relative) of a bucket edge; either bucket keeps the error bound.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

import jevons.kernels.compile_cache  # noqa: F401  (before any @njit with cache=True)


@njit(cache=True)
def bucket_key(x, inv_log_gamma):
    return math.ceil(math.log(x) * inv_log_gamma)


@njit(parallel=True, cache=True)
def scan_rows(
    values,
    inv_log_gamma,
    zero_threshold,
    key_low,
    key_high,
    value_count,
    zero_count,
    value_sum,
    value_min,
    value_max,
    rejected,
):
    """Per-row statistics of ``values`` (rows, n); ``rejected[r]`` counts negative or inf values.

    A row with nothing to bucket gets ``key_low > key_high``.
    """
    for r in prange(values.shape[0]):
        row = values[r]
        count = 0
        zeros = 0
        bad = 0
        total = 0.0
        smallest = np.inf
        smallest_bucketed = np.inf
        largest = -np.inf
        for j in range(row.shape[0]):
            x = np.float64(row[j])
            if x != x:
                continue
            if x < 0.0 or x == np.inf:
                bad += 1
                continue
            count += 1
            total += x
            smallest = min(smallest, x)
            largest = max(largest, x)
            if x < zero_threshold:
                zeros += 1
            else:
                smallest_bucketed = min(smallest_bucketed, x)
        if count > zeros:
            key_low[r] = bucket_key(smallest_bucketed, inv_log_gamma)
            key_high[r] = bucket_key(largest, inv_log_gamma)
        else:
            key_low[r] = 1
            key_high[r] = 0
        value_count[r] = count
        zero_count[r] = zeros
        value_sum[r] = total
        value_min[r] = smallest
        value_max[r] = largest
        rejected[r] = bad


@njit(parallel=True, cache=True)
def count_keys(values, inv_log_gamma, zero_threshold, key_low, key_high, key_offset, bucket_counts):
    """Add each value's bucket to ``bucket_counts[r, key - key_offset[r]]``.

    ``key_low`` and ``key_high`` are :func:`scan_rows`' results; every row's
    window must already hold them.
    """
    for r in prange(values.shape[0]):
        row = values[r]
        counts = bucket_counts[r]
        offset = key_offset[r]
        low = key_low[r]
        high = key_high[r]
        for j in range(row.shape[0]):
            x = np.float64(row[j])  # float32 keys come from float64 logarithms too
            if x >= zero_threshold:  # False for NaN
                # A libm log that is not monotone by one ulp could step outside
                # the scanned range; the edge bucket keeps the bound and the write
                # stays in the row's window.
                key = min(max(bucket_key(x, inv_log_gamma), low), high)
                counts[key - offset] += 1
