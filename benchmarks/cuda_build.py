"""Every CUDA kernel jevons launches, built for real GPUs on a machine without one.

Numba's CUDA simulator runs kernels as Python: it never types, compiles or
assembles them, and enforces no shared-memory limit. This script does what a
GPU's first launch would do, short of running:

1. **Launches recorded.** A tiny ``cuda``-backend run (exact and sketched
   summaries) on the simulator records every kernel launch: the argument types
   (as numba-cuda types them on a GPU, where the simulator's device arrays are
   plain NumPy arrays) and any host array handed to a kernel (an implicit copy
   each launch on a GPU).
2. **Compiled.** In a fresh process per architecture, each launched kernel is
   compiled with ``numba.cuda.compile_ptx`` for that compute capability, with its
   own ``@cuda.jit`` options, and its PTX assembled by ``ptxas -v`` (the one the
   ``cu12`` extra installs), which reports registers, spills and shared memory.
   A device function asks the driver for the compute capability when a kernel
   calls it; here it is told the architecture being built instead.
3. **Checked.** A kernel fails on a compile or ptxas error, on spills, on static
   shared memory over the 48 KB a block gets without an opt-in, or on a host
   array in a launch; every kernel that the ``jevons.kernels`` modules define must
   have been launched by the recorded run.
4. **Occupancy.** Blocks per SM and occupancy at the launch's block size, from
   the registers and shared memory and the architecture's limits (CUDA C++
   Programming Guide, "Technical Specifications per Compute Capability"; the
   register rule of CUDA's occupancy calculator). The trajectory kernel is also
   built with other launch bounds than its own (``@cuda.jit(launch_bounds=...)``:
   the fewest blocks an SM must hold, which caps the registers ptxas may use):
   what each would cost in spills and gain in occupancy.

Usage, from the repository root (the ``test`` extra installs what it needs)::

    python benchmarks/cuda_build.py                      # sm_80, sm_90, sm_100
    python benchmarks/cuda_build.py --json OUT.json --docs docs/gpu.md
    python benchmarks/cuda_build.py --arch native        # on a GPU: its own architecture

It prints the table, writes the JSON and the docs table where asked, and exits
1 if any kernel fails a check (2 when ptxas or numba-cuda is missing).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import json
import math
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "chat-assistant.toml"
ARCHS = ("sm_80", "sm_90", "sm_100")
STATIC_SHARED_LIMIT = 48 * 1024  # bytes a block may declare statically, on every architecture
# The threads per block each kernel is launched with on a GPU, by the name of the
# launcher module's constant (the simulator runs smaller blocks).
BLOCK_SIZE = {
    "jevons.kernels.cuda._run_window": "THREADS_PER_BLOCK",
    "jevons.kernels.cuda_quantiles._row_quantiles": "THREADS",
    "jevons.kernels.cuda_sketch._scan_rows": "THREADS",
    "jevons.kernels.cuda_sketch._count_keys": "COUNT_THREADS",
}
# Launch bounds tried on the trajectory kernel: at least 3, 4 or 5 blocks of 128 threads
# an SM, which caps its registers at 168, 128 or 96
BOUND_VARIANTS = {"_run_window": ((128, 3), (128, 4), (128, 5))}
TABLE_START = "<!-- cuda-build table: written by benchmarks/cuda_build.py -->"
TABLE_END = "<!-- end of cuda-build table -->"


@dataclass(frozen=True)
class SmLimits:
    """Per-SM limits of a compute capability (CUDA C++ Programming Guide)."""

    threads: int = 2048
    blocks: int = 32
    registers: int = 65536
    register_unit: int = 256  # registers are allocated per warp in units of this many
    sub_partitions: int = 4  # each holds a quarter of the register file
    max_registers_per_thread: int = 255
    shared_bytes: int = 228 * 1024  # the most a carveout gives the blocks of one SM
    reserved_shared_per_block: int = 1024  # the system's share of each block (sm_80 on)
    shared_unit: int = 128


LIMITS = {
    "sm_80": SmLimits(shared_bytes=164 * 1024),
    "sm_90": SmLimits(),
    "sm_100": SmLimits(),
}


def occupancy(limits: SmLimits, block: int, registers: int, shared: int) -> dict:
    """Resident blocks per SM, occupancy and what limits it, as CUDA's calculator works it."""
    warps_per_block = math.ceil(block / 32)
    by = {"blocks": limits.blocks, "threads": limits.threads // 32 // warps_per_block}
    per_warp = math.ceil(max(registers, 1) * 32 / limits.register_unit) * limits.register_unit
    warps_by_registers = (limits.registers // limits.sub_partitions // per_warp) * (
        limits.sub_partitions
    )
    by["registers"] = warps_by_registers // warps_per_block
    per_block = limits.reserved_shared_per_block + shared
    per_block = math.ceil(per_block / limits.shared_unit) * limits.shared_unit
    by["shared memory"] = limits.shared_bytes // per_block
    blocks = min(by.values())
    limited_by = min(by, key=lambda k: (by[k], k != "registers"))
    return {
        "blocks_per_sm": blocks,
        "occupancy": blocks * warps_per_block * 32 / limits.threads,
        "limited_by": limited_by,
    }


# ---------------------------------------------------------------- 1. launches


def kernel_modules():
    """The ``jevons.kernels`` modules that define CUDA kernels (by their source)."""
    import jevons.kernels

    names = []
    for info in pkgutil.iter_modules(jevons.kernels.__path__):
        source = Path(jevons.kernels.__path__[0], f"{info.name}.py")
        if source.exists() and "@cuda.jit" in source.read_text():
            names.append(f"jevons.kernels.{info.name}")
    return sorted(names)


def record_launches() -> list[dict]:
    """Run a tiny cuda-backend scenario on the simulator; every launch's argument types."""
    import numba
    import numpy as np
    from numba import types
    from numba.cuda.simulator.kernel import FakeCUDAKernel

    import jevons

    launches: dict[tuple, dict] = {}

    def typed(value) -> tuple[str, bool]:
        """numba's type of ``value`` as a GPU launch would see it; and: is it host memory?"""
        host = isinstance(value, np.ndarray) and value.ndim > 0
        array = getattr(value, "_ary", value)  # the simulator's device array wraps NumPy's
        kind = numba.typeof(array)
        if isinstance(kind, types.Array):  # device arrays are writable, whatever NumPy's flag
            kind = types.Array(kind.dtype, kind.ndim, kind.layout)
        return str(kind), host

    class Recorder:
        def __init__(self, name: str, kernel):
            self.name, self.kernel = name, kernel

        def __getitem__(self, config):
            launch = self.kernel[config]

            def call(*args):
                described = [typed(a) for a in args]
                key = (self.name, tuple(kind for kind, _ in described))
                entry = launches.setdefault(
                    key, {"kernel": self.name, "signature": list(key[1]), "host_arguments": []}
                )
                for position, (_, host) in enumerate(described):
                    if host and position not in entry["host_arguments"]:
                        entry["host_arguments"].append(position)
                return launch(*args)

            return call

    for module_name in kernel_modules():
        module = importlib.import_module(module_name)
        for attribute, value in list(vars(module).items()):
            if isinstance(value, FakeCUDAKernel) and not value._device:
                setattr(module, attribute, Recorder(f"{module_name}.{attribute}", value))

    scenario = tomllib.loads(SCENARIO.read_text())
    scenario["horizon"]["steps"] = 1
    scenario.get("variability", {}).pop("surges", None)
    scenario["fleet"] = {"policy": "fixed", "sizes": [10]}  # the fixed-fleet outputs too
    for summary in ("exact", "sketch"):
        jevons.run(scenario, trajectories=4, backend="cuda", summary=summary)
    return sorted(launches.values(), key=lambda e: (e["kernel"], e["signature"]))


# ---------------------------------------------------------------- 2. compile


def ptxas_path() -> str | None:
    """The ptxas of the nvidia-cuda-nvcc wheel (the cu12 extra), else one on PATH or CUDA_HOME."""
    spec = importlib.util.find_spec("nvidia.cuda_nvcc")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder, "bin", "ptxas")
        if candidate.exists():
            return str(candidate)
    home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
    if home and Path(home, "bin", "ptxas").exists():
        return str(Path(home, "bin", "ptxas"))
    return shutil.which("ptxas")


