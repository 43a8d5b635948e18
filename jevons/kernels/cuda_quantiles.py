"""Exact quantiles of many rows on the GPU: one thread block per row.

The order statistics are found by counting, never by sorting or comparing
values pairwise, so a row costs a few passes over its values whatever they
hold (ties, zeros, one value repeated 100,000 times):

1. one pass counts the row's values, zeros and NaNs, sums them, and finds the
   range of the negative and of the positive values' order keys (the bit
   pattern, with a negative value's magnitude bits flipped so that keys sort
   like the values);
2. one pass counts the values in ``BUCKETS`` buckets of consecutive keys in
   shared memory: the lower half for negatives, the upper half for positives,
   each as narrow as its values' spread allows; zeros are one group between;
3. one thread walks the buckets to find which one holds each wanted order
   statistic (a rank among the zeros is 0.0, with no more work);
4. one pass gathers the values of the wanted buckets to scratch memory;
5. each wanted value is found among its bucket's values: in a bucket of at most
   ``SMALL_BUCKET`` values (the usual case) one thread counts, for each value,
   those below and equal to it; a larger bucket is narrowed by the block with
   further histograms of the keys, each pass over fewer keys, until one key is
   left. Equal values end either search at once: they are counted, never sorted.

The result equals ``np.nanquantile`` (linear interpolation) to float rounding.
Shared memory is static and within the 48 KB every CUDA GPU grants a block
without an opt-in (``docs/gpu.md`` lists it per architecture).

Importing this module imports ``numba.cuda``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import config, cuda, float64, int32, int64

import jevons.kernels.compile_cache  # noqa: F401  (before any @njit with cache=True)

BUCKETS = 4096  # int32 counts in shared memory: 16 KB
HALF = 2048  # BUCKETS // 2 (a shared array's shape must be a literal): negatives below
THREADS = 256  # threads per block on a GPU
SIMULATOR_THREADS = 16  # the simulator runs each thread as a Python thread
MAX_LEVELS = 32  # levels per launch, two order statistics each; more take more launches
MAX_RANKS = 64  # 2 * MAX_LEVELS
SMALL_BUCKET = 16  # values of a wanted bucket one thread selects from by counting
_KEY_MAX = 0x7FFFFFFFFFFFFFFF
_KEY_MIN = -0x8000000000000000
_ZERO_GROUP = -1  # the bucket "id" of a rank that falls among the zeros
# params slots (shared int64)
_COUNT, _ZEROS, _NEG_LOW, _NEG_HIGH, _POS_LOW, _POS_HIGH = 0, 1, 2, 3, 4, 5
_NEG_SHIFT, _NEG_BASE, _POS_SHIFT, _POS_BASE = 6, 7, 8, 9
_WIN_LOW, _WIN_HIGH, _BELOW, _DONE, _NEG_SPAN, _POS_SPAN = 10, 11, 12, 13, 14, 15


@cuda.jit(device=True, inline=True)
def _order_key(b):
    """The bit pattern ``b`` (sign-extended to int64) as a key that sorts like the value."""
    b = int64(b)
    return b if b >= 0 else b ^ _KEY_MAX


@cuda.jit(device=True, inline=True)
def _narrowest_shift(low, high):
    """The smallest shift that puts keys ``low .. high`` (one sign) into fewer than HALF buckets."""
    shift = int64(0)
    while (high >> shift) - (low >> shift) >= HALF:
        shift += 1
    return shift


@cuda.jit(device=True, inline=True)
def _bucket(key, params):
    """The first histogram's bucket of a non-zero value's key: negatives below HALF."""
    if key < 0:
        return (key >> params[_NEG_SHIFT]) - params[_NEG_BASE]
    return HALF + (key >> params[_POS_SHIFT]) - params[_POS_BASE]


@cuda.jit
def _row_quantiles(rows, bits, levels, q_out, mean_out, scratch, scratch_bits):
    r = cuda.blockIdx.x
    tid = cuda.threadIdx.x
    threads = cuda.blockDim.x
    row = rows[r]
    row_bits = bits[r]
    n = row.shape[0]
    m = levels.shape[0]

    hist = cuda.shared.array(BUCKETS, int32)
    partial_sums = cuda.shared.array(THREADS, np.float64)
    params = cuda.shared.array(16, int64)
    # per sorted rank: the rank, its slot (_ZERO_GROUP: among the zeros), the values
    # in lower buckets, and the value found
    rank = cuda.shared.array(MAX_RANKS, int64)
    rank_slot = cuda.shared.array(MAX_RANKS, int32)
    rank_before = cuda.shared.array(MAX_RANKS, int64)
    rank_value = cuda.shared.array(MAX_RANKS, np.float64)
    # per slot (a wanted bucket): where its values are gathered in scratch, how many so far
    seg_start = cuda.shared.array(MAX_RANKS, int64)
    seg_size = cuda.shared.array(MAX_RANKS, int64)
    seg_fill = cuda.shared.array(MAX_RANKS, int32)

    if tid == 0:
        params[_COUNT] = 0
        params[_ZEROS] = 0
        params[_NEG_LOW] = _KEY_MAX
        params[_NEG_HIGH] = _KEY_MIN
        params[_POS_LOW] = _KEY_MAX
        params[_POS_HIGH] = _KEY_MIN
        params[_NEG_SPAN] = 0
        params[_POS_SPAN] = 0
    cuda.syncthreads()

    # (1) count, sum, zeros, key ranges of the negatives and of the positives
    count = 0
    zeros = 0
    neg_low = int64(_KEY_MAX)
    neg_high = int64(_KEY_MIN)
    pos_low = int64(_KEY_MAX)
    pos_high = int64(_KEY_MIN)
    total = 0.0
    for j in range(tid, n, threads):
        x = row[j]
        if x == x:
            count += 1
            total += float64(x)  # float32 rows are summed in float64 too
            if x == 0.0:
                zeros += 1
            else:
                key = _order_key(row_bits[j])
                if key < 0:
                    neg_low = min(neg_low, key)
                    neg_high = max(neg_high, key)
                else:
                    pos_low = min(pos_low, key)
                    pos_high = max(pos_high, key)
    partial_sums[tid] = total
    cuda.atomic.add(params, _COUNT, count)
    cuda.atomic.add(params, _ZEROS, zeros)
    cuda.atomic.min(params, _NEG_LOW, neg_low)
    cuda.atomic.max(params, _NEG_HIGH, neg_high)
    cuda.atomic.min(params, _POS_LOW, pos_low)
    cuda.atomic.max(params, _POS_HIGH, pos_high)
    cuda.syncthreads()
    if tid == 0:
        total = 0.0
        for k in range(threads):  # in thread order: the same sum on every run
            total += partial_sums[k]
        valid = params[_COUNT]
        mean_out[r] = total / valid if valid > 0 else math.nan
        if params[_NEG_LOW] <= params[_NEG_HIGH]:
            params[_NEG_SHIFT] = _narrowest_shift(params[_NEG_LOW], params[_NEG_HIGH])
            params[_NEG_BASE] = params[_NEG_LOW] >> params[_NEG_SHIFT]
            params[_NEG_SPAN] = (params[_NEG_HIGH] >> params[_NEG_SHIFT]) - params[_NEG_BASE] + 1
        if params[_POS_LOW] <= params[_POS_HIGH]:
            params[_POS_SHIFT] = _narrowest_shift(params[_POS_LOW], params[_POS_HIGH])
            params[_POS_BASE] = params[_POS_LOW] >> params[_POS_SHIFT]
            params[_POS_SPAN] = (params[_POS_HIGH] >> params[_POS_SHIFT]) - params[_POS_BASE] + 1
    cuda.syncthreads()
    valid = params[_COUNT]
    if valid == 0:
        for k in range(tid, m, threads):
            q_out[r, k] = math.nan
        return
    if m == 0:  # only the mean was asked for (the same for every thread of the block)
        return

    # (2) histogram of the non-zero values, in the buckets their spans use
    negative_buckets = params[_NEG_SPAN]
    positive_buckets = params[_POS_SPAN]
    for b in range(tid, negative_buckets, threads):
        hist[b] = 0
    for b in range(tid, positive_buckets, threads):
        hist[HALF + b] = 0
    cuda.syncthreads()
    for j in range(tid, n, threads):
        x = row[j]
        if x == x and x != 0.0:
            cuda.atomic.add(hist, _bucket(_order_key(row_bits[j]), params), 1)
    cuda.syncthreads()

    # (3) the wanted ranks in order, the bucket of each, a scratch segment per bucket
    if tid == 0:
        for k in range(m):
            low = int64(math.floor(levels[k] * (valid - 1)))
            rank[2 * k] = low
            rank[2 * k + 1] = min(low + 1, valid - 1)
        for a in range(1, 2 * m):  # insertion sort of at most MAX_RANKS ranks
            v = rank[a]
            c = a - 1
            while c >= 0 and rank[c] > v:
                rank[c + 1] = rank[c]
                c -= 1
            rank[c + 1] = v
        zeros = params[_ZEROS]
        k = 0
        cumulative = int64(0)
        slots = 0
        offset = int64(0)
        b = int64(0)
        # positions: the negatives' buckets, then HALF for the zeros, then the positives';
        # the walk skips the unused negative buckets and stops at the last wanted rank
        while k < 2 * m and b <= BUCKETS:
            if negative_buckets <= b < HALF:
                b = HALF
            at_zeros = b == HALF
            size = zeros if at_zeros else int64(hist[b if b < HALF else b - 1])
            slot = -1
            while k < 2 * m and rank[k] < cumulative + size:
                if at_zeros:
                    rank_slot[k] = _ZERO_GROUP
                else:
                    if slot < 0:
                        slot = slots
                        slots += 1
                        seg_start[slot] = offset
                        seg_size[slot] = size
                        seg_fill[slot] = 0
                        offset += size
                        hist[b if b < HALF else b - 1] = -(slot + 2)  # marks a wanted bucket
                    rank_slot[k] = slot
                rank_before[k] = cumulative
                k += 1
            cumulative += size
            b += 1
    cuda.syncthreads()
    # each used bucket's count becomes its slot, or -1 where no wanted rank falls
    for b in range(tid, negative_buckets + positive_buckets, threads):
        bucket = b if b < negative_buckets else HALF + b - negative_buckets
        h = hist[bucket]
        hist[bucket] = -h - 2 if h < 0 else -1
    cuda.syncthreads()

    # (4) gather the wanted buckets' values
    for j in range(tid, n, threads):
        x = row[j]
        if x == x and x != 0.0:
            slot = hist[_bucket(_order_key(row_bits[j]), params)]
            if slot >= 0:
                scratch[r, seg_start[slot] + cuda.atomic.add(seg_fill, slot, 1)] = x
    cuda.syncthreads()

    # (5a) a rank among the zeros is 0.0; in a bucket of a few values, one thread counts
    # for each value those below it and those equal to it (no barrier for the block)
    if tid == 0:
        for k in range(2 * m):
            slot = rank_slot[k]
            if slot == _ZERO_GROUP:
                rank_value[k] = 0.0
                continue
            size = seg_size[slot]
            if size > SMALL_BUCKET:
                continue
            start = seg_start[slot]
            target = rank[k] - rank_before[k]
            for e in range(size):
                x = scratch[r, start + e]
                below = 0
                equal = 0
                for o in range(size):
                    y = scratch[r, start + o]
                    if y < x:
                        below += 1
                    elif y == x:
                        equal += 1
                if below <= target < below + equal:
                    rank_value[k] = x
                    break
    cuda.syncthreads()

    # (5b) in a larger bucket, the block narrows the rank by histograms of keys, a pass each
    for k in range(2 * m):
        slot = rank_slot[k]
        if slot == _ZERO_GROUP or seg_size[slot] <= SMALL_BUCKET:
            continue  # found above (the same for every thread of the block)
        if k > 0 and rank[k] == rank[k - 1]:
            if tid == 0:
                rank_value[k] = rank_value[k - 1]
            continue
        start = seg_start[slot]
        size = seg_size[slot]
        if tid == 0:
            params[_WIN_LOW] = _KEY_MIN
            params[_WIN_HIGH] = _KEY_MAX
            params[_BELOW] = rank_before[k]
            params[_DONE] = 0
        cuda.syncthreads()
        while params[_DONE] == 0:
            window_low = params[_WIN_LOW]
            window_high = params[_WIN_HIGH]
            low = int64(_KEY_MAX)
            high = int64(_KEY_MIN)
            for e in range(tid, size, threads):
                key = _order_key(scratch_bits[r, start + e])
                if key >= window_low and key <= window_high:
                    low = min(low, key)
                    high = max(high, key)
            if tid == 0:
                params[_NEG_LOW] = _KEY_MAX  # reused: the window's lowest and highest key
                params[_NEG_HIGH] = _KEY_MIN
            cuda.syncthreads()
            cuda.atomic.min(params, _NEG_LOW, low)
            cuda.atomic.max(params, _NEG_HIGH, high)
            cuda.syncthreads()
            low = params[_NEG_LOW]
            high = params[_NEG_HIGH]
            if low == high:  # one key left: every value in the window is the answer
                for e in range(tid, size, threads):
                    if _order_key(scratch_bits[r, start + e]) == low:
                        rank_value[k] = scratch[r, start + e]  # equal bits: any writer will do
                if tid == 0:
                    params[_DONE] = 1
            else:
                shift = _narrowest_shift(low, high)
                base = low >> shift
                span = (high >> shift) - base + 1  # at most HALF buckets
                for b in range(tid, span, threads):
                    hist[b] = 0
                cuda.syncthreads()
                for e in range(tid, size, threads):
                    key = _order_key(scratch_bits[r, start + e])
                    if key >= window_low and key <= window_high:
                        cuda.atomic.add(hist, (key >> shift) - base, 1)
                cuda.syncthreads()
                if tid == 0:
                    below = params[_BELOW]
                    b = 0
                    while rank[k] >= below + hist[b]:
                        below += hist[b]
                        b += 1
                    params[_BELOW] = below
                    params[_WIN_LOW] = max(low, (base + b) << shift)
                    params[_WIN_HIGH] = min(high, ((base + b) << shift) + ((int64(1) << shift) - 1))
            # every thread reads the window (and _DONE) only after this, and writes
            # nothing shared before the next iteration's first barrier
            cuda.syncthreads()
        cuda.syncthreads()  # all have left the loop before the next rank resets _DONE

    # interpolate like NumPy's "linear" method
    if tid == 0:
        for k in range(m):
            h = levels[k] * (valid - 1)
            low = int64(math.floor(h))
            high = min(low + 1, valid - 1)
            a = math.nan
            b = math.nan
            for s in range(2 * m):
                if rank[s] == low:
                    a = rank_value[s]
                if rank[s] == high:
                    b = rank_value[s]
            t = h - math.floor(h)
            q_out[r, k] = b - (b - a) * (1.0 - t) if t >= 0.5 else a + (b - a) * t


def summarise_rows_on_device(rows, quantiles: np.ndarray, threads: int | None = None):
    """Quantiles (rows, m) and means (rows,) of a device (or host) array of rows.

    More than ``MAX_LEVELS`` levels are reduced in several launches over the same rows.
    """
    if threads is None:
        threads = SIMULATOR_THREADS if config.ENABLE_CUDASIM else THREADS
    rows = rows if hasattr(rows, "copy_to_host") else cuda.to_device(np.ascontiguousarray(rows))
    integer = np.int32 if rows.dtype == np.float32 else np.int64
    bits = rows.view(integer)
    count = rows.shape[0]
    levels = np.asarray(quantiles, dtype=np.float64)
    q_host = np.empty((count, len(levels)))
    mean_out = cuda.device_array(count)
    scratch = cuda.device_array(rows.shape, dtype=rows.dtype)
    scratch_bits = scratch.view(integer)
    for first in range(0, max(len(levels), 1), MAX_LEVELS):
        chunk = levels[first : first + MAX_LEVELS]
        q_out = cuda.device_array((count, len(chunk)))
        _row_quantiles[count, min(threads, THREADS)](
            rows, bits, cuda.to_device(chunk), q_out, mean_out, scratch, scratch_bits
        )
        q_host[:, first : first + len(chunk)] = q_out.copy_to_host()
    return q_host, mean_out.copy_to_host()
