"""Sizing work to memory: refuse what cannot fit, and chunk what can.

Exact summaries hold every trajectory of a window of steps at once; sketched
runs simulate chunks sized from the memory available (the GPU's for the GPU backends).
"""

from __future__ import annotations

import os

from jevons.engine.execution.backends import GPU_BACKENDS
from jevons.engine.summaries.periods import step_periods
from jevons.engine.summaries.sketch import SketchSpec
from jevons.errors import JevonsError
from jevons.kernels import layout
from jevons.kernels.contract import HARDWARE_FIELDS, PARAMETER_PATHS, ModelPlan
from jevons.kernels.step_windows import MIN_WINDOW_STEPS, output_rows
from jevons.kernels.variables import MONETIZED, SIGNED, VARIABLES

# Trajectories per chunk on the host: a chunk's outputs fill a window of steps, and
# past ~1e5 trajectories a window holds so few steps that the kernel's per-window
# work dominates; more trajectories gain nothing on a few cores.
HOST_CHUNK = 1 << 17
DEVICE_CHUNK = 1 << 22  # a GPU wants millions of threads; out of memory halves it


def physical_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def estimated_bytes(plan: ModelPlan, n: int) -> int:
    """Rough peak memory of one process simulating ``n`` trajectories.

    Per trajectory: the drawn inputs (and their temporaries), each profile's drawn
    figures and the kernels' rows made of them, the running totals, the smallest
    window of outputs, and the NumPy reference's temporaries.
    """
    n_hw, n_fleet = len(plan.hardware), len(plan.fleet_sizes)
    inputs = 2 * (len(PARAMETER_PATHS) + len(plan.surge_names))
    inputs += n_hw * (2 * len(HARDWARE_FIELDS) + len(layout.HARDWARE))
    totals = (
        len(layout.DEMAND_TOTALS)
        + n_hw * (len(layout.SUPPLY_TOTALS) + n_fleet * len(layout.FLEET_TOTALS))
        + 2  # users and their cap
    )
    return 8 * n * (inputs + totals + (MIN_WINDOW_STEPS + 1) * output_rows(plan) + 40)


def _refuse_past_memory(needed: int, what: str, remedy: str) -> None:
    """Refuse, with a clear message, work that cannot fit: better than an OOM kill."""
    available = physical_memory_bytes()
    if available is not None and needed > 0.8 * available:
        raise JevonsError(
            f"{what} need about {needed / 2**30:,.0f} GiB in one process; this machine has"
            f" {available / 2**30:.0f} GiB. {remedy}"
        )


def check_memory(plan: ModelPlan, n: int) -> None:
    """Refuse a run whose trajectories cannot fit in this machine's memory."""
    _refuse_past_memory(estimated_bytes(plan, n), f"{n:,} trajectories", "Run fewer trajectories.")


# Octaves between the smallest and largest positive value of a sketched row, as sized for
# before a run (a factor of 65,536; the shipped scenarios' widest rows span fewer).
SKETCH_OCTAVES = 16


def sketch_bytes(plan: ModelPlan, spec: SketchSpec) -> int:
    """Memory of a sketched summary: 8-byte counts for 2^m buckets an octave over
    SKETCH_OCTAVES octaves, per (variable, step, hardware, fleet size) row."""
    n_hw, n_fleet = len(plan.hardware), len(plan.fleet_sizes)
    # months: the finer of the reserve periods, so the estimate covers either
    _, months = step_periods(plan.calendar.step_start, "month")
    cells = {
        (): 1,
        ("hardware",): n_hw,
        ("fleet_size", "hardware"): n_fleet * n_hw,
        ("hardware", "period"): n_hw * len(months),
    }
    # a signed variable is held as two sketches (its positive and negative values)
    rows = sum(
        cells[v.lead_dims] * (plan.steps if v.scope == "step" else 1) * (1 + (v.name in SIGNED))
        for v in VARIABLES.values()
        if not v.derived and (plan.monetized or v.name not in MONETIZED)
    )
    return rows * (2**spec.mantissa_bits * SKETCH_OCTAVES * 8 + 48)


def check_sketch_memory(plan: ModelPlan, spec: SketchSpec) -> None:
    """Refuse, before any work, sketches that cannot fit in this machine's memory."""
    _refuse_past_memory(
        sketch_bytes(plan, spec),
        f"simulation.relative_accuracy {spec.relative_accuracy:g} keeps"
        f" {2**spec.mantissa_bits:,} buckets an octave: the sketches of {plan.steps:,} steps",
        "Use a coarser relative_accuracy or fewer steps.",
    )


def available_memory_bytes() -> int | None:
    """Memory the host can give without swapping (MemAvailable), else its physical size."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return physical_memory_bytes()


def free_device_bytes(backend: str = "cuda") -> int | None:
    """Free memory of the GPU that ``backend`` runs on (None where none can be read)."""
    try:
        if backend == "cupy":
            from jevons.kernels.cupy_arrays import free_memory_bytes
        else:
            from jevons.kernels.cuda import free_memory_bytes

        return free_memory_bytes()
    except Exception:  # no driver, or the simulator: fall back to the host's figure
        return None


def chunk_size(plan: ModelPlan, n: int, backend: str, mode: str) -> int:
    """Trajectories simulated together: all of them for exact summaries; else as many
    as a quarter of the free memory (of the GPU for a GPU backend) holds, up to a cap."""
    if mode == "exact":
        return max(n, 1)
    per_trajectory = estimated_bytes(plan, 1)
    on_gpu = backend in GPU_BACKENDS
    limit = DEVICE_CHUNK if on_gpu else HOST_CHUNK
    free = (free_device_bytes(backend) if on_gpu else None) or available_memory_bytes()
    if free is not None:
        limit = min(limit, max(1024, int(0.25 * free / per_trajectory)))
    return max(1, min(n, limit))
