"""Exact quantiles of many rows at once, on every CPU core.

``np.quantile`` selects with introselect, one row at a time. Here each row is
reduced by one thread in three linear passes: find the range of the values'
IEEE-754 bit patterns (which sort like the values when positive), count the
values in at most 16k buckets of consecutive bit patterns, as narrow as the
row's spread allows, then gather only the values in the buckets that hold the
wanted order statistics and sort those few. The result
is exact and uses NumPy's ``linear`` interpolation, so it equals
``np.nanquantile`` to float rounding; it costs a few array passes instead of
a selection per quantile.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

import jevons.kernels.compile_cache  # noqa: F401  (before any @njit with cache=True)

MAX_BUCKETS = 16384
_NO_LOW_BITS = np.int64(0x7FFFFFFFFFFFFFFF)


@njit(cache=True)
def _order_statistics(row, bits, ranks, out, nonpositive, low_bits, high_bits):
    """Write the ``ranks``-th smallest non-NaN values of ``row`` to ``out``; ranks ascending.

    ``nonpositive`` counts the values <= 0; ``low_bits`` and ``high_bits`` bound
    the bit patterns of the positive ones.
    """
    n = row.shape[0]
    # As fine as the values' spread allows: a narrow row gets narrow buckets.
    shift = 0
    while ((high_bits - low_bits) >> shift) >= MAX_BUCKETS // 2:
        shift += 1
    while (high_bits >> shift) - (low_bits >> shift) >= MAX_BUCKETS:
        shift += 1
    base = low_bits >> shift
    span = max((high_bits >> shift) - base + 1, 1)
    counts = np.zeros(span, dtype=np.int32)
    for j in range(n):
        if row[j] > 0.0:
            counts[(np.int64(bits[j]) >> shift) - base] += 1

    # Which bucket (or the non-positive group, -1) holds each wanted rank.
    m = ranks.shape[0]
    bucket_of = np.empty(m, dtype=np.int64)
    before = np.empty(m, dtype=np.int64)  # values in lower buckets
    cumulative = nonpositive
    k = 0
    while k < m and ranks[k] < nonpositive:
        bucket_of[k] = -1
        before[k] = 0
        k += 1
    for bucket in range(span):
        if k >= m:
            break
        c = counts[bucket]
        while k < m and ranks[k] < cumulative + c:
            bucket_of[k] = bucket
            before[k] = cumulative
            k += 1
        cumulative += c

    wanted = np.zeros(span + 1, dtype=np.bool_)  # slot 0: the non-positive group
    size = 0
    for k in range(m):
        if not wanted[bucket_of[k] + 1]:
            wanted[bucket_of[k] + 1] = True
            size += nonpositive if bucket_of[k] < 0 else counts[bucket_of[k]]
    gathered = np.empty(size, dtype=np.float64)
    g = 0
    for j in range(n):
        x = row[j]
        if x != x:
            continue
        slot = 0 if x <= 0.0 else (np.int64(bits[j]) >> shift) - base + 1
        if wanted[slot]:
            gathered[g] = x
            g += 1
    gathered.sort()
    # Sorted, the wanted buckets sit one after another, in rank order.
    offset = 0
    for k in range(m):
        if k > 0 and bucket_of[k] != bucket_of[k - 1]:
            previous = bucket_of[k - 1]
            offset += nonpositive if previous < 0 else counts[previous]
        out[k] = gathered[offset + ranks[k] - before[k]]


@njit(cache=True, fastmath={"reassoc", "nsz"})
def _row_summary(row, bits, quantiles, q_out, mean_out):
    n = row.shape[0]
    valid = 0
    total = 0.0
    nonpositive = 0
    low_bits = _NO_LOW_BITS
    high_bits = np.int64(0)
    # Branch-free, so that the pass runs on SIMD lanes.
    for j in range(n):
        x = row[j]
        number = x == x
        positive = x > 0.0  # False for NaN
        valid += 1 if number else 0
        total += x if number else 0.0
        nonpositive += 1 if x <= 0.0 else 0
        b = np.int64(bits[j])
        low_bits = min(low_bits, b if positive else _NO_LOW_BITS)
        high_bits = max(high_bits, b if positive else np.int64(0))
    m = quantiles.shape[0]
    if valid == 0:
        mean_out[0] = np.nan
        for k in range(m):
            q_out[k] = np.nan
        return
    mean_out[0] = total / valid
    if m == 0:  # only the mean was asked for
        return
    # NumPy's "linear" method: virtual index (n - 1) q, then lerp between neighbours.
    index = np.empty(m)
    ranks = np.empty(2 * m, dtype=np.int64)
    for k in range(m):
        h = quantiles[k] * (valid - 1)
        index[k] = h
        lo = int(np.floor(h))
        ranks[2 * k] = lo
        ranks[2 * k + 1] = min(lo + 1, valid - 1)
    order = np.argsort(ranks)
    sorted_values = np.empty(2 * m)
    _order_statistics(row, bits, ranks[order], sorted_values, nonpositive, low_bits, high_bits)
    values = np.empty(2 * m)
    values[order] = sorted_values
    for k in range(m):
        a = values[2 * k]
        b = values[2 * k + 1]
        t = index[k] - np.floor(index[k])
        q_out[k] = b - (b - a) * (1.0 - t) if t >= 0.5 else a + (b - a) * t


@njit(parallel=True, cache=True)
def _summarise_rows(rows, bits, quantiles, q_out, mean_out):
    for r in prange(rows.shape[0]):
        _row_summary(rows[r], bits[r], quantiles, q_out[r], mean_out[r : r + 1])


def summarise_rows(rows, quantiles, q_out, mean_out):
    """Quantiles ``q_out[r, k]`` and means ``mean_out[r]`` of each row, NaNs ignored.

    ``rows`` is float32 or float64; its bit patterns are read through an integer
    view of the same width.
    """
    bits = rows.view(np.int32 if rows.dtype == np.float32 else np.int64)
    _summarise_rows(rows, bits, quantiles, q_out, mean_out)
