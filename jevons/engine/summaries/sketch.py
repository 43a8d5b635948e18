"""Mergeable quantile sketches with a relative-error bound, one per row (DDSketch).

Exact percentiles need every trajectory's value at once; a sketch needs only a
histogram whose size depends on the values' range, not on their number, and two
sketches of disjoint data add up to the sketch of the union. That is what lets
chunks, GPUs, Dask workers and ``--shard`` runs be combined afterwards.

The histogram is DDSketch's (Masson, Rim and Lee, "DDSketch: a fast and fully
mergeable quantile sketch with relative-error guarantees", VLDB 2019), with the
paper's fast, logarithm-free index mapping (its reference implementations call
it bitwise linearly interpolated): a value :math:`x > 0` goes to the bucket whose
key is its float64 bit pattern shifted right by :math:`52 - m`, the exponent and
the top :math:`m` bits of the significand. Bucket :math:`k` holds
:math:`[a_k, b_k)`, where :math:`a_k` and :math:`b_k` are the floats whose bit
patterns are :math:`k \\cdot 2^{52 - m}` and :math:`(k + 1) \\cdot 2^{52 - m}`;
in each octave :math:`[2^e, 2^{e+1})` there are :math:`2^m` buckets of equal
width :math:`2^{e - m}`, so :math:`(b_k - a_k) / a_k = w \\le 2^{-m}`. Bucket
:math:`k` stands for the harmonic mean :math:`r_k = 2 a_k b_k / (a_k + b_k)`:
:math:`(r_k - a_k) / a_k = (b_k - r_k) / b_k = w / (2 + w)`, so for every
:math:`x` in the bucket :math:`|x - r_k| / x \\le 2^{-m} / (2 + 2^{-m}) =
1 / (2^{m+1} + 1)`. For a requested accuracy :math:`a` the sketch takes the
smallest :math:`m` with :math:`1 / (2^{m+1} + 1) \\le a`: at 0.5%, :math:`m = 7`
and the bound achieved is :math:`1/257 \\approx 0.389\\%`
(:attr:`SketchSpec.guaranteed_accuracy`). The key is an integer shift of the
value's bits, so the NumPy and the compiled paths (and any float32 input,
widened exactly) give the same key for the same value, with no rounding at
bucket edges.

Why every reported quantile is within :math:`1 / (2^{m+1} + 1)` of NumPy's
(``linear`` method): the key is non-decreasing in :math:`x`, so the
:math:`i`-th smallest value of the sketch is the representative of the bucket of
the :math:`i`-th smallest value :math:`x_{(i)}`, within that fraction of
:math:`x_{(i)}`; clamping it to the row's exact minimum and maximum only moves
it closer, and the smallest and largest order statistics are those exact
extremes. NumPy returns :math:`(1 - t) x_{(i)} + t x_{(i+1)}` with
:math:`i = \\lfloor h \\rfloor`, :math:`h = q (n - 1)`, :math:`t = h - i`; the
sketch interpolates its two order statistics with the same :math:`i` and
:math:`t`, so its error is at most the bound times
:math:`(1 - t) x_{(i)} + t x_{(i+1)}`, NumPy's quantile, because the values are
non-negative. The tail mean (CVaR) sums the representatives of exactly the
values in the tail (whole buckets, plus the needed part of the boundary bucket;
the largest value exactly), so it too is within the bound. Floating point adds
only its own rounding: the representative is computed from exact integers with
one rounding (half a unit in the last place), the interpolation rounds once or
twice, and a tail mean's sum rounds once per bucket summed.

Values are non-negative (token counts, costs, rates, utilisation); a negative or
infinite value raises ``ValueError``, because linear interpolation between
values of opposite signs has no relative bound to keep. NaN marks an undefined
ratio and is skipped. Values below the smallest normal float64 (zero and
subnormals) are counted apart and reported as 0: a subnormal has no implicit
leading bit, so its buckets are not narrow relative to it, and nothing modelled
is that small.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from jevons.engine.summaries.tails import tail_counts

# The smallest normal float64; smaller values are counted as zeros (see above).
ZERO_THRESHOLD = float(np.finfo(np.float64).tiny)
# Rows are summarised this many count cells at a time, so that the temporary
# arrays of quantiles() and tail_means() stay small beside the counts themselves.
CELLS_PER_BATCH = 1 << 22
_NO_KEY_LOW = np.iinfo(np.int64).max
_NO_KEY_HIGH = np.iinfo(np.int64).min
# float64 layout: 52 stored significand bits below an exponent biased by 1023.
_SIGNIFICAND_BITS = 52
_EXPONENT_BIAS = 1023


@dataclass(frozen=True)
class SketchSpec:
    """Bucket geometry of a sketch.

    Parameters
    ----------
    relative_accuracy : float
        Requested bound on ``|reported - exact| / exact`` for quantiles and tail
        means [1]; the bound achieved, :attr:`guaranteed_accuracy`, is at most this.

    References
    ----------
    .. [1] C. Masson, J. E. Rim and H. K. Lee, "DDSketch: a fast and fully
       mergeable quantile sketch with relative-error guarantees", Proc. VLDB
       Endowment 12(12), 2019, pp. 2195-2205.
    """

    relative_accuracy: float = 0.005

    def __post_init__(self) -> None:
        if not 0.0 < self.relative_accuracy < 1.0:
            raise ValueError(f"relative_accuracy must be in (0, 1), not {self.relative_accuracy}")
        if self.relative_accuracy < _accuracy_of(_SIGNIFICAND_BITS):
            raise ValueError(
                f"relative_accuracy {self.relative_accuracy} is finer than float64 can keep "
                f"(at least {_accuracy_of(_SIGNIFICAND_BITS):.3g})"
            )

    @property
    def mantissa_bits(self) -> int:
        """Significand bits in a key, ``m``: the fewest whose bound meets the request."""
        m = 0
        while _accuracy_of(m) > self.relative_accuracy:
            m += 1
        return m

    @property
    def guaranteed_accuracy(self) -> float:
        """The bound achieved, ``1 / (2**(m + 1) + 1)`` (1/257 for the default 0.005)."""
        return _accuracy_of(self.mantissa_bits)

    @property
    def shift(self) -> int:
        """A value's key is its float64 bit pattern shifted right by this many bits."""
        return _SIGNIFICAND_BITS - self.mantissa_bits

    def keys(self, values: np.ndarray) -> np.ndarray:
        """Bucket keys ``bits(x) >> (52 - m)`` of values >= ``ZERO_THRESHOLD``.

        Taken on float64 whatever the input's type (float32 widens exactly), as
        :mod:`jevons.kernels.sketch_update` does.
        """
        bits = np.asarray(values, dtype=np.float64).view(np.int64)
        return bits >> self.shift

    def representatives(self, keys: np.ndarray) -> np.ndarray:
        """Value reported for bucket ``k``: the harmonic mean of its edges.

        With ``k``'s edges written ``2**E * M`` and ``2**E * (M + 1)`` (``M`` the
        integer ``2**m`` plus the key's low ``m`` bits), the harmonic mean is
        ``2**E * (M + M / (2 M + 1))``: one rounding, then an exact scaling. It
        lies inside the bucket, so it is finite for every key of a finite value;
        keys past the float range only occur in unused span cells, and those
        become inf.
        """
        k = np.asarray(keys, dtype=np.int64)
        m = self.mantissa_bits
        significand = ((k & ((1 << m) - 1)) + (1 << m)).astype(np.float64)  # exact below 2**53
        exponent = (k >> m) - (_EXPONENT_BIAS + m)
        with np.errstate(over="ignore"):
            return np.ldexp(significand + significand / (2.0 * significand + 1.0), exponent)


