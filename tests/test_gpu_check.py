"""benchmarks/gpu_check.py, run at toy sizes on Numba's CUDA simulator, so that the
GPU check cannot rot between the runs on a real GPU."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from benchmarks import cuda_build, gpu_check

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"
PARTS = ("compile", "gpu_tests", "cuda_vs_numpy", "throughput", "sketch")


@pytest.mark.slow
def test_toy_run_writes_every_section(tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(out), "--toy"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "[gpu-check] sketch: passed" in done.stdout
    assert [p.name for p in out.iterdir()] == [gpu_check.RESULT_NAME]  # no temp file left
    report = json.loads((out / gpu_check.RESULT_NAME).read_text())

    assert report["complete"] and report["ok"] and report["failed_parts"] == []
    assert report["mode"].startswith("toy")
    assert report["wall_s"] > 0
    assert report["device"]["simulator"] and report["device"]["name"] == "CUDA simulator"
    for package in ("numpy", "numba", "numba_cuda"):
        assert report["versions"][package]
    assert "cupy" in report["versions"]
    sizes = report["sizes"]
    for part in PARTS:
        assert report[part]["status"] == "passed", (part, report[part])
        assert report[part]["seconds"] > 0

    built = report["compile"]
    assert built["arch"] == "sm_90" and built["failures"] == []
    assert {r["kernel"] for r in built["kernels"]} == set(cuda_build.BLOCK_SIZE)
    assert "| `cuda._run_window` | as shipped | sm_90 |" in built["table"]

    tests = report["gpu_tests"]
    assert tests["returncode"] == 0
    assert tests["collected"] and all("::" in test for test in tests["collected"])

    compare = report["cuda_vs_numpy"]
    shipped = sorted(p.stem for p in (ROOT / "scenarios").glob("*.toml"))
    assert sorted(compare["scenarios"]) == shipped
    for name, row in compare["scenarios"].items():
        assert row["trajectories"] == sizes["compare_trajectories"] > 0, name
        assert row["steps"] == sizes["compare_steps"], name
        assert row["variables"] > 0 and row["values"] > row["variables"], name
        assert not row["missing_variables"], name
        assert isinstance(row["max_relative"], float), name
        assert math.isfinite(row["max_relative"]), name
        assert 0 <= row["max_relative"] <= compare["tolerance_relative"] == 1e-9, name
        assert row["worst"]["variable"] in row["max_relative_by_variable"], name
        assert set(row["max_relative_by_kind"]) == {"step_quantiles", "step_means", "horizon"}
        assert row["numpy_s"] > 0 and row["cuda_s"] > 0, name
        # CuPy sees no GPU here: recorded as skipped, and the scenario still passes
        assert row["cupy"]["status"] == "skipped" and "CuPy" in row["cupy"]["note"], name

    rows = {row["backend"]: row for row in report["throughput"]["rows"]}
    assert set(rows) == {"cuda", "cupy", "philox-cuda"}
    cuda = rows["cuda"]
    assert cuda["status"] == "measured"
    assert [cuda["steps"], cuda["trajectories"]] == sizes["throughput"][0]
    assert cuda["seconds"] > 0 and cuda["trajectory_steps_per_s"] > 0
    if rows["cupy"]["status"] == "skipped":
        assert "cupy" in rows["cupy"]["note"]
    assert rows["philox-cuda"]["status"] == "measured"

    sketch = report["sketch"]
    assert [sketch["steps"], sketch["trajectories"]] == sizes["sketch"]
    assert sketch["backend"] == "cuda" and sketch["summary"] == "sketch"
    assert sketch["wall_s"] > 0 and sketch["trajectory_steps_per_s"] > 0
    assert all(value > 0 for value in sketch["total_tokens"].values())


def test_relative_difference_treats_equal_values_and_nans_as_agreeing():
    reference = [1.0, 0.0, np.nan, 0.0, 2.0, np.nan, np.inf]
    candidate = [1.0, 0.0, np.nan, 1e-300, 2.0 * (1 + 1e-12), 3.0, np.inf]
    rel = gpu_check.relative_difference(reference, candidate)
    np.testing.assert_allclose(rel[[0, 1, 2, 6]], 0.0)
    assert rel[3] == np.inf and rel[5] == np.inf
    assert 0.9e-12 < rel[4] < 1.1e-12


def test_disagreement_names_the_worst_variable_and_where():
    quantile, time = [0.5, 0.95], np.array(["2027-01-01", "2027-01-02"], dtype="datetime64[ns]")
    reference = xr.Dataset(
        {
            "users": (("quantile", "time"), [[1.0, 2.0], [3.0, 4.0]]),
            "users_mean": (("time",), [1.0, 2.0]),
            "total_tokens": (("quantile",), [10.0, 20.0]),
        },
        coords={"quantile": quantile, "time": time},
    )
    candidate = reference.copy(deep=True)
    candidate["users"][1, 0] = 3.0 * (1 + 1e-6)
    candidate["total_tokens"][0] = 10.0 * (1 + 1e-8)
    found = gpu_check.disagreement(reference, candidate)
    assert found["variables"] == 3 and found["values"] == 8 and not found["missing_variables"]
    assert math.isclose(found["max_relative"], 1e-6, rel_tol=1e-6)
    assert found["worst"]["variable"] == "users"
    assert found["worst"]["at"] == {"quantile": "0.95", "time": "2027-01-01T00:00"}
    assert found["max_relative_by_kind"]["step_means"] == 0.0
    assert math.isclose(found["max_relative_by_kind"]["horizon"], 1e-8, rel_tol=1e-6)


def test_a_failing_part_is_recorded_and_does_not_stop_the_next():
    report = {}

    def broken():
        raise RuntimeError("no device")

    gpu_check.run_part(report, "first", broken)
    gpu_check.run_part(report, "second", lambda: {"status": "passed"})
    assert report["first"]["status"] == "failed"
    assert report["first"]["error"] == "RuntimeError: no device"
    assert report["second"]["status"] == "passed" and report["second"]["seconds"] >= 0
