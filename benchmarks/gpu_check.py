"""Everything only a GPU can show, in one run and one JSON file.

On a fresh GPU machine (one H100/H200: under 8 minutes), from the repository root:

    pip install -e '.[cuda12,test]'
    python benchmarks/gpu_check.py OUT

It runs five parts, each timed and recorded on its own (a part that fails is
recorded with its error, and the next part still runs):

1. ``compile``: ``benchmarks/cuda_build.py --arch native``: every kernel built for
   the device's own architecture, with registers, spills, shared memory and
   occupancy (the table CI makes for sm_80, sm_90 and sm_100 without a GPU);
2. ``gpu_tests``: the ``gpu``-marked tests (``pytest -m gpu``, in a subprocess);
3. ``cuda_vs_numpy``: the ``cuda`` backend against the NumPy reference on every
   shipped scenario (``scenarios/*.toml``) at 1e5 trajectories, exact
   percentiles: the largest relative disagreement over every output variable
   (per-step quantiles and means, horizon totals), against a tolerance of 1e-9;
   and the ``cupy`` backend likewise at 1e4 trajectories (where CuPy sees the GPU);
4. ``throughput``: ``benchmarks/throughput.py`` rows for ``cuda``, ``cupy`` and
   the Philox floor on the GPU;
5. ``sketch``: one sketched 1e7 x 365 run on the ``cuda`` backend.

It writes ``OUT/gpu-check.json`` (device, versions, sizes, times, ratios,
disagreements; rewritten, atomically, after every part) and exits non-zero if
any part failed.

``--toy`` (or ``NUMBA_ENABLE_CUDASIM=1`` in the environment) runs the same parts
on Numba's CUDA simulator at toy sizes, builds the kernels for sm_90 only, and
only collects the ``gpu`` tests, so that the script is exercised without a GPU
(``tests/test_gpu_check.py``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import traceback
from pathlib import Path

import numpy as np  # importing numba waits until NUMBA_ENABLE_CUDASIM is settled

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
RESULT_NAME = "gpu-check.json"
TOLERANCE = 1e-9  # relative, float64: the cuda backend must equal the reference to rounding
TIME_BUDGET_S = 450.0  # throughput rows predicted past this (since the start) are skipped
ROW_LIMIT_S = 60.0  # ... as is any one row predicted to take longer
SKETCH_RESERVE_S = 90.0  # time kept back for the sketched run that comes last

# Sizes: (steps, trajectories). Steps of 365 and 8,760 are throughput.py's daily
# and hourly horizons.
FULL = {
    "compile_arch": "native",
    "compare_trajectories": 100_000,
    "cupy_compare_trajectories": 10_000,
    "compare_steps": "the scenario's own",
    "throughput": [(365, 100_000), (365, 1_000_000), (8760, 100_000)],
    "sketch": (365, 10_000_000),
    "sketch_scenario": "chat-assistant",
}
# The simulator runs each GPU thread as a Python thread: a handful of trajectories
# and one or two steps already take seconds.
TOY = {
    "compile_arch": "sm_90",
    "compare_trajectories": 16,
    "cupy_compare_trajectories": 16,
    "compare_steps": 1,
    "quantiles": [0.5, 0.95],
    "throughput": [(1, 16)],
    "philox": [(2, 32)],
    "sketch": (2, 32),
    "sketch_scenario": "chat-assistant",
}


def say(message: str) -> None:
    print(f"[gpu-check] {message}", flush=True)


def jsonable(value):
    """Plain JSON values: NumPy scalars unwrapped, non-finite floats as strings."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def write_json_atomically(path: Path, data: dict) -> None:
    text = json.dumps(jsonable(data), indent=2, allow_nan=False) + "\n"
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(temp, 0o644)
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def one_line(text: str) -> str:
    return " ".join(text.split())


def error_record(exc: BaseException) -> dict:
    return {
        "error": f"{type(exc).__name__}: {exc}",
        "traceback": "".join(traceback.format_exception(exc))[-3000:],
    }