def parse_ptxas(report: str) -> dict:
    """Registers, spills, stack and shared memory from ``ptxas -v``'s report."""
    used = re.search(r"Used (\d+) registers", report)
    shared = re.search(r"(\d+) bytes smem", report)
    frames = re.findall(
        r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", report
    )
    return {
        "registers": int(used.group(1)) if used else None,
        "static_shared_bytes": int(shared.group(1)) if shared else 0,
        "stack_bytes": max((int(f[0]) for f in frames), default=0),
        "spill_stores": sum(int(f[1]) for f in frames),
        "spill_loads": sum(int(f[2]) for f in frames),
    }


def assemble(ptxas: str, ptx: str, arch: str, max_registers: int | None) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder, "kernel.ptx")
        source.write_text(ptx)
        command = [ptxas, f"-arch={arch}", "-v", str(source), "-o", str(Path(folder, "k.cubin"))]
        if max_registers:
            command[1:1] = ["-maxrregcount", str(max_registers)]
        done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if "error" in line.lower()]
        raise RuntimeError("ptxas: " + " ".join(lines or done.stderr.splitlines()[-3:]))
    return parse_ptxas(done.stderr)


def parse_type(text: str):
    """A numba type from its ``str()`` form, as record_launches wrote it."""
    from numba import types

    array = re.fullmatch(r"array\((\w+), (\d+)d, (\w)\)", text)
    if array:
        return types.Array(getattr(types, array.group(1)), int(array.group(2)), array.group(3))
    return getattr(types, text)


