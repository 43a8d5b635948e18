"""What the reference model needs beyond the Python array API standard.

The NumPy reference (``reference``, ``layers``, ``philox``, ``transforms``) is
written against the array API standard (https://data-apis.org/array-api/), so
the same code runs on NumPy, on CuPy arrays on a GPU, and in the tests on
``array_api_strict``, which refuses every call outside the standard and every
silent copy between devices. Each function takes its namespace from its array
arguments through ``array_api_compat``; this module adds what that lacks:
NumPy for arguments that are all Python numbers, ``interp``, and the copy back
to the host.
"""

from __future__ import annotations

from typing import Any

import array_api_compat
import array_api_compat.numpy as compat_numpy
import numpy as np
from array_api_compat import array_namespace, is_array_api_obj

Array = Any  # an array of whichever library the caller works in


def namespace(*values: Any) -> Any:
    """The array namespace of the arrays among ``values`` (NumPy's if all are Python numbers)."""
    if any(is_array_api_obj(v) for v in values):
        return array_namespace(*values)
    return compat_numpy


def device(*values: Any) -> Any:
    """The device of the first array among ``values``; new arrays go there so nothing mixes."""
    for value in values:
        if is_array_api_obj(value):
            return array_api_compat.device(value)
    return None


def interp(x: Array, knots: Array, values: Array, *, right: float) -> Array:
    """``numpy.interp(x, knots, values, right=right)`` in any namespace.

    A namespace's own ``interp`` (NumPy's; CuPy's, a GPU kernel with NumPy's
    arithmetic) when it has one, else :func:`standard_interp`.
    """
    xp = namespace(x, knots, values)
    own = getattr(xp, "interp", None)
    if own is not None:
        return own(x, knots, values, right=right)
    return standard_interp(x, knots, values, right=right)


def standard_interp(x: Array, knots: Array, values: Array, *, right: float) -> Array:
    """``numpy.interp`` written with the array API standard's functions alone.

    ``knots`` strictly increasing, knots and values finite. The arithmetic is
    NumPy's compiled loop, case by case, so it gives NumPy's bits: below the
    first knot ``values[0]``; past the last ``right``; at a knot its value;
    between knots ``slope * (x - x0) + y0``, each interval's slope
    ``(y1 - y0) / (x1 - x0)`` computed once. (NumPy's retries for a NaN from
    infinite values cannot arise with finite ones.)
    """
    xp = namespace(x, knots, values)
    shape = tuple(x.shape)
    flat = xp.reshape(x, (-1,))
    m = knots.shape[0]
    result = xp.where(flat > knots[m - 1], right, values[m - 1])
    if m > 1:
        slopes = (values[1:] - values[:-1]) / (knots[1:] - knots[:-1])
        # Index of the last knot at or below x, as NumPy's binary search finds it.
        below = xp.searchsorted(knots, flat, side="right") - 1
        left_index = xp.clip(below, 0, m - 2)
        x0 = xp.take(knots, left_index)
        y0 = xp.take(values, left_index)
        slope = xp.take(slopes, left_index)
        between = xp.where(flat == x0, y0, slope * (flat - x0) + y0)
        result = xp.where((below >= 0) & (below < m - 1), between, result)
        result = xp.where(xp.isnan(flat), flat, result)  # (a single knot maps NaN to its value)
    result = xp.where(flat < knots[0], values[0], result)
    return xp.reshape(result, shape)


def to_numpy(array: Array) -> np.ndarray:
    """``array`` as a NumPy array on the host: copied from a GPU, shared if already there."""
    if isinstance(array, np.ndarray):
        return array
    if array_api_compat.is_cupy_array(array):
        return array.get()  # CuPy refuses NumPy's implicit conversion: copying is explicit
    return np.from_dlpack(array)  # the standard's interchange protocol, for host memory