def run_part(report: dict, name: str, part, *args) -> None:
    """Run one part; record its result, status and time, or its error."""
    say(f"{name}: start")
    started = time.perf_counter()
    try:
        result = part(*args)
    except Exception as exc:
        result = {"status": "failed", **error_record(exc)}
    result["seconds"] = round(time.perf_counter() - started, 3)
    report[name] = result
    say(f"{name}: {result['status']} in {result['seconds']:.1f} s")
    if result["status"] == "failed" and "error" in result:
        say(f"{name}: {one_line(result['error'])}")


# --- the machine ---------------------------------------------------------------


def package_version(*names: str) -> str | None:
    for name in names:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def versions() -> dict:
    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_cores": os.cpu_count(),
        "jevons": package_version("jevons"),
        "numpy": package_version("numpy"),
        "numba": package_version("numba"),
        "numba_cuda": package_version("numba-cuda"),
        "cupy": package_version("cupy-cuda12x", "cupy-cuda13x", "cupy"),
        "pytest": package_version("pytest"),
    }
    try:
        git = ["git", "-C", str(ROOT), "rev-parse", "HEAD"]
        info["jevons_commit"] = subprocess.run(
            git, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except Exception:
        info["jevons_commit"] = None
    return info


def try_value(function):
    try:
        return function()
    except Exception as exc:
        return f"unavailable ({type(exc).__name__}: {exc})"


def device_info(simulator: bool) -> dict:
    """The GPU, its compute capability, driver and runtime versions, where available."""
    from numba import cuda

    from jevons.kernels.cuda import device_name, gpu_available

    info: dict = {"simulator": simulator, "available": gpu_available()}
    if not info["available"]:
        info["name"] = None
        return info
    info["name"] = try_value(device_name)
    if simulator:
        return info
    info["compute_capability"] = try_value(
        lambda: ".".join(map(str, cuda.get_current_device().compute_capability))
    )
    info["memory_total_gib"] = try_value(
        lambda: round(cuda.current_context().get_memory_info()[1] / 2**30, 1)
    )
    info["driver_cuda_version"] = try_value(
        lambda: ".".join(map(str, cuda.cudadrv.driver.driver.get_version()))
    )
    info["runtime_cuda_version"] = try_value(
        lambda: ".".join(map(str, cuda.cudadrv.runtime.runtime.get_version()))
    )
    if shutil.which("nvidia-smi"):
        query = ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv"]
        info["nvidia_smi"] = try_value(
            lambda: subprocess.run(query, capture_output=True, text=True, timeout=30).stdout.strip()
        )
    try:
        import cupy

        info["cupy_runtime_version"] = try_value(cupy.cuda.runtime.runtimeGetVersion)
    except ImportError:
        pass
    return info


# --- part 2: the gpu-marked tests ------------------------------------------------

COUNT = re.compile(r"(\d+) (passed|failed|skipped|deselected|errors?|xfailed|xpassed)")


def gpu_tests(toy: bool) -> dict:
    """``pytest -m gpu``; with ``toy``, only collected (they need a real GPU to run)."""
    command = [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider"]
    if toy:
        command.append("--collect-only")
    timeout = 120 if toy else 300
    try:
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=os.environ
        )
        output, returncode = done.stdout + done.stderr, done.returncode
    except subprocess.TimeoutExpired as exc:
        output = "".join(
            part.decode(errors="replace") if isinstance(part, bytes) else (part or "")
            for part in (exc.stdout, exc.stderr)
        )
        output += f"\n(killed after {timeout} s)"
        returncode = None
    lines = [line for line in output.splitlines() if line.strip()]
    summary = next((line for line in reversed(lines) if COUNT.search(line)), "")
    counts = {"passed": 0, "failed": 0, "skipped": 0, "errors": 0, "deselected": 0}
    for number, word in COUNT.findall(summary):
        counts["errors" if word.startswith("error") else word] = int(number)
    result: dict = {
        "command": " ".join(["python", *command[1:]]),
        "returncode": returncode,
        **counts,
        "output_tail": output[-4000:],
    }
    if toy:
        result["collected"] = [line for line in lines if "::" in line]
        ok = returncode == 0 and len(result["collected"]) > 0
    else:
        ok = returncode == 0 and counts["failed"] == 0 and counts["errors"] == 0
        if ok and counts["passed"] == 0:
            ok = False
            result["error"] = "no gpu test ran (all skipped: is nvidia-smi on PATH?)"
    result["status"] = "passed" if ok else "failed"
    return result


# --- part 1: every kernel built for the device ------------------------------------


def compile_table(toy: bool) -> dict:
    """``benchmarks/cuda_build.py`` on the device's architecture (sm_90 on the simulator)."""
    from benchmarks import cuda_build

    arch = (TOY if toy else FULL)["compile_arch"]
    if cuda_build.ptxas_path() is None:
        return {"status": "failed", "error": "no ptxas: pip install -e '.[cuda12,test]'"}
    with tempfile.TemporaryDirectory() as folder:
        report_path = Path(folder, "cuda-build.json")
        env = dict(os.environ)
        env.pop("NUMBA_ENABLE_CUDASIM", None)  # the build itself runs for real
        done = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "cuda_build.py"), "--arch", arch,
             "--json", str(report_path)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if not report_path.exists():
            return {"status": "failed", "error": (done.stdout + done.stderr)[-3000:]}
        built = json.loads(report_path.read_text())
    for row in built["kernels"]:
        if row["variant"] == "as shipped":
            say(
                f"compile: {row['kernel']} [{row['arch']}]: "
                + (row.get("error") or f"{row['registers']} registers,"
                   f" {row['static_shared_bytes']} B shared, {row['occupancy']:.1%} occupancy")
            )  # fmt: skip
    return {
        "status": "passed" if built["ok"] and done.returncode == 0 else "failed",
        "arch": arch,
        "versions": built["versions"],
        "kernels": built["kernels"],
        "failures": built["failures"],
        "table": cuda_build.markdown_table(built["kernels"]),
    }