def _accuracy_of(mantissa_bits: int) -> float:
    return 1.0 / (2.0 ** (mantissa_bits + 1) + 1.0)


@dataclass
class _Batch:
    """Per-row statistics of a batch of new values, before they join the sketch."""

    key_low: np.ndarray  # > key_high where a row has no value to bucket
    key_high: np.ndarray
    value_count: np.ndarray
    zero_count: np.ndarray
    value_sum: np.ndarray
    value_min: np.ndarray
    value_max: np.ndarray


_STATISTICS = ("value_count", "zero_count", "value_sum", "value_min", "value_max")


class RowSketches:
    """Independent sketches of ``rows`` rows, one row per (variable, step, lead index).

    Row ``r`` counts the values of bucket key ``key_offset[r] + j`` in
    ``bucket_counts[r, j]``. All rows share one span width, the widest key
    range any row holds, so the counts are one dense array; each row's span
    starts where its own values do. Beside the buckets each row keeps its exact
    number of (non-NaN) values, zero count, sum, minimum and maximum, so that
    means are exact and the extreme quantiles are the true extremes.

    Memory is ``rows x width x 8`` bytes for the counts (plus 48 bytes a row),
    with ``width`` about ``2**m log2(max / min)`` for the widest row; it does not
    depend on how many values were added. At the default accuracy that is 128
    buckets an octave, where DDSketch's logarithmic mapping needs
    ``1 / log2(gamma)`` = 69: about 1.85 times the buckets, for a bound of 0.39%
    instead of 0.5%, and no logarithm per value. A million log-normal values take
    about 7 kB a row with sigma 0.5 and 28 kB with sigma 2.
    """

    def __init__(self, rows: int, spec: SketchSpec | None = None) -> None:
        self.spec = spec or SketchSpec()
        self.bucket_counts = np.zeros((rows, 0), dtype=np.int64)
        self.key_offset = np.zeros(rows, dtype=np.int64)
        self.value_count = np.zeros(rows, dtype=np.int64)
        self.zero_count = np.zeros(rows, dtype=np.int64)
        self.value_sum = np.zeros(rows, dtype=np.float64)
        self.value_min = np.full(rows, np.inf)
        self.value_max = np.full(rows, -np.inf)

    @property
    def rows(self) -> int:
        return self.bucket_counts.shape[0]

    @property
    def width(self) -> int:
        return self.bucket_counts.shape[1]

    @property
    def nbytes(self) -> int:
        return sum(array.nbytes for array in self.to_arrays().values())

    # -- adding and merging -------------------------------------------------

    def add(self, values: np.ndarray, *, rows: slice | None = None, compiled: bool = False) -> None:
        """Add ``values`` shaped (rows, n), float32 or float64; NaNs are skipped.

        ``rows`` (a step-1 slice) names the rows the values belong to, when they
        are not all of them: a window of time steps fills a run of rows.
        ``compiled`` uses the multi-core kernel of :mod:`jevons.kernels.sketch_update`
        (numba); the default NumPy path is the reference it is tested against.
        """
        start, stop, step = (rows or slice(None)).indices(self.rows)
        if step != 1:
            raise ValueError("rows must be a contiguous slice")
        values = np.asarray(values)
        if values.ndim != 2 or values.shape[0] != stop - start:
            raise ValueError(f"values must be shaped ({stop - start}, n), not {values.shape}")
        if values.dtype not in (np.float32, np.float64):
            values = values.astype(np.float64)
        if compiled:
            values = np.ascontiguousarray(values)
            batch = self._scan_compiled(values)
        else:
            batch, keys, bucketed = self._scan_numpy(values)
        self._cover(_padded(batch.key_low, start, self.rows, _NO_KEY_LOW),
                    _padded(batch.key_high, start, self.rows, _NO_KEY_HIGH))  # fmt: skip
        counts = self.bucket_counts[start:stop]
        offset = self.key_offset[start:stop]
        if compiled:
            from jevons.kernels.sketch_update import count_keys

            count_keys(values, self.spec.shift, batch.key_low, batch.key_high, offset, counts)
        else:
            n_rows, width = counts.shape
            cells = np.arange(n_rows)[:, None] * width + (keys - offset[:, None])
            added = np.bincount(cells[bucketed], minlength=n_rows * width)
            counts += added.reshape(n_rows, width)
        self._add_statistics(batch, slice(start, stop))

    def add_counts(
        self,
        rows: slice,
        key_low: np.ndarray,
        counts: np.ndarray,
        statistics: dict[str, np.ndarray],
    ) -> None:
        """Add buckets counted elsewhere (on a GPU): ``counts[r, j]`` values of key
        ``key_low[r] + j`` in row ``rows.start + r``, and those rows' ``value_count``,
        ``zero_count``, ``value_sum``, ``value_min`` and ``value_max``."""
        start, stop, _ = rows.indices(self.rows)
        occupied = counts != 0
        has_any = occupied.any(axis=1) if counts.shape[1] else np.zeros(len(key_low), bool)
        width = counts.shape[1]
        first = key_low + occupied.argmax(axis=1) if width else key_low
        last = key_low + width - 1 - occupied[:, ::-1].argmax(axis=1) if width else key_low
        batch = _Batch(
            key_low=np.where(has_any, first, _NO_KEY_LOW),
            key_high=np.where(has_any, last, _NO_KEY_HIGH),
            **{name: np.asarray(statistics[name]) for name in _STATISTICS},
        )
        self._cover(_padded(batch.key_low, start, self.rows, _NO_KEY_LOW),
                    _padded(batch.key_high, start, self.rows, _NO_KEY_HIGH))  # fmt: skip
        row, column = np.nonzero(counts)
        target = column + (key_low - self.key_offset[start:stop])[row]
        self.bucket_counts[start + row, target] += counts[row, column]
        self._add_statistics(batch, slice(start, stop))

    def _scan_numpy(self, values: np.ndarray) -> tuple[_Batch, np.ndarray, np.ndarray]:
        x = values.astype(np.float64, copy=False)
        if (x < 0.0).any() or np.isinf(x).any():
            raise ValueError("sketched values must be non-negative and finite (NaN is skipped)")
        valid = ~np.isnan(x)
        bucketed = x >= ZERO_THRESHOLD  # False for NaN
        keys = self.spec.keys(np.where(bucketed, x, 1.0))
        value_count = valid.sum(axis=1)
        batch = _Batch(
            key_low=np.where(bucketed, keys, _NO_KEY_LOW).min(axis=1, initial=_NO_KEY_LOW),
            key_high=np.where(bucketed, keys, _NO_KEY_HIGH).max(axis=1, initial=_NO_KEY_HIGH),
            value_count=value_count,
            zero_count=value_count - bucketed.sum(axis=1),
            value_sum=np.sum(x, axis=1, where=valid),
            value_min=np.min(x, axis=1, where=valid, initial=np.inf),
            value_max=np.max(x, axis=1, where=valid, initial=-np.inf),
        )
        return batch, keys, bucketed

    def _scan_compiled(self, values: np.ndarray) -> _Batch:
        from jevons.kernels.sketch_update import scan_rows

        rows = values.shape[0]
        batch = _Batch(
            key_low=np.empty(rows, dtype=np.int64),
            key_high=np.empty(rows, dtype=np.int64),
            value_count=np.empty(rows, dtype=np.int64),
            zero_count=np.empty(rows, dtype=np.int64),
            value_sum=np.empty(rows),
            value_min=np.empty(rows),
            value_max=np.empty(rows),
        )
        rejected = np.empty(rows, dtype=np.int64)
        scan_rows(
            values, self.spec.shift, batch.key_low, batch.key_high, batch.value_count,
            batch.zero_count, batch.value_sum, batch.value_min.view(np.int64),
            batch.value_max.view(np.int64), rejected,
        )  # fmt: skip
        if rejected.any():
            raise ValueError("sketched values must be non-negative and finite (NaN is skipped)")
        return batch

    def _add_statistics(self, other: _Batch | RowSketches, rows: slice = slice(None)) -> None:
        self.value_count[rows] += other.value_count
        self.zero_count[rows] += other.zero_count
        self.value_sum[rows] += other.value_sum
        np.minimum(self.value_min[rows], other.value_min, out=self.value_min[rows])
        np.maximum(self.value_max[rows], other.value_max, out=self.value_max[rows])

    def merge(self, other: RowSketches) -> None:
        """Add ``other``'s counts into this sketch: the sketch of both data sets."""
        if other.spec != self.spec:
            raise ValueError(f"cannot merge sketches of {other.spec} into {self.spec}")
        if other.rows != self.rows:
            raise ValueError(f"cannot merge {other.rows} rows into {self.rows}")
        low, high = other._occupied_keys()
        self._cover(low, high)
        row, column = np.nonzero(other.bucket_counts)
        shift = other.key_offset - self.key_offset
        # (row, column) pairs are distinct, so a fancy-indexed += adds each cell once.
        self.bucket_counts[row, column + shift[row]] += other.bucket_counts[row, column]
        self._add_statistics(other)

    def _occupied_keys(self, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Lowest and highest key with a count, per row (of ``rows``); low > high if none."""
        counts = self.bucket_counts if rows is None else self.bucket_counts[rows]
        offset = self.key_offset if rows is None else self.key_offset[rows]
        if self.width == 0:
            return np.full(len(offset), _NO_KEY_LOW), np.full(len(offset), _NO_KEY_HIGH)
        occupied = counts != 0
        has_any = occupied.any(axis=1)
        first = offset + occupied.argmax(axis=1)
        last = offset + self.width - 1 - occupied[:, ::-1].argmax(axis=1)
        return np.where(has_any, first, _NO_KEY_LOW), np.where(has_any, last, _NO_KEY_HIGH)

    def _cover(self, key_low: np.ndarray, key_high: np.ndarray) -> None:
        """Widen or move row spans so that row r can count keys key_low[r] .. key_high[r].

        Only the rows whose keys fall outside their span are looked at: a
        window of steps adds to a few rows of a large sketch at a time.
        """
        span_end = self.key_offset + self.width
        outside = np.flatnonzero(
            (key_low <= key_high) & ((key_low < self.key_offset) | (key_high >= span_end))
        )
        if outside.size == 0:
            return
        held_low, held_high = self._occupied_keys(outside)
        low = np.minimum(held_low, key_low[outside])
        high = np.maximum(held_high, key_high[outside])
        width = max(self.width, int((high - low + 1).max()))
        offset = self.key_offset[outside]
        # A row keeps its offset while the (possibly wider) span still holds it.
        moves = (low < offset) | (high >= offset + width)
        new_offset = self.key_offset.copy()
        new_offset[outside[moves]] = low[moves]
        if width == self.width:
            self._move_rows(outside[moves], low[moves])
        else:
            self._relayout(new_offset, width)

    def _move_rows(self, rows: np.ndarray, key_offset: np.ndarray) -> None:
        """Shift the spans of ``rows`` in place (the width stays)."""
        old = self.bucket_counts[rows]
        moved = np.zeros_like(old)
        shift = self.key_offset[rows] - key_offset
        row, column = np.nonzero(old)
        moved[row, column + shift[row]] = old[row, column]
        self.bucket_counts[rows] = moved
        self.key_offset[rows] = key_offset

    def _relayout(self, key_offset: np.ndarray, width: int) -> None:
        counts = np.zeros((self.rows, width), dtype=np.int64)
        shift = self.key_offset - key_offset
        kept = shift == 0
        counts[kept, : self.width] = self.bucket_counts[kept]
        moved = np.flatnonzero(~kept)
        old = self.bucket_counts[moved]
        row, column = np.nonzero(old)
        counts[moved[row], column + shift[moved[row]]] = old[row, column]
        self.bucket_counts = counts
        self.key_offset = key_offset

    # -- summaries --------------------------------------------------------

    def means(self) -> np.ndarray:
        """Exact mean of each row's values (NaN for a row without any)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.value_count > 0, self.value_sum / self.value_count, np.nan)

    def quantiles(self, quantiles: np.ndarray) -> np.ndarray:
        """Quantiles (rows, m) as ``np.nanquantile(values, quantiles, axis=1).T``, within ``a``."""
        qs = _checked_quantiles(quantiles)
        out = np.empty((self.rows, len(qs)))
        for batch in self._row_batches():
            out[batch] = self._batch_quantiles(batch, qs)
        return out

    def tail_means(self, quantiles: np.ndarray) -> np.ndarray:
        """CVaR (rows, m): mean of the values at or above each quantile, within ``a``.

        Same convention as :func:`jevons.engine.summaries.exact.tail_mean`: the worst
        ``ceil((1 - q) n)`` values (at least one), ``q`` taken as the decimal it is
        written as (:func:`jevons.engine.summaries.tails.tail_counts`).
        """
        qs = _checked_quantiles(quantiles)
        out = np.empty((self.rows, len(qs)))
        for batch in self._row_batches():
            out[batch] = self._batch_tail_means(batch, qs)
        return out

    def _row_batches(self) -> Iterator[slice]:
        step = max(1, CELLS_PER_BATCH // max(self.width, 1))
        for start in range(0, self.rows, step):
            yield slice(start, min(start + step, self.rows))

    def _batch_counts(self, batch: slice) -> np.ndarray:
        # A sketch that only ever saw zeros has no bucket at all; one empty
        # bucket keeps the indexing below uniform.
        if self.width:
            return self.bucket_counts[batch]
        return np.zeros((batch.stop - batch.start, 1), dtype=np.int64)

    def _clamp_bounds(self, batch: slice) -> tuple[np.ndarray, np.ndarray]:
        # Empty rows (inf, -inf) get a harmless range; their results become NaN.
        empty = self.value_count[batch] == 0
        return (
            np.where(empty, 0.0, self.value_min[batch])[:, None],
            np.where(empty, 0.0, self.value_max[batch])[:, None],
        )

    def order_statistic_bounds(self, ranks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bounds ``(lower, upper)`` (rows, k) that hold the true ``ranks``-th smallest
        value of each row for certain: ``ranks`` (rows, k) are 1-based, in ``1 .. n``.

        The sketch's value :math:`r` of an order statistic :math:`x` obeys
        :math:`|r - x| \\le a x` (``a`` the guaranteed accuracy), so
        :math:`r / (1 + a) \\le x \\le r / (1 - a)`, inside the row's exact range;
        the smallest and largest values are known exactly. Rows without values give NaN.
        """
        ranks = np.asarray(ranks, dtype=np.int64)
        lower = np.empty(ranks.shape)
        upper = np.empty(ranks.shape)
        a = self.spec.guaranteed_accuracy
        for batch in self._row_batches():
            n = self.value_count[batch][:, None]
            zero_based = np.clip(ranks[batch] - 1, 0, np.maximum(n - 1, 0))
            value = self._batch_order_statistics(batch, zero_based)
            exact = (zero_based == 0) | (zero_based == n - 1)
            low, high = self._clamp_bounds(batch)
            lower[batch] = np.where(exact, value, np.maximum(value / (1.0 + a), low))
            upper[batch] = np.where(exact, value, np.minimum(value / (1.0 - a), high))
            lower[batch] = np.where(n > 0, lower[batch], np.nan)
            upper[batch] = np.where(n > 0, upper[batch], np.nan)
        return lower, upper

    def _batch_order_statistics(self, batch: slice, ranks: np.ndarray) -> np.ndarray:
        """The sketch's value of each row's ``ranks``-th smallest value (0-based)."""
        n = self.value_count[batch][:, None]
        counts = self._batch_counts(batch)
        bucketed_rank = ranks - self.zero_count[batch][:, None]
        columns = _bucket_columns(np.cumsum(counts, axis=1), bucketed_rank)
        keys = self.key_offset[batch][:, None] + columns
        statistics = np.where(bucketed_rank >= 0, self.spec.representatives(keys), 0.0)
        low, high = self._clamp_bounds(batch)
        statistics = np.clip(statistics, low, high)
        # The extremes are known exactly, so q = 0 and q = 1 are exact.
        return np.where(ranks == 0, low, np.where(ranks == n - 1, high, statistics))

    def order_statistics(self, ranks: np.ndarray) -> np.ndarray:
        """The sketch's value (rows, k) of each row's ``ranks``-th smallest value
        (0-based, clipped to the row's values), within ``a`` of the true one."""
        ranks = np.asarray(ranks, dtype=np.int64)
        out = np.empty(ranks.shape)
        for batch in self._row_batches():
            n = self.value_count[batch][:, None]
            out[batch] = self._batch_order_statistics(
                batch, np.clip(ranks[batch], 0, np.maximum(n - 1, 0))
            )
        return out

    def _batch_quantiles(self, batch: slice, qs: np.ndarray) -> np.ndarray:
        n = self.value_count[batch][:, None]
        lower_rank, upper_rank, weight = linear_ranks(n, qs)
        ranks = np.concatenate([lower_rank, upper_rank], axis=1)
        lower, upper = np.split(self._batch_order_statistics(batch, ranks), 2, axis=1)
        return np.where(n > 0, linear_interpolation(lower, upper, weight), np.nan)

    def _batch_tail_means(self, batch: slice, qs: np.ndarray) -> np.ndarray:
        n = self.value_count[batch][:, None]
        tail_count = tail_counts(qs, self.value_count[batch])
        first = n - tail_count  # first order statistic in the tail
        bucketed_first = first - self.zero_count[batch][:, None]
        counts = self._batch_counts(batch)
        cumulative = np.cumsum(counts, axis=1)
        columns = _bucket_columns(cumulative, bucketed_first)
        keys = self.key_offset[batch][:, None] + np.arange(counts.shape[1])
        representatives = np.clip(self.spec.representatives(keys), *self._clamp_bounds(batch))
        # Summed from the top down, so a small tail is not the difference of two large sums.
        at_or_above = np.cumsum((counts * representatives)[:, ::-1], axis=1)[:, ::-1]
        above = np.pad(at_or_above, ((0, 0), (0, 1)))[:, 1:]
        in_boundary_bucket = np.take_along_axis(cumulative, columns, axis=1) - bucketed_first
        # The largest value is known exactly: it replaces its bucket's representative.
        top = _bucket_columns(cumulative, cumulative[:, -1:] - 1)
        exact_top = self.value_max[batch][:, None] - np.take_along_axis(representatives, top, 1)
        tail_sum = np.where(
            bucketed_first > 0,
            in_boundary_bucket * np.take_along_axis(representatives, columns, axis=1)
            + np.take_along_axis(above, columns, axis=1)
            + exact_top,
            # The tail holds every bucketed value: the exact sum is known.
            self.value_sum[batch][:, None],
        )
        return np.where(n > 0, tail_sum / np.maximum(tail_count, 1), np.nan)

    # -- storage ----------------------------------------------------------

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays (for a NetCDF or Zarr file) that :meth:`from_arrays` reads back."""
        return {
            "relative_accuracy": np.array(self.spec.relative_accuracy),
            "bucket_counts": self.bucket_counts,
            "key_offset": self.key_offset,
            "value_count": self.value_count,
            "zero_count": self.zero_count,
            "value_sum": self.value_sum,
            "value_min": self.value_min,
            "value_max": self.value_max,
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> RowSketches:
        counts = np.array(arrays["bucket_counts"], dtype=np.int64, order="C", ndmin=2)
        rows = counts.shape[0]
        sketch = cls(rows, SketchSpec(float(np.asarray(arrays["relative_accuracy"]))))
        sketch.bucket_counts = counts
        for name, dtype in [
            ("key_offset", np.int64),
            ("value_count", np.int64),
            ("zero_count", np.int64),
            ("value_sum", np.float64),
            ("value_min", np.float64),
            ("value_max", np.float64),
        ]:
            array = np.array(arrays[name], dtype=dtype)
            if array.shape != (rows,):
                raise ValueError(f"{name} must be shaped ({rows},), not {array.shape}")
            setattr(sketch, name, array)
        return sketch


def linear_ranks(n: np.ndarray, qs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NumPy's "linear" quantile method: virtual index ``h = (n - 1) q``, between the
    0-based order statistics ``floor(h)`` and ``floor(h) + 1`` with weight ``h - floor(h)``.
    Returns (lower rank, upper rank, weight), each (rows, len(qs)) for ``n`` (rows, 1)."""
    virtual = (n - 1) * qs
    below = np.floor(virtual)
    weight = virtual - below
    lower_rank = np.maximum(below.astype(np.int64), 0)
    upper_rank = np.maximum(np.minimum(lower_rank + 1, n - 1), 0)
    return lower_rank, upper_rank, weight


def linear_interpolation(lower: np.ndarray, upper: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """NumPy's own lerp, so that equal neighbours and t = 0 or 1 give exactly a neighbour."""
    difference = upper - lower
    return np.where(weight >= 0.5, upper - difference * (1.0 - weight), lower + difference * weight)


def _checked_quantiles(quantiles: np.ndarray) -> np.ndarray:
    qs = np.atleast_1d(np.asarray(quantiles, dtype=np.float64))
    if qs.ndim != 1 or not ((qs >= 0.0) & (qs <= 1.0)).all():
        raise ValueError(f"quantiles must be a 1-D array in [0, 1], not {quantiles!r}")
    return qs


def _bucket_columns(cumulative: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """Column of the bucket holding each 0-based rank, per row.

    ``cumulative`` (rows, width) are each row's cumulative bucket counts;
    ranks outside ``0 .. cumulative[r, -1] - 1`` give some valid column.
    """
    rows, width = cumulative.shape
    # Shifted by a stride per row, all rows' cumulative counts form one sorted
    # array, so one binary search serves every row.
    stride = int(cumulative[:, -1].max()) + 1
    base = np.arange(rows)[:, None] * stride
    found = np.searchsorted(
        (cumulative + base).ravel(), np.clip(ranks, 0, stride - 1) + base, "right"
    )
    return np.clip(found - np.arange(rows)[:, None] * width, 0, width - 1)


def _padded(per_row: np.ndarray, start: int, rows: int, fill: int) -> np.ndarray:
    """``per_row`` placed at ``start`` in an array of ``rows``, the rest ``fill``."""
    full = np.full(rows, fill, dtype=np.int64)
    full[start : start + len(per_row)] = per_row
    return full
