"""Compiled update of the summaries' row sketches (DDSketch counts), on every CPU core.

Two passes over the values, one thread per row. The first takes each row's exact
statistics (count, zeros, sum, minimum, maximum) without touching the sketch, so
that invalid values are refused before anything changes and the caller widens
the rows' key spans once, for the whole batch; the second adds the counts.

Both work on the IEEE-754 bit pattern of each value, widened to float64 (exactly,
for float32): the bucket key is ``bits >> shift``, the NumPy path's formula, so
the two paths give the same keys by construction. For the values that can be
sketched (non-negative, finite) the bit patterns, read as int64, are ordered like
the values, so the minimum, maximum and the classification of a value (NaN, zero,
bucketed, negative or infinite) are integer operations. The per-value loops have
no branch that depends on the data (zeros and NaNs come in any order): the first
vectorises; the second, whose scattered increments cannot, adds 0 or 1 to a cell
of the row for every value.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

import jevons.kernels.compile_cache  # noqa: F401  (before any @njit with cache=True)

# Bit patterns of float64 values, as int64.
MAGNITUDE_MASK = np.int64(0x7FFF_FFFF_FFFF_FFFF)  # all but the sign bit
SMALLEST_NORMAL_BITS = np.int64(0x0010_0000_0000_0000)  # ZERO_THRESHOLD
INF_BITS = np.int64(0x7FF0_0000_0000_0000)  # larger magnitudes are NaN
NEG_INF_BITS = np.int64(-0x0010_0000_0000_0000)  # 0xFFF0... read as int64


# The sum's order does not matter (NumPy's own is pairwise, a split run's is
# another again), so the fadd may be reassociated into vector lanes. Nothing
# else is floating point: NaN tests are on the bits, so no flag touches them.
@njit(parallel=True, cache=True, fastmath={"reassoc"})
def scan_rows(
    values,
    shift,
    key_low,
    key_high,
    value_count,
    zero_count,
    value_sum,
    value_min_bits,
    value_max_bits,
    rejected,
):
    """Per-row statistics of ``values`` (rows, n); ``rejected[r]`` counts negative or inf values.

    ``value_min_bits`` and ``value_max_bits`` are int64 views of the float64
    results (inf and -inf for a row without values). A row with nothing to
    bucket gets ``key_low > key_high``.
    """
    for r in prange(values.shape[0]):
        row = values[r]
        count = 0
        bucketed = 0
        bad = 0
        total = 0.0
        smallest = INF_BITS
        smallest_bucketed = INF_BITS
        largest = NEG_INF_BITS
        for j in range(row.shape[0]):
            x = np.float64(row[j])
            bits = x.view(np.int64)
            magnitude = bits & MAGNITUDE_MASK
            valid = magnitude <= INF_BITS  # not NaN
            in_bucket = (bits >= SMALLEST_NORMAL_BITS) & (bits < INF_BITS)
            # Negative (-0.0 is a zero) or +-inf; the whole block is refused then,
            # so what such a value does to the other statistics does not matter.
            bad += np.int64(valid & (((bits < 0) & (magnitude != 0)) | (bits == INF_BITS)))
            count += np.int64(valid)
            bucketed += np.int64(in_bucket)
            total += x if valid else 0.0
            smallest = min(smallest, magnitude if valid else INF_BITS)
            largest = max(largest, magnitude if valid else NEG_INF_BITS)
            smallest_bucketed = min(smallest_bucketed, bits if in_bucket else INF_BITS)
        if bucketed:
            # The largest value is bucketed whenever any is: the others are zeros.
            key_low[r] = smallest_bucketed >> shift
            key_high[r] = largest >> shift
        else:
            key_low[r] = 1
            key_high[r] = 0
        value_count[r] = count
        zero_count[r] = count - bucketed
        value_sum[r] = total
        value_min_bits[r] = smallest
        value_max_bits[r] = largest
        rejected[r] = bad


@njit(parallel=True, cache=True)
def count_keys(values, shift, key_low, key_high, key_offset, bucket_counts):
    """Add each value's bucket to ``bucket_counts[r, (bits >> shift) - key_offset[r]]``.

    ``key_low`` and ``key_high`` are :func:`scan_rows`' results; every row's
    span must already hold them.
    """
    for r in prange(values.shape[0]):
        low = key_low[r]
        if low > key_high[r]:  # nothing to bucket (the row may have no span at all)
            continue
        row = values[r]
        counts = bucket_counts[r]
        offset = key_offset[r]
        for j in range(row.shape[0]):
            bits = np.float64(row[j]).view(np.int64)
            in_bucket = (bits >= SMALLEST_NORMAL_BITS) & (bits < INF_BITS)  # False for NaN
            # A zero or NaN adds 0 to the row's lowest key instead of branching;
            # the column is never negative, and unsigned it skips Numba's
            # wraparound of negative indices.
            key = (bits >> shift) if in_bucket else low
            counts[np.uint64(key - offset)] += np.int64(in_bucket)