def compile_for(arch: str, launches: list[dict]) -> list[dict]:
    """Compile and assemble every recorded launch for ``arch`` (in this process)."""
    import types as pytypes

    import numba.cuda.dispatcher
    from numba import cuda

    if arch == "native":
        cc = cuda.get_current_device().compute_capability
        arch = f"sm_{cc[0]}{cc[1]}"
    else:
        cc = (int(arch[3:-1]), int(arch[-1]))
        device = pytypes.SimpleNamespace(compute_capability=cc)
        # device functions ask the driver which architecture they are for
        numba.cuda.dispatcher.get_current_device = lambda: device
    ptxas = ptxas_path()
    rows = []
    for launch in launches:
        module_name, name = launch["kernel"].rsplit(".", 1)
        module = importlib.import_module(module_name)
        kernel = getattr(module, name)
        options = kernel.targetoptions
        base = {
            "kernel": launch["kernel"],
            "arch": arch,
            "block": getattr(module, BLOCK_SIZE[launch["kernel"]]),
            "signature": launch["signature"],
        }
        shipped = ("as shipped", options.get("launch_bounds"))
        variants = [shipped] + [
            (f"launch_bounds={bounds}" if bounds else "no launch bounds", bounds)
            for bounds in BOUND_VARIANTS.get(name, ())
        ]
        for variant, bounds in variants:
            try:
                ptx, _ = cuda.compile_ptx(
                    kernel.py_func,
                    tuple(parse_type(t) for t in launch["signature"]),
                    cc=cc,
                    fastmath=bool(options.get("fastmath")),
                    launch_bounds=bounds,
                    lineinfo=bool(options.get("lineinfo")),
                )
            except Exception as exc:  # the compile error is the finding
                message = " ".join(str(exc).split())[:600]
                rows.append({**base, "variant": variant, "error": f"compile: {message}"})
                continue
            try:
                built = assemble(ptxas, ptx, arch, options.get("max_registers"))
                rows.append({**base, "variant": variant, **built})
            except RuntimeError as exc:
                rows.append({**base, "variant": variant, "error": str(exc)[:600]})
    return rows


# ---------------------------------------------------------------- 3, 4. checks and table


def judge(rows: list[dict], launches: list[dict], kernels: list[str]) -> list[str]:
    """Add occupancy to each row; the failures, one line each."""
    failures = []
    launched = {launch["kernel"] for launch in launches}
    for kernel in kernels:
        if kernel not in launched:
            failures.append(f"{kernel}: never launched by the recorded run, so never built")
        if kernel not in BLOCK_SIZE:
            failures.append(f"{kernel}: no block size in benchmarks/cuda_build.py BLOCK_SIZE")
    for launch in launches:
        if launch["host_arguments"]:
            failures.append(
                f"{launch['kernel']}: host arrays at arguments {launch['host_arguments']}"
                " (copied to the GPU at every launch)"
            )
    for row in rows:
        shipped = row["variant"] == "as shipped"
        where = f"{row['kernel']} [{row['arch']}, {row['variant']}]"
        if "error" in row:
            if shipped:
                failures.append(f"{where}: {row['error']}")
            continue
        limits = LIMITS.get(row["arch"], SmLimits())
        row.update(occupancy(limits, row["block"], row["registers"], row["static_shared_bytes"]))
        if not shipped:
            continue
        if row["spill_stores"] or row["spill_loads"]:
            failures.append(
                f"{where}: spills {row['spill_stores']} B stored, {row['spill_loads']} B loaded"
            )
        if row["static_shared_bytes"] > STATIC_SHARED_LIMIT:
            failures.append(
                f"{where}: {row['static_shared_bytes']} B of static shared memory"
                f" (at most {STATIC_SHARED_LIMIT})"
            )
        if row["blocks_per_sm"] < 1:
            failures.append(f"{where}: no block of {row['block']} threads fits on an SM")
    return failures


def markdown_table(rows: list[dict]) -> str:
    head = (
        "| kernel | variant | arch | block | registers | spills (B) | static shared (B) |"
        " blocks/SM | occupancy | limited by |\n"
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|\n"
    )
    lines = []
    for row in rows:
        kernel = row["kernel"].removeprefix("jevons.kernels.")
        if "error" in row:
            lines.append(
                f"| `{kernel}` | {row['variant']} | {row['arch']} | {row['block']} |"
                f" does not build: {row['error'][:120]} | | | | | |"
            )
            continue
        spills = row["spill_stores"] + row["spill_loads"]
        lines.append(
            f"| `{kernel}` | {row['variant']} | {row['arch']} | {row['block']} |"
            f" {row['registers']} | {spills} | {row['static_shared_bytes']:,} |"
            f" {row['blocks_per_sm']} | {row['occupancy']:.1%} | {row['limited_by']} |"
        )
    return head + "\n".join(lines) + "\n"


