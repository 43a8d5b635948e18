"""Exact quantiles of many rows on the GPU: one thread block per row.

The algorithm of :mod:`jevons.kernels.cpu_quantiles`, shaped for a block of threads:
(1) reduce the row's count, sum and the range of its positive values' bit
patterns; (2) count the values in at most ``BUCKETS`` bit-pattern buckets in
shared memory; (3) one thread finds the buckets that hold the wanted order
statistics; (4) the values of those buckets are gathered to scratch memory;
(5) each wanted value is found by counting, for every gathered value, how many
in its bucket are smaller (ties broken by position). The result equals
``np.nanquantile`` (linear interpolation) to float rounding, without copying the
rows to the host.

Importing this module imports ``numba.cuda``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import config, cuda, int32, int64

import jevons.kernels.compile_cache  # noqa: F401  (before any @njit with cache=True)

BUCKETS = 4096
MAX_THREADS = 256
MAX_RANKS = 64  # two order statistics per quantile: up to 32 quantiles
_NONE = -2  # bucket id of an unused rank slot


@cuda.jit(cache=True)
def _row_quantiles(rows, bits, quantiles, q_out, mean_out, scratch):
    r = cuda.blockIdx.x
    tid = cuda.threadIdx.x
    threads = cuda.blockDim.x
    row = rows[r]
    row_bits = bits[r]
    n = row.shape[0]
    m = quantiles.shape[0]

    s_count = cuda.shared.array(MAX_THREADS, int64)
    s_nonpos = cuda.shared.array(MAX_THREADS, int64)
    s_low = cuda.shared.array(MAX_THREADS, int64)
    s_high = cuda.shared.array(MAX_THREADS, int64)
    s_sum = cuda.shared.array(MAX_THREADS, np.float64)
    hist = cuda.shared.array(BUCKETS, int32)
    # per sorted rank: its bucket (-1: the non-positive group), values below that bucket
    rank = cuda.shared.array(MAX_RANKS, int64)
    rank_bucket = cuda.shared.array(MAX_RANKS, int64)
    rank_before = cuda.shared.array(MAX_RANKS, int64)
    rank_value = cuda.shared.array(MAX_RANKS, np.float64)
    # per bucket slot (bucket + 1, slot 0 = non-positive group): gathered segment
    seg_start = cuda.shared.array(BUCKETS + 1, int32)
    seg_fill = cuda.shared.array(BUCKETS + 1, int32)
    params = cuda.shared.array(4, int64)  # valid, nonpositive, shift, base

    # (1) count, sum, non-positives, range of positive bit patterns
    count = 0
    nonpos = 0
    low = int64(0x7FFFFFFFFFFFFFFF)
    high = int64(0)
    total = 0.0
    for j in range(tid, n, threads):
        x = row[j]
        if x == x:
            count += 1
            total += x
            if x <= 0.0:
                nonpos += 1
            else:
                b = int64(row_bits[j])
                low = min(low, b)
                high = max(high, b)
    s_count[tid] = count
    s_nonpos[tid] = nonpos
    s_low[tid] = low
    s_high[tid] = high
    s_sum[tid] = total
    for b in range(tid, BUCKETS, threads):
        hist[b] = 0
    for b in range(tid, BUCKETS + 1, threads):
        seg_fill[b] = 0
        seg_start[b] = -1
    cuda.syncthreads()
    if tid == 0:
        for k in range(1, threads):
            count += s_count[k]
            nonpos += s_nonpos[k]
            low = min(low, s_low[k])
            high = max(high, s_high[k])
            total += s_sum[k]
        shift = int64(0)
        while ((high - low) >> shift) >= BUCKETS // 2:
            shift += 1
        while (high >> shift) - (low >> shift) >= BUCKETS:
            shift += 1
        params[0] = count
        params[1] = nonpos
        params[2] = shift
        params[3] = low >> shift
        mean_out[r] = total / count if count > 0 else math.nan
    cuda.syncthreads()
    valid = params[0]
    nonpos = params[1]
    shift = params[2]
    base = params[3]
    if valid == 0:
        for k in range(tid, m, threads):
            q_out[r, k] = math.nan
        return
    if m == 0:  # only the mean was asked for (the same for every thread of the block)
        return

    # (2) histogram of the positive values
    for j in range(tid, n, threads):
        x = row[j]
        if x > 0.0:
            cuda.atomic.add(hist, (int64(row_bits[j]) >> shift) - base, 1)
    cuda.syncthreads()

    # (3) the wanted ranks, their buckets, and a gathered segment per wanted bucket
    if tid == 0:
        for k in range(MAX_RANKS):
            rank_bucket[k] = _NONE
        for k in range(m):
            h = quantiles[k] * (valid - 1)
            lo = int64(math.floor(h))
            rank[2 * k] = lo
            rank[2 * k + 1] = min(lo + 1, valid - 1)
        # insertion sort of 2m ranks (at most 64)
        for a in range(1, 2 * m):
            v = rank[a]
            c = a - 1
            while c >= 0 and rank[c] > v:
                rank[c + 1] = rank[c]
                c -= 1
            rank[c + 1] = v
        k = 0
        while k < 2 * m and rank[k] < nonpos:
            rank_bucket[k] = -1
            rank_before[k] = 0
            k += 1
        cumulative = nonpos
        bucket = 0
        while k < 2 * m and bucket < BUCKETS:
            c = hist[bucket]
            while k < 2 * m and rank[k] < cumulative + c:
                rank_bucket[k] = bucket
                rank_before[k] = cumulative
                k += 1
            cumulative += c
            bucket += 1
        offset = 0
        for k in range(2 * m):
            slot = rank_bucket[k] + 1
            if seg_start[slot] < 0:
                seg_start[slot] = offset
                offset += nonpos if slot == 0 else hist[slot - 1]
    cuda.syncthreads()

    # (4) gather the wanted buckets' values
    for j in range(tid, n, threads):
        x = row[j]
        if x == x:
            slot = 0 if x <= 0.0 else (int64(row_bits[j]) >> shift) - base + 1
            start = seg_start[slot]
            if start >= 0:
                scratch[r, start + cuda.atomic.add(seg_fill, slot, 1)] = x
    cuda.syncthreads()

    # (5) each gathered value's position within its bucket; keep the wanted ones
    for k in range(2 * m):
        slot = rank_bucket[k] + 1
        start = seg_start[slot]
        size = seg_fill[slot]
        target = rank[k] - rank_before[k]
        for e in range(tid, size, threads):
            x = scratch[r, start + e]
            position = 0
            for o in range(size):
                y = scratch[r, start + o]
                if y < x or (y == x and o < e):
                    position += 1
            if position == target:
                rank_value[k] = x
        cuda.syncthreads()

    # interpolate like NumPy's "linear" method
    if tid == 0:
        for k in range(m):
            h = quantiles[k] * (valid - 1)
            lo = int64(math.floor(h))
            hi = min(lo + 1, valid - 1)
            a = math.nan
            b = math.nan
            for s in range(2 * m):
                if rank[s] == lo:
                    a = rank_value[s]
                if rank[s] == hi:
                    b = rank_value[s]
            t = h - math.floor(h)
            q_out[r, k] = b - (b - a) * (1.0 - t) if t >= 0.5 else a + (b - a) * t


def summarise_rows_on_device(rows, quantiles: np.ndarray, threads: int | None = None):
    """Quantiles (rows, m) and means (rows,) of a device (or host) array of rows."""
    if threads is None:
        # the simulator runs each thread as a Python thread: keep blocks small there
        threads = 16 if config.ENABLE_CUDASIM else MAX_THREADS
    if len(quantiles) * 2 > MAX_RANKS:
        raise ValueError(f"at most {MAX_RANKS // 2} quantiles on the GPU")
    rows = rows if hasattr(rows, "copy_to_host") else cuda.to_device(rows)
    width = 4 if rows.dtype == np.float32 else 8
    bits = rows.view(np.int32 if width == 4 else np.int64)
    count = rows.shape[0]
    q_out = cuda.device_array((count, len(quantiles)))
    mean_out = cuda.device_array(count)
    scratch = cuda.device_array(rows.shape, dtype=rows.dtype)
    _row_quantiles[count, min(threads, MAX_THREADS)](
        rows,
        bits,
        cuda.to_device(np.asarray(quantiles, dtype=np.float64)),
        q_out,
        mean_out,
        scratch,
    )
    return q_out.copy_to_host(), mean_out.copy_to_host()
