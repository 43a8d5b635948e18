"""What the reference model needs beyond the Python array API standard.

The NumPy reference (``reference``, ``layers``, ``philox``, ``transforms``) is
written against the array API standard (https://data-apis.org/array-api/), so
the same code runs on NumPy, on CuPy arrays on a GPU, and in the tests on
``array_api_strict``, which refuses every call outside the standard and every
silent copy between devices. Each function takes its namespace from its array
arguments through ``array_api_compat``; this module adds what that lacks:
NumPy for arguments that are all Python numbers, and the copy back to the host.
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


def reshape(array: Array, shape: tuple[int, ...]) -> Array:
    """``array`` in ``shape``: the standard's function for array API arrays (the standard
    has no method), the array's own method for numba.cuda device arrays."""
    if is_array_api_obj(array):
        return namespace(array).reshape(array, shape)
    return array.reshape(shape)


def to_numpy(array: Array) -> np.ndarray:
    """``array`` as a NumPy array on the host: copied from a GPU, shared if already there."""
    if isinstance(array, np.ndarray):
        return array
    if array_api_compat.is_cupy_array(array):
        return array.get()  # CuPy refuses NumPy's implicit conversion: copying is explicit
    if hasattr(array, "copy_to_host"):  # a numba.cuda device array
        return array.copy_to_host()
    if not is_array_api_obj(array):  # a list or a Python number
        return np.asarray(array)
    return np.from_dlpack(array)  # the standard's interchange protocol, for host memory