def replace_table(document: Path, table: str) -> None:
    """Put ``table`` between the markers of ``document`` (written atomically)."""
    text = document.read_text()
    start, end = text.index(TABLE_START), text.index(TABLE_END)
    text = text[: start + len(TABLE_START)] + "\n\n" + table + "\n" + text[end:]
    temp = document.with_name(f".{document.name}.tmp")
    temp.write_text(text)
    os.replace(temp, document)


def versions(ptxas: str) -> dict:
    done = subprocess.run([ptxas, "--version"], capture_output=True, text=True)
    release = re.search(r"release ([\d.]+), V([\d.]+)", done.stdout)
    return {
        "numba": importlib.metadata.version("numba"),
        "numba_cuda": importlib.metadata.version("numba-cuda"),
        "ptxas": release.group(2) if release else done.stdout.strip()[-80:],
    }


def run_child(arguments: list[str], simulator: bool) -> str:
    env = dict(os.environ)
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    if simulator:
        env["NUMBA_ENABLE_CUDASIM"] = "1"
    done = subprocess.run(
        [sys.executable, __file__, *arguments], env=env, capture_output=True, text=True, cwd=ROOT
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(arguments)} failed:\n{done.stderr[-4000:]}")
    return done.stdout


def build(archs: list[str]) -> dict:
    """Record launches, compile for every arch (a process each), judge: the whole report."""
    ptxas = ptxas_path()
    launches = json.loads(run_child(["--record"], simulator=True))
    kernels = json.loads(run_child(["--list-kernels"], simulator=False))
    with tempfile.TemporaryDirectory() as folder:
        recorded = Path(folder, "launches.json")
        recorded.write_text(json.dumps(launches))

        def one(arch: str) -> list[dict]:
            return json.loads(run_child(["--compile", arch, str(recorded)], simulator=False))

        with ThreadPoolExecutor(max_workers=max(1, min(len(archs), os.cpu_count() or 1))) as pool:
            per_arch = list(pool.map(one, archs))
    rows = [row for arch_rows in per_arch for row in arch_rows]
    order = {kernel: i for i, kernel in enumerate(BLOCK_SIZE)}
    variants: dict[str, int] = {}
    for row in rows:  # in the order first seen: as shipped, then the others tried
        variants.setdefault(row["variant"], len(variants))
    rows.sort(
        key=lambda r: (
            order.get(r["kernel"], len(order)),
            variants[r["variant"]],
            int(r["arch"].removeprefix("sm_")),
        )
    )
    failures = judge(rows, launches, kernels)
    return {
        "versions": versions(ptxas),
        "archs": [row["arch"] for row in per_arch[0][:1]] if archs == ["native"] else archs,
        "static_shared_limit_bytes": STATIC_SHARED_LIMIT,
        "launches": launches,
        "kernels": rows,
        "failures": failures,
        "ok": not failures,
    }


def list_kernels() -> list[str]:
    from numba.cuda.dispatcher import CUDADispatcher

    found = []
    for module_name in kernel_modules():
        module = importlib.import_module(module_name)
        for attribute, value in vars(module).items():
            if isinstance(value, CUDADispatcher) and not value.targetoptions.get("device"):
                found.append(f"{module_name}.{attribute}")
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default=",".join(ARCHS), help="sm_XY list, or native")
    parser.add_argument("--json", type=Path, help="write the whole report here")
    parser.add_argument("--docs", type=Path, help="replace the table in this Markdown file")
    parser.add_argument("--record", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--list-kernels", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--compile", nargs=2, metavar=("ARCH", "LAUNCHES"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.record:
        print(json.dumps(record_launches()))
        return 0
    if args.list_kernels:
        print(json.dumps(list_kernels()))
        return 0
    if args.compile:
        launches = json.loads(Path(args.compile[1]).read_text())
        print(json.dumps(compile_for(args.compile[0], launches)))
        return 0

    missing = [p for p in ("numba_cuda",) if importlib.util.find_spec(p) is None]
    if missing or ptxas_path() is None:
        print(
            "cuda_build: needs numba-cuda and the ptxas of its cu12 extra:"
            " pip install -e '.[test]'",
            file=sys.stderr,
        )
        return 2
    report = build([a.strip() for a in args.arch.split(",") if a.strip()])
    table = markdown_table(report["kernels"])
    print(table)
    for failure in report["failures"]:
        print(f"FAILED {failure}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.docs:
        replace_table(args.docs, table)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
