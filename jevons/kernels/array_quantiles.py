"""Exact quantiles and means of rows, computed in the rows' own array namespace.

The reducer for a model run on arrays of any array API library (the reference
on CuPy arrays, for one): the rows are reduced where they live, on the GPU for
CuPy, and only the (rows x quantiles) results travel to the host. Like every
row reducer, ``reduce(rows (R, n), quantiles (m,)) -> (quantiles (R, m), means
(R,))``, it gives the same numbers as NumPy's ``nanquantile`` and ``nanmean``:
linear interpolation between order statistics, NaNs ignored.

The standard has no quantile function. A namespace's own ``quantile`` and
``nanquantile`` (NumPy's, CuPy's) are used when it has them; otherwise the rows
are sorted and interpolated with the standard's functions alone.
"""

from __future__ import annotations

import warnings

import numpy as np

from jevons.kernels.array_api import Array, device, namespace, to_numpy


def array_reducer(rows: Array, quantiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quantiles (R, m) and means (R,) of ``rows`` (R, n), NaNs ignored, as NumPy arrays.

    With no quantiles (m = 0) only the means are computed."""
    xp = namespace(rows)
    levels = tuple(float(q) for q in quantiles)
    skip_nan = bool(xp.any(xp.isnan(rows)))
    native_quantile = getattr(xp, "nanquantile" if skip_nan else "quantile", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN row is a NaN result
        if not levels:  # the means alone
            q = np.empty((rows.shape[0], 0))
        elif native_quantile is not None:
            q = native_quantile(rows, levels, axis=-1).T
        else:
            q = sorted_quantiles(rows, levels)
        native_nanmean = getattr(xp, "nanmean", None)
        if not skip_nan:
            means = xp.mean(rows, axis=-1)
        elif native_nanmean is not None:
            means = native_nanmean(rows, axis=-1)
        else:
            valid = ~xp.isnan(rows)
            count = xp.sum(xp.astype(valid, rows.dtype), axis=-1)
            means = xp.sum(xp.where(valid, rows, 0.0), axis=-1) / count
    return to_numpy(q), to_numpy(means)


def sorted_quantiles(rows: Array, levels: tuple[float, ...]) -> Array:
    """NumPy's linear-method quantiles along the last axis, NaNs ignored, in the standard alone.

    Row i with c_i values that are not NaN takes, for level q, the order
    statistics below and above ``h = (c_i - 1) q`` and NumPy's ``_lerp`` of them,
    which interpolates from the nearer end. A row of NaNs gives NaN.
    """
    xp = namespace(rows)
    home = device(rows)
    r, n = rows.shape
    valid = ~xp.isnan(rows)
    count = xp.sum(xp.astype(valid, xp.int64), axis=-1)
    # NaNs become +inf and sort after every value, so each row's first c_i are its values.
    ordered = xp.reshape(xp.sort(xp.where(valid, rows, xp.inf), axis=-1), (-1,))
    last = xp.maximum(count - 1, 0)[:, None]
    position = xp.astype(last, xp.float64) * xp.asarray(levels, dtype=xp.float64, device=home)
    lower = xp.floor(position)
    weight = position - lower
    lower_index = xp.astype(lower, xp.int64)
    upper_index = xp.minimum(lower_index + 1, last)
    row_start = (xp.arange(r, dtype=xp.int64, device=home) * n)[:, None]
    shape = tuple(position.shape)
    a = xp.reshape(xp.take(ordered, xp.reshape(row_start + lower_index, (-1,))), shape)
    b = xp.reshape(xp.take(ordered, xp.reshape(row_start + upper_index, (-1,))), shape)
    step = b - a
    q = xp.where(weight >= 0.5, b - step * (1.0 - weight), a + step * weight)
    return xp.where(count[:, None] > 0, q, xp.nan)
