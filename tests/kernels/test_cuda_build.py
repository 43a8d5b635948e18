"""The CUDA kernels, compiled and assembled for sm_80, sm_90 and sm_100 without a GPU.

``benchmarks/cuda_build.py`` records every kernel launch of a tiny cuda-backend run
on the simulator, compiles each kernel with numba-cuda for each architecture and
assembles it with ptxas. The occupancy arithmetic is checked here by hand; the
build itself runs in the slow tier (it needs the ptxas of the ``cu12`` extra).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import cuda_build
from benchmarks.cuda_build import LIMITS, judge, occupancy, parse_ptxas, parse_type

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "cuda_build.py"
DOCS = ROOT / "docs" / "gpu.md"
needs_ptxas = pytest.mark.skipif(
    cuda_build.ptxas_path() is None,
    reason="needs the ptxas of numba-cuda's cu12 extra: pip install -e '.[test]'",
)


def test_occupancy_by_hand():
    # 214 registers: 214 x 32 = 6,848, in units of 256 -> 6,912 a warp; a quarter of the
    # 65,536-register file holds 16,384 // 6,912 = 2 warps, so 8 warps an SM, and a block
    # of 128 threads is 4 warps: 2 blocks, 256 of 2,048 threads.
    assert occupancy(LIMITS["sm_90"], 128, 214, 0) == {
        "blocks_per_sm": 2, "occupancy": 0.125, "limited_by": "registers",
    }  # fmt: skip
    # 64 registers: 2,048 a warp, 8 warps a quarter, 32 an SM: 8 blocks of 4 warps
    assert occupancy(LIMITS["sm_90"], 128, 64, 0)["blocks_per_sm"] == 8
    # 14 registers, 256 threads: 2,048 // 256 = 8 blocks, bounded by threads
    assert occupancy(LIMITS["sm_80"], 256, 14, 0) == {
        "blocks_per_sm": 8, "occupancy": 1.0, "limited_by": "threads",
    }  # fmt: skip
    # 48 KB static + 1 KB reserved = 50,176 B a block: 164 KB (sm_80) holds 3, 228 KB holds 4
    assert occupancy(LIMITS["sm_80"], 256, 32, 48 * 1024) == {
        "blocks_per_sm": 3, "occupancy": 0.375, "limited_by": "shared memory",
    }  # fmt: skip
    assert occupancy(LIMITS["sm_90"], 256, 32, 48 * 1024)["blocks_per_sm"] == 4
    # 1,000 bytes + 1,024 reserved rounds up to 2,048: 228 KB / 2 KB = 114, so 32 blocks
    # of 32 threads with few registers are bounded by the 32-block limit
    assert occupancy(LIMITS["sm_90"], 32, 16, 1000) == {
        "blocks_per_sm": 32, "occupancy": 0.5, "limited_by": "blocks",
    }  # fmt: skip


def test_ptxas_report_parsed():
    report = """ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function '_Z6kernel' for 'sm_90'
ptxas info    : Function properties for _Z6kernel
    16 bytes stack frame, 8 bytes spill stores, 12 bytes spill loads
ptxas info    : Used 168 registers, used 1 barriers, 21632 bytes smem, 372 bytes cmem[0]
ptxas info    : Function properties for _Z6helper
    0 bytes stack frame, 4 bytes spill stores, 4 bytes spill loads
"""
    assert parse_ptxas(report) == {
        "registers": 168, "static_shared_bytes": 21632, "stack_bytes": 16,
        "spill_stores": 12, "spill_loads": 16,
    }  # fmt: skip


def test_types_read_back():
    from numba import types

    assert parse_type("array(float64, 3d, C)") == types.Array(types.float64, 3, "C")
    assert parse_type("array(int32, 1d, A)") == types.Array(types.int32, 1, "A")
    assert parse_type("uint64") == types.uint64


def row(**overrides):
    base = {
        "kernel": "jevons.kernels.cuda._run_window", "arch": "sm_90", "block": 128,
        "variant": "as shipped", "signature": [], "registers": 100, "spill_stores": 0,
        "spill_loads": 0, "static_shared_bytes": 0, "stack_bytes": 0,
    }  # fmt: skip
    return {**base, **overrides}


def launch(kernel="jevons.kernels.cuda._run_window", host=()):
    return {"kernel": kernel, "signature": [], "host_arguments": list(host)}


def test_every_fault_is_one_failure():
    kernels = ["jevons.kernels.cuda._run_window"]
    assert judge([row()], [launch()], kernels) == []
    cases = {
        "spills": row(spill_stores=8),
        "static shared memory": row(static_shared_bytes=0xF028),
        "compile: No implementation": row(error="compile: No implementation of shared.array"),
        "no block": row(block=1024, registers=255),  # 8 warps an SM, 32 a block
    }
    for words, bad in cases.items():
        failures = judge([bad], [launch()], kernels)
        assert len(failures) == 1 and words in failures[0], (words, failures)
    # other launch bounds that spill are a measurement, not a failure
    variant = row(variant="launch_bounds=(128, 5)", spill_stores=800)
    assert judge([variant], [launch()], kernels) == []
    assert "never launched" in judge([], [], kernels)[0]
    assert "host arrays at arguments [2]" in judge([row()], [launch(host=[2])], kernels)[0]
    unknown = "jevons.kernels.cuda._new_kernel"
    assert any("BLOCK_SIZE" in f for f in judge([], [launch(unknown)], [unknown]))


TOO_MUCH_SHARED = """
import sys
from numba import cuda, float64, int64
from benchmarks.cuda_build import assemble, ptxas_path

def kernel(out):  # 61,480 bytes of static shared memory, as the first GPU reducer had
    a = cuda.shared.array(7685, float64)
    a[cuda.threadIdx.x] = 1.0
    cuda.syncthreads()
    out[0] = a[int64(out.shape[0]) % 7685]

ptx, _ = cuda.compile_ptx(kernel, (float64[::1],), cc=(9, 0))
try:
    assemble(ptxas_path(), ptx, "sm_90", None)
except RuntimeError as exc:
    print(exc)
    sys.exit(0)
sys.exit(1)
"""


def without_simulator():
    env = dict(os.environ)
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    return env


@pytest.mark.slow
@needs_ptxas
def test_ptxas_refusal_is_caught():
    """ptxas's own refusal (static shared memory over 48 KB) comes back as the failure."""
    done = subprocess.run(
        [sys.executable, "-c", TOO_MUCH_SHARED], cwd=ROOT, env=without_simulator(),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "too much shared data" in done.stdout


@pytest.mark.slow
@needs_ptxas
def test_every_kernel_builds_for_every_architecture(tmp_path):
    report_path = tmp_path / "cuda-build.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--json", str(report_path)], cwd=ROOT,
        env=without_simulator(), capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    report = json.loads(report_path.read_text())
    assert report["ok"] and report["failures"] == []
    shipped = [r for r in report["kernels"] if r["variant"] == "as shipped"]
    built = {(r["kernel"], r["arch"]) for r in shipped}
    kernels = set(cuda_build.BLOCK_SIZE)
    assert built == {(k, a) for k in kernels for a in cuda_build.ARCHS}
    for r in shipped:
        assert r["spill_stores"] == r["spill_loads"] == 0, r
        assert r["static_shared_bytes"] <= 48 * 1024, r
        assert r["blocks_per_sm"] >= 1, r
    # the table in the docs is this run's
    table = cuda_build.markdown_table(report["kernels"])
    stale = "docs/gpu.md is stale: python benchmarks/cuda_build.py --docs docs/gpu.md"
    assert table in DOCS.read_text(), stale
