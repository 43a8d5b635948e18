"""Sketches built on the GPU (the CUDA simulator in CI) equal the host's."""

import numpy as np
import pytest

from jevons.engine.execution.run import run_scenario
from jevons.engine.execution.settings import RunSettings
from jevons.engine.scenario.loading import scenario_from_dict
from jevons.engine.summaries.sketch import ZERO_THRESHOLD, RowSketches, SketchSpec
from tests.conftest import requires_gpu


@pytest.mark.slow
@pytest.mark.parametrize("rows_per_launch", [65_535, 3])
def test_device_counts_equal_host_counts(monkeypatch, rows_per_launch):
    """Also with the rows split over launches, as a window of more than 65,535 rows is (the
    grid's y dimension holds at most that many blocks)."""
    from numba import cuda

    from jevons.kernels import cuda_sketch
    from jevons.kernels.cuda_sketch import sketch_rows_on_device

    monkeypatch.setattr(cuda_sketch, "MAX_GRID_Y", rows_per_launch)
    rng = np.random.default_rng(5)
    values = rng.lognormal(2, 3, size=(4, 300))
    values[0, :40] = 0.0
    values[1, ::7] = np.nan
    values[2, :5] = [-0.0, 5e-324, ZERO_THRESHOLD, 1.0, 2.0]
    values[3] = np.nan  # nothing to bucket
    spec = SketchSpec()
    host, device = RowSketches(6, spec), RowSketches(6, spec)
    host.add(values, rows=slice(1, 5))
    zero_bits = int(np.float64(ZERO_THRESHOLD).view(np.int64))
    stats_i, stats_f, counts = sketch_rows_on_device(cuda.to_device(values), spec.shift, zero_bits)
    assert not stats_i[:, 2].any()
    statistics = {
        "value_count": stats_i[:, 0], "zero_count": stats_i[:, 1], "value_sum": stats_f[:, 0],
        "value_min": stats_f[:, 1], "value_max": stats_f[:, 2],
    }  # fmt: skip
    low = np.where(stats_i[:, 3] <= stats_i[:, 4], stats_i[:, 3], 0)
    device.add_counts(slice(1, 5), low, counts, statistics)
    qs = np.linspace(0, 1, 21)
    np.testing.assert_array_equal(device.quantiles(qs), host.quantiles(qs))
    np.testing.assert_array_equal(device.value_count, host.value_count)
    np.testing.assert_array_equal(device.zero_count, host.zero_count)
    np.testing.assert_allclose(device.means(), host.means(), rtol=1e-12, equal_nan=True)


def _small_scenario(hand_dict):
    hand_dict["users"] = {
        "initial": {"dist": "lognormal", "median": 500, "p95": 3000},
        "volatility": 0.2,
    }
    hand_dict["variability"]["count_noise"] = True
    hand_dict["fleet"] = {"policy": "fixed", "sizes": [1, 3]}
    return scenario_from_dict(hand_dict)


@pytest.mark.slow
def test_cuda_backend_sketches_on_the_device(hand_dict):
    scenario = _small_scenario(hand_dict)
    a = run_scenario(scenario, RunSettings(trajectories=24, backend="cpu", summary="sketch"))
    b = run_scenario(
        scenario, RunSettings(trajectories=24, backend="cuda", summary="sketch", chunk=10)
    )
    bound = SketchSpec(scenario.simulation.relative_accuracy).guaranteed_accuracy
    for name in a.data_vars:
        # the two kernels agree to float rounding, so a value on a bucket edge may move
        np.testing.assert_allclose(
            b[name].values, a[name].values, rtol=2 * bound, equal_nan=True, err_msg=name
        )


@pytest.mark.gpu
@requires_gpu
def test_cuda_sketch_at_scale_matches_cpu():
    from jevons.engine.scenario.loading import load_scenario
    from tests.conftest import SCENARIOS

    scenario = load_scenario(SCENARIOS / "agentic-coding.toml")
    a = run_scenario(scenario, RunSettings(trajectories=300_000, backend="cpu", summary="sketch"))
    b = run_scenario(scenario, RunSettings(trajectories=300_000, backend="cuda", summary="sketch"))
    bound = SketchSpec(scenario.simulation.relative_accuracy).guaranteed_accuracy
    for name in a.data_vars:
        np.testing.assert_allclose(b[name].values, a[name].values, rtol=2 * bound, equal_nan=True)
