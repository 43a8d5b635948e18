"""Everything above the kernels, grouped by role.

``scenario`` (what the user writes) -> ``preparation`` (the kernel contract)
-> ``execution`` (backends and the run loop, which call ``jevons.kernels``)
-> ``summaries`` (percentiles) -> ``output`` (the Dataset and its files).

Nothing here imports CuPy or numba.cuda at import time: a CPU-only machine
imports every module, and backends are chosen at run time.
"""
