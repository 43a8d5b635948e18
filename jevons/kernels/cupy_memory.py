"""CuPy's memory pool behind numba-cuda's device arrays, on the ``cuda`` backend.

numba-cuda allocates through an External Memory Management (EMM) plugin when
one is set before its first context. This plugin takes every device buffer from
CuPy's default memory pool, so that one pool owns the GPU's memory: buffers
freed between windows and chunks are reused rather than returned to the driver,
and the free memory a run is sized from counts what the pool holds unused.
Without CuPy (or where it sees no GPU) numba-cuda keeps its own allocator.

numba-cuda's driver interface is imported when :func:`use_cupy_pool` runs, and
CuPy when the first buffer is allocated.
"""

from __future__ import annotations

import ctypes

from numba.cuda.cudadrv.driver import (
    GetIpcHandleMixin,
    HostOnlyCUDAMemoryManager,
    MemoryInfo,
    MemoryPointer,
)


class CuPyPoolMemoryManager(GetIpcHandleMixin, HostOnlyCUDAMemoryManager):
    """numba-cuda's EMM plugin interface (version 1), allocating from CuPy's default pool."""

    def initialize(self) -> None:
        pass  # CuPy makes its pool on first use

    def memalloc(self, size: int) -> MemoryPointer:
        import cupy

        buffer = cupy.cuda.alloc(size)  # a cupy.cuda.MemoryPointer into the default pool

        def release(buffer=buffer) -> None:
            # the pool takes the block back once the last reference, this one, goes
            del buffer

        address = ctypes.c_void_p(int(buffer.ptr))
        return MemoryPointer(self.context, address, size, finalizer=release)

    def get_memory_info(self) -> MemoryInfo:
        from jevons.kernels.cupy_arrays import memory_info

        free, total = memory_info()
        return MemoryInfo(free=free, total=total)

    def reset(self) -> None:
        import cupy

        super().reset()
        cupy.get_default_memory_pool().free_all_blocks()

    @property
    def interface_version(self) -> int:
        return 1


def use_cupy_pool() -> bool:
    """Set the plugin if CuPy can drive this GPU; True if it is in use. Must run before
    numba-cuda makes its first context (it reads the manager then)."""
    from jevons.kernels.cupy_arrays import cupy_or_none

    if cupy_or_none() is None:
        return False
    from numba import cuda

    cuda.set_memory_manager(CuPyPoolMemoryManager)
    return True