# --- part 3: cuda and cupy against the NumPy reference ----------------------------


def load_for_check(path: Path, toy: bool, steps: int | None = None):
    """A shipped scenario; at toy sizes cut to a few steps (surges outside dropped) and
    two fleet sizes: the simulator reduces each output row in a Python thread per GPU
    thread, so rows, not trajectories, set its time."""
    from jevons.engine.scenario.loading import scenario_from_dict

    data = tomllib.loads(path.read_text())
    if toy:
        data["horizon"]["steps"] = steps or TOY["compare_steps"]
        data.get("variability", {}).pop("surges", None)
        data.setdefault("simulation", {})["quantiles"] = TOY["quantiles"]
        if "sizes" in data.get("fleet", {}):
            data["fleet"]["sizes"] = data["fleet"]["sizes"][:2]
    return scenario_from_dict(data, str(path))


def variable_kind(dims: tuple[str, ...]) -> str:
    if "time" not in dims:
        return "horizon"
    return "step_quantiles" if "quantile" in dims else "step_means"


def relative_difference(reference, candidate):
    """|candidate - reference| / |reference|, elementwise; 0 where the two are equal
    (NaN where both are NaN), infinite where only one is NaN or the reference is 0."""
    a = np.asarray(reference, dtype=np.float64)
    b = np.asarray(candidate, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(b - a) / np.abs(a)
    rel = np.where(np.isnan(rel) | (a == 0), np.inf, rel)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    return np.where(same, 0.0, rel)


def label(value) -> str:
    """A coordinate value as text: times to the minute, the rest as they print."""
    if isinstance(value, np.datetime64):
        return str(np.datetime_as_string(value, unit="m"))
    return str(value)


def disagreement(reference, candidate) -> dict:
    """The largest relative disagreement between two result datasets, and where."""
    missing = sorted(set(reference.data_vars) ^ set(candidate.data_vars))
    per_variable: dict[str, float] = {}
    by_kind: dict[str, float] = {}
    worst: dict = {"relative": -1.0}
    values = 0
    for name in reference.data_vars:
        if name not in candidate.data_vars:
            continue
        a = reference[name]
        b = candidate[name].transpose(*a.dims)
        rel = relative_difference(a.values, b.values)
        values += rel.size
        largest = float(rel.max()) if rel.size else 0.0
        per_variable[name] = largest
        kind = variable_kind(a.dims)
        by_kind[kind] = max(by_kind.get(kind, 0.0), largest)
        if rel.size and largest > worst["relative"]:
            index = np.unravel_index(int(np.argmax(rel)), rel.shape)
            worst = {
                "relative": largest,
                "variable": name,
                "at": {dim: label(a[dim].values[i]) for dim, i in zip(a.dims, index, strict=True)},
                "numpy": float(a.values[index]),
                "cuda": float(b.values[index]),
            }
    return {
        "variables": len(per_variable),
        "values": values,
        "missing_variables": missing,
        "max_relative": max(worst["relative"], 0.0),
        "worst": worst if worst["relative"] >= 0 else None,
        "max_relative_by_kind": by_kind,
        "max_relative_by_variable": per_variable,
    }


def agrees(candidate, backend: str, found: dict) -> bool:
    """The run was ``backend``'s, has every variable, and is within TOLERANCE everywhere."""
    return (
        candidate.attrs["backend"] == backend
        and not found["missing_variables"]
        and math.isfinite(found["max_relative"])
        and found["max_relative"] <= TOLERANCE
    )


def check_cupy(scenario, n: int) -> dict:
    """The cupy backend against the NumPy reference, at its own size."""
    from jevons.engine.execution.backends import BACKENDS
    from jevons.engine.execution.run import run_scenario
    from jevons.engine.execution.settings import RunSettings

    if not BACKENDS["cupy"].available():
        return {"status": "skipped", "note": "skipped: CuPy is not installed or sees no GPU"}
    settings = {"trajectories": n, "summary": "exact"}
    reference = run_scenario(scenario, RunSettings(backend="numpy", **settings))
    started = time.perf_counter()
    candidate = run_scenario(scenario, RunSettings(backend="cupy", **settings))
    cupy_s = time.perf_counter() - started
    found = disagreement(reference, candidate)
    ok = agrees(candidate, "cupy", found)
    return {"status": "passed" if ok else "failed", "trajectories": n,
            "cupy_s": round(cupy_s, 3), **found}  # fmt: skip


def check_scenario(path: Path, toy: bool, n: int) -> dict:
    from jevons.engine.execution.run import run_scenario
    from jevons.engine.execution.settings import RunSettings

    scenario = load_for_check(path, toy)
    try:
        cupy = check_cupy(scenario, (TOY if toy else FULL)["cupy_compare_trajectories"])
    except Exception as exc:
        cupy = {"status": "failed", **error_record(exc)}
    started = time.perf_counter()
    reference = run_scenario(
        scenario, RunSettings(trajectories=n, backend="numpy", summary="exact")
    )
    numpy_s = time.perf_counter() - started
    started = time.perf_counter()
    candidate = run_scenario(scenario, RunSettings(trajectories=n, backend="cuda", summary="exact"))
    cuda_s = time.perf_counter() - started
    found = disagreement(reference, candidate)
    ok = agrees(candidate, "cuda", found) and cupy["status"] != "failed"
    return {
        "status": "passed" if ok else "failed",
        "cupy": cupy,
        "trajectories": n,
        "steps": int(candidate.attrs["steps"]),
        "quantiles": [float(q) for q in reference["quantile"].values],
        "numpy_s": round(numpy_s, 3),
        "cuda_s": round(cuda_s, 3),
        "cuda_speedup": round(numpy_s / cuda_s, 2) if cuda_s > 0 else None,
        **found,
    }


def cuda_vs_numpy(toy: bool) -> dict:
    from jevons.engine.execution.run import run_scenario
    from jevons.engine.execution.settings import RunSettings

    n = TOY["compare_trajectories"] if toy else FULL["compare_trajectories"]
    result: dict = {"tolerance_relative": TOLERANCE, "trajectories": n, "scenarios": {}}
    if not toy:  # compile once, so that no scenario's time carries it
        started = time.perf_counter()
        seed_table = load_for_check(SCENARIOS / "seed-table.toml", False)
        run_scenario(seed_table, RunSettings(trajectories=1000, backend="cuda", summary="exact"))
        result["compile_s"] = round(time.perf_counter() - started, 3)
        say(f"cuda_vs_numpy: compiled in {result['compile_s']:.1f} s")
    for path in sorted(SCENARIOS.glob("*.toml")):
        try:
            row = check_scenario(path, toy, n)
            worst = row["worst"] or {}
            say(
                f"cuda_vs_numpy: {path.stem}: {row['status']}, largest relative disagreement"
                f" {row['max_relative']:.3g} ({worst.get('variable')} at {worst.get('at')});"
                f" numpy {row['numpy_s']:.2f} s, cuda {row['cuda_s']:.2f} s"
            )
        except Exception as exc:
            row = {"status": "failed", **error_record(exc)}
            say(f"cuda_vs_numpy: {path.stem}: failed: {one_line(row['error'])}")
        result["scenarios"][path.stem] = row
    rows = result["scenarios"].values()
    result["max_relative"] = max((r.get("max_relative", math.inf) for r in rows), default=0.0)
    result["status"] = "passed" if rows and all(r["status"] == "passed" for r in rows) else "failed"
    return result


# --- part 4: throughput rows -----------------------------------------------------


def cupy_note() -> str | None:
    from jevons.engine.execution.backends import BACKENDS

    if importlib.util.find_spec("cupy") is None:
        return "skipped: cupy not installed"
    if not BACKENDS["cupy"].available():
        return "skipped: cupy sees no GPU"
    return None


def throughput_rows(toy: bool, started_at: float) -> dict:
    from benchmarks import throughput as tp

    scenario_path = SCENARIOS / "chat-assistant.toml"
    result: dict = {"scenario": scenario_path.stem, "rows": []}
    if not toy:
        result["timing"] = "one timed run after a warm-up run (compile excluded)"
    rows = result["rows"]
    failed = False
    for kind in ("cuda", "cupy", "philox-cuda"):
        note = cupy_note() if kind == "cupy" else None
        if note is not None:
            rows.append({"backend": kind, "status": "skipped", "note": note})
            say(f"throughput: {kind}: {note}")
            continue
        if toy:
            plan = TOY["philox" if kind.startswith("philox") else "throughput"]
        else:
            plan = FULL["throughput"]
        rates: list[float] = []
        try:
            if not toy and not kind.startswith("philox"):
                tp.time_backend(kind, tp.scenario_with_steps(scenario_path, 3), 1000)
        except Exception as exc:
            failed = True
            rows.append({"backend": kind, "status": "failed", "stage": "warm-up",
                         **error_record(exc)})  # fmt: skip
            say(f"throughput: {kind}: warm-up failed: {one_line(str(exc))}")
            continue
        for steps, n in plan:
            row: dict = {"backend": kind, "steps": steps, "trajectories": n}
            predicted = n * steps / min(rates) if rates else 0.0
            left = TIME_BUDGET_S - SKETCH_RESERVE_S - (time.perf_counter() - started_at)
            if not toy and (predicted > ROW_LIMIT_S or predicted > left):
                row.update(status="skipped", note=f"skipped: predicted {predicted:.0f} s")
                rows.append(row)
                say(f"throughput: {kind} {n:,} x {steps}: {row['note']}")
                continue
            try:
                if toy:
                    scenario = load_for_check(scenario_path, True, steps)
                    seconds = toy_time(tp, kind, scenario, n, steps)
                else:
                    scenario = tp.scenario_with_steps(scenario_path, steps)
                    seconds = tp.measure(kind, scenario, n, steps, 1)
            except Exception as exc:
                failed = True
                row.update(status="failed", **error_record(exc))
                rows.append(row)
                say(
                    f"throughput: {kind} {n:,} x {steps}: {row['status']}: {one_line(row['error'])}"
                )
                continue
            rate = n * steps / seconds
            rates.append(rate)
            row.update(status="measured", seconds=round(seconds, 4),
                       trajectory_steps_per_s=float(f"{rate:.4g}"))  # fmt: skip
            rows.append(row)
            say(f"throughput: {kind} {n:,} x {steps}: {seconds:.3f} s, {rate:.3g} traj-steps/s")
    result["ratios"] = throughput_ratios(rows)
    result["status"] = "failed" if failed else "passed"
    return result


def toy_time(throughput, kind: str, scenario, n: int, steps: int) -> float:
    """One run with no warm-up: the simulator compiles nothing."""
    started = time.perf_counter()
    if kind.startswith("philox"):
        throughput.time_philox(kind, n, steps)
    else:
        throughput.time_backend(kind, scenario, n)
    return time.perf_counter() - started


def throughput_ratios(rows: list[dict]) -> list[dict]:
    """Per size measured on the cuda backend: how it compares with the other rows."""
    seconds = {(r["backend"], r["steps"], r["trajectories"]): r["seconds"]
               for r in rows if r.get("status") == "measured"}  # fmt: skip
    ratios = []
    for (backend, steps, n), cuda_s in seconds.items():
        if backend != "cuda":
            continue
        entry: dict = {"steps": steps, "trajectories": n}
        if ("cupy", steps, n) in seconds:
            entry["cupy_over_cuda"] = round(seconds["cupy", steps, n] / cuda_s, 2)
        if ("philox-cuda", steps, n) in seconds:
            entry["cuda_over_philox_floor"] = round(cuda_s / seconds["philox-cuda", steps, n], 1)
        ratios.append(entry)
    return ratios


# --- part 5: one large sketched run ----------------------------------------------


def sketch_run(toy: bool) -> dict:
    from jevons.engine.execution.run import run_scenario
    from jevons.engine.execution.settings import RunSettings

    sizes = TOY if toy else FULL
    steps, n = sizes["sketch"]
    path = SCENARIOS / f"{sizes['sketch_scenario']}.toml"
    scenario = load_for_check(path, True, steps) if toy else load_for_check(path, False)
    started = time.perf_counter()
    ds = run_scenario(scenario, RunSettings(trajectories=n, backend="cuda", summary="sketch"))
    wall = time.perf_counter() - started
    total = ds["total_tokens"]
    headline = {f"P{round(100 * float(q)):g}": float(total.sel(quantile=q))
                for q in total["quantile"].values}  # fmt: skip
    ok = (
        ds.attrs["backend"] == "cuda"
        and ds.attrs["summary"] == "sketch"
        and int(ds.attrs["steps"]) == steps
        and all(np.isfinite(v) and v > 0 for v in headline.values())
    )
    return {
        "status": "passed" if ok else "failed",
        "scenario": path.stem,
        "trajectories": n,
        "steps": int(ds.attrs["steps"]),
        "summary": ds.attrs["summary"],
        "backend": ds.attrs["backend"],
        "relative_accuracy": ds.attrs.get("relative_accuracy"),
        "wall_s": round(wall, 3),
        "trajectory_steps_per_s": float(f"{n * steps / wall:.4g}"),
        "total_tokens": headline,
    }


# --- main ------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("outdir", type=Path, help=f"folder for {RESULT_NAME} (made if missing)")
    parser.add_argument(
        "--toy", action="store_true", help="toy sizes on Numba's CUDA simulator (no GPU needed)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started_at = time.perf_counter()
    if args.toy:  # before anything imports numba
        os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
    simulator = os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")
    toy = args.toy or simulator  # nothing runs at full size on the simulator
    sys.path.insert(0, str(ROOT))

    args.outdir.mkdir(parents=True, exist_ok=True)
    path = args.outdir / RESULT_NAME
    sizes = TOY if toy else FULL
    report: dict = {
        "mode": "toy (CUDA simulator)" if toy else "gpu",
        "command": " ".join(["python", *sys.argv]),
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "complete": False,
        "versions": versions(),
        "sizes": {key: value for key, value in sizes.items()},
    }
    say(f"mode: {report['mode']}; writing {path}")
    try:
        report["device"] = device_info(simulator)
    except Exception as exc:
        report["device"] = {"available": False, **error_record(exc)}
    say(f"device: {report['device'].get('name')}")
    if not report["device"].get("available"):
        say("no GPU found: the cuda parts will fail (--toy checks the script on the simulator)")
    write_json_atomically(path, report)

    parts = [
        ("compile", compile_table, toy),
        ("gpu_tests", gpu_tests, toy),
        ("cuda_vs_numpy", cuda_vs_numpy, toy),
        ("throughput", throughput_rows, toy, started_at),
        ("sketch", sketch_run, toy),
    ]
    for name, part, *part_args in parts:
        run_part(report, name, part, *part_args)
        write_json_atomically(path, report)

    failed = [name for name, *_ in parts if report[name]["status"] != "passed"]
    report.update(
        complete=True,
        failed_parts=failed,
        ok=not failed,
        wall_s=round(time.perf_counter() - started_at, 3),
    )
    write_json_atomically(path, report)
    say(f"{'all parts passed' if not failed else 'FAILED: ' + ', '.join(failed)};"
        f" {report['wall_s']:.0f} s; wrote {path}")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
