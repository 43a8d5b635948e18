"""Scenario schema, distributions, sampling, summaries and results.

Nothing here imports CuPy or numba.cuda at import time: a CPU-only machine
imports every module, and backends are chosen at run time.
"""
