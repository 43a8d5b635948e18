"""Sketch updates on the GPU: the values stay on the device, only bucket counts leave.

For a batch of rows (one per variable, step and lead index), :func:`scan_rows`
reduces each row in one thread block: its count, zeros, sum, minimum, maximum
and its lowest and highest bucket key. The host then places each row's key span
(a few numbers per row), :func:`count_keys` adds every value to its bucket with
an atomic, one thread per value, and the batch's counts (rows x span width)
are copied back and added to the host's sketch. Keys are the float64 bit
pattern shifted right, as in the host's sketch: the same integers on either side.

Importing this module imports ``numba.cuda``.
"""

from __future__ import annotations

import numpy as np
from numba import cuda, float64, int64

import jevons.kernels.compile_cache  # noqa: F401  (before any @njit with cache=True)

THREADS = 256
COUNT_THREADS = 256
MAX_GRID_Y = 65_535  # blocks along a grid's y (and z) dimension, on every CUDA GPU
INF_BITS = int(np.float64(np.inf).view(np.int64))


@cuda.jit
def _scan_rows(bits, values, shift, zero_bits, stats_i, stats_f):
    """Per row r: stats_i[r] = (count, zeros, rejected, key_low, key_high) and
    stats_f[r] = (sum, min, max); a row with nothing to bucket gets key_low > key_high.
    """
    r = cuda.blockIdx.x
    tid = cuda.threadIdx.x
    row_bits = bits[r]
    row = values[r]
    n = row.shape[0]
    s_count = cuda.shared.array(THREADS, int64)
    s_zeros = cuda.shared.array(THREADS, int64)
    s_bad = cuda.shared.array(THREADS, int64)
    s_low = cuda.shared.array(THREADS, int64)
    s_high = cuda.shared.array(THREADS, int64)
    s_sum = cuda.shared.array(THREADS, float64)
    s_min = cuda.shared.array(THREADS, float64)
    s_max = cuda.shared.array(THREADS, float64)
    count = 0
    zeros = 0
    bad = 0
    low = int64(0x7FFFFFFFFFFFFFFF)
    high = int64(-1)
    total = 0.0
    smallest = np.inf
    largest = -np.inf
    for j in range(tid, n, cuda.blockDim.x):
        x = row[j]
        b = row_bits[j]
        if x != x:
            continue
        if x < 0.0 or b == INF_BITS:
            bad += 1
            continue
        count += 1
        total += x
        smallest = min(smallest, x)
        largest = max(largest, x)
        if b < zero_bits:
            zeros += 1
        else:
            key = b >> shift
            low = min(low, key)
            high = max(high, key)
    s_count[tid] = count
    s_zeros[tid] = zeros
    s_bad[tid] = bad
    s_low[tid] = low
    s_high[tid] = high
    s_sum[tid] = total
    s_min[tid] = smallest
    s_max[tid] = largest
    cuda.syncthreads()
    stride = cuda.blockDim.x // 2
    while stride > 0:
        if tid < stride:
            s_count[tid] += s_count[tid + stride]
            s_zeros[tid] += s_zeros[tid + stride]
            s_bad[tid] += s_bad[tid + stride]
            s_low[tid] = min(s_low[tid], s_low[tid + stride])
            s_high[tid] = max(s_high[tid], s_high[tid + stride])
            s_sum[tid] += s_sum[tid + stride]
            s_min[tid] = min(s_min[tid], s_min[tid + stride])
            s_max[tid] = max(s_max[tid], s_max[tid + stride])
        cuda.syncthreads()
        stride //= 2
    if tid == 0:
        stats_i[r, 0] = s_count[0]
        stats_i[r, 1] = s_zeros[0]
        stats_i[r, 2] = s_bad[0]
        stats_i[r, 3] = s_low[0]
        stats_i[r, 4] = s_high[0]
        stats_f[r, 0] = s_sum[0]
        stats_f[r, 1] = s_min[0]
        stats_f[r, 2] = s_max[0]


@cuda.jit
def _count_keys(bits, shift, zero_bits, key_low, counts):
    """counts[r, key - key_low[r]] += 1 for every bucketed value of row r."""
    r = cuda.blockIdx.y
    j = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
    row_bits = bits[r]
    if j < row_bits.shape[0]:
        b = row_bits[j]
        # positive, normal and finite: NaN and inf patterns lie above INF_BITS - 1,
        # negative values have the sign bit and so a negative pattern
        if b >= zero_bits and b < INF_BITS:
            cuda.atomic.add(counts, (r, (b >> shift) - key_low[r]), 1)


def sketch_rows_on_device(values, shift: int, zero_bits: int):
    """Bucket the rows of ``values`` (a (rows, n) float64 device array).

    Returns host arrays: per-row ``stats_i`` (count, zeros, rejected, key_low,
    key_high), ``stats_f`` (sum, min, max) and ``counts`` (rows, width) where
    ``counts[r, j]`` counts key ``key_low[r] + j``.
    """
    rows = values.shape[0]
    bits = values.view(np.int64)
    stats_i = cuda.device_array((rows, 5), dtype=np.int64)
    stats_f = cuda.device_array((rows, 3), dtype=np.float64)
    threads = min(THREADS, 1 << max(0, int(values.shape[1] - 1).bit_length()))
    _scan_rows[rows, threads](bits, values, np.int64(shift), np.int64(zero_bits), stats_i, stats_f)
    host_i = stats_i.copy_to_host()
    host_f = stats_f.copy_to_host()
    key_low, key_high = host_i[:, 3], host_i[:, 4]
    bucketed = key_low <= key_high
    width = int((key_high - key_low + 1)[bucketed].max()) if bucketed.any() else 0
    if width == 0:
        return host_i, host_f, np.zeros((rows, 0), dtype=np.int64)
    counts = cuda.to_device(np.zeros((rows, width), dtype=np.int64))
    low = cuda.to_device(np.where(bucketed, key_low, 0).astype(np.int64))
    blocks = (values.shape[1] + COUNT_THREADS - 1) // COUNT_THREADS
    # rows go on the grid's y dimension, which CUDA caps at 65,535 blocks: a window of
    # many steps over few trajectories has more rows than that
    for first in range(0, rows, MAX_GRID_Y):
        last = min(rows, first + MAX_GRID_Y)
        _count_keys[(blocks, last - first), COUNT_THREADS](
            bits[first:last], np.int64(shift), np.int64(zero_bits), low[first:last],
            counts[first:last],
        )  # fmt: skip
    return host_i, host_f, counts.copy_to_host()
