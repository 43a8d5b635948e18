"""Row reducers: quantiles and means of many rows of trajectories at once.

``reduce(rows (R, n), quantiles (m,)) -> (quantiles (R, m), means (R,))``, NaNs
ignored; with no quantiles (m = 0) only the means are computed. The reducers
are NumPy's ``nanquantile`` (the reference),
:func:`jevons.kernels.cpu_quantiles.summarise_rows` (all cores) and the GPU's
(:mod:`jevons.kernels.cuda_quantiles`), each exact with linear interpolation.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

# reduce(rows (R, n), quantiles (m,)) -> (quantiles (R, m), means (R,)), NaNs ignored;
# m = 0 asks for the means alone (a probability is the mean of a 0/1 event)
RowReducer = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def numpy_reducer(rows: np.ndarray, quantiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # nan marks an undefined ratio (no tokens at all); it must not poison the rest.
    if np.isnan(rows).any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN row is a NaN result
            means = np.nanmean(rows, axis=-1)
            if not len(quantiles):
                return np.empty((rows.shape[0], 0)), means
            return np.nanquantile(rows, quantiles, axis=-1).T, means
    if not len(quantiles):
        return np.empty((rows.shape[0], 0)), rows.mean(axis=-1)
    return np.quantile(rows, quantiles, axis=-1).T, rows.mean(axis=-1)


def compiled_reducer(rows: np.ndarray, quantiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from jevons.kernels.cpu_quantiles import summarise_rows

    q = np.empty((rows.shape[0], len(quantiles)))
    means = np.empty(rows.shape[0])
    if rows.dtype not in (np.float32, np.float64):
        rows = rows.astype(np.float64)
    summarise_rows(np.ascontiguousarray(rows), quantiles, q, means)
    return q, means


def device_reducer(rows, quantiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows that live on the GPU are reduced there; only the quantiles come back."""
    from jevons.kernels.cuda_quantiles import summarise_rows_on_device

    return summarise_rows_on_device(rows, quantiles)
