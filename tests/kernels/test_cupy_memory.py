"""numba-cuda's device buffers from CuPy's pool: the EMM plugin's contract, with a stand-in
for CuPy (the allocation itself needs a GPU: the gpu-marked test below).

numba-cuda's driver interface is replaced by the simulator's under
NUMBA_ENABLE_CUDASIM, so each check runs in a process without it.
"""

import os
import subprocess
import sys

import pytest

from tests.conftest import requires_gpu

STAND_IN = """
import gc, sys, types, weakref
from numba.cuda.cudadrv import driver
from jevons.kernels import cupy_arrays
from jevons.kernels.cupy_memory import CuPyPoolMemoryManager, use_cupy_pool

class Block:  # cupy.cuda.MemoryPointer: an address the pool hands out
    def __init__(self, ptr):
        self.ptr = ptr

handed_out = []
def alloc(size):
    block = Block(0x7F0000000000 + 256 * len(handed_out))
    handed_out.append(weakref.ref(block))
    return block

pool = types.SimpleNamespace(free_bytes=lambda: 3_000, free_all_blocks=lambda: None)
sys.modules["cupy"] = types.SimpleNamespace(
    cuda=types.SimpleNamespace(
        alloc=alloc, runtime=types.SimpleNamespace(memGetInfo=lambda: (10_000, 80_000))
    ),
    get_default_memory_pool=lambda: pool,
)
"""

CHECKS = {
    "the plugin is accepted by numba-cuda (its interface version)": """
driver.set_memory_manager(CuPyPoolMemoryManager)
assert driver._memory_manager is CuPyPoolMemoryManager
""",
    "a buffer goes back to the pool when numba lets go of it": """
memory = CuPyPoolMemoryManager(context=None).memalloc(4096)
assert memory.size == 4096 and int(memory.device_pointer) == 0x7F0000000000
assert handed_out[0]() is not None  # held while numba's pointer lives
del memory
gc.collect()
assert handed_out[0]() is None
""",
    "free memory counts what the pool holds unused": """
info = CuPyPoolMemoryManager(context=None).get_memory_info()
assert (info.free, info.total) == (13_000, 80_000), info
""",
    "without a GPU numba-cuda keeps its own allocator": """
cupy_arrays.cupy_or_none = lambda: None
assert use_cupy_pool() is False
assert driver._memory_manager is None
""",
}


def without_simulator():
    env = dict(os.environ)
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    return env


@pytest.mark.slow
@pytest.mark.parametrize("check", CHECKS, ids=range(len(CHECKS)))
def test_plugin_contract(check):
    done = subprocess.run(
        [sys.executable, "-c", STAND_IN + CHECKS[check]],
        env=without_simulator(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, (check, done.stderr[-3000:])


@requires_gpu
@pytest.mark.gpu
def test_numba_device_arrays_come_from_cupys_pool():
    """On a GPU: the cuda backend's buffers are CuPy's (a fresh process, before any context)."""
    code = (
        "import cupy, numpy as np\n"
        "from jevons.kernels.cupy_memory import use_cupy_pool\n"
        "assert use_cupy_pool()\n"
        "from numba import cuda\n"
        "pool = cupy.get_default_memory_pool(); before = pool.used_bytes()\n"
        "a = cuda.to_device(np.ones(1 << 20))\n"
        "assert pool.used_bytes() - before >= 8 << 20, (before, pool.used_bytes())\n"
        "assert a.copy_to_host().sum() == 1 << 20\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=without_simulator(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
