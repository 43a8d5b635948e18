"""Dask: independent work (sweep points, trajectory slices) on a cluster.

``--workers N`` starts a local cluster (one worker per GPU with dask-cuda when
the backend is ``cuda``), ``--scheduler ADDRESS`` joins an existing one. Every
task is a pure function of its scenario, seed and trajectory range, so results
equal a single-process run: sketches of slices merge exactly.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Iterator
from typing import Any

from jevons.errors import JevonsError


def _require_distributed() -> None:
    if importlib.util.find_spec("distributed") is None:
        raise JevonsError("--workers and --scheduler need Dask: pip install 'jevons[distributed]'")


@contextlib.contextmanager
def dask_client(workers: int | None, scheduler: str | None, backend: str) -> Iterator[Any | None]:
    """A ``distributed.Client`` for the options given, or ``None`` for one process."""
    if workers is None and scheduler is None:
        yield None
        return
    if workers is not None and scheduler is not None:
        raise JevonsError("give --workers (a local cluster) or --scheduler (an existing one)")
    _require_distributed()
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            # not the process's default client: a failed connection must leave no trace
            # for later dask work in the same process to pick up
            client = Client(scheduler, timeout="20s", set_as_default=False)
        except (OSError, ValueError) as exc:  # refused or timed out; not an address at all
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise JevonsError(
                f"cannot reach scheduler {scheduler!r} (give tcp://HOST:PORT): {reason}"
            ) from None
        with client, client.as_current():  # the current client inside this block only
            yield client
        return
    if backend == "cuda" and importlib.util.find_spec("dask_cuda") is not None:
        from dask_cuda import LocalCUDACluster

        cluster = LocalCUDACluster(n_workers=workers)  # one worker per GPU
    else:
        # One task at a time per worker, its kernels on its share of the cores.
        cores = max(1, (os.cpu_count() or 1) // workers)
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            env={"NUMBA_NUM_THREADS": str(cores)},
        )
    with cluster, Client(cluster, set_as_default=False) as client, client.as_current():
        yield client
