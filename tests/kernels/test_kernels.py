"""The compiled kernels against the NumPy reference, on the same random numbers."""


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jevons.engine.execution.run import run_scenario
from jevons.engine.execution.settings import RunSettings
from jevons.engine.preparation.input_draws import draw_inputs
from jevons.engine.preparation.plan import build_plan
from jevons.engine.scenario.loading import load_scenario, scenario_from_dict
from jevons.kernels import cpu, reference
from jevons.kernels.philox import philox4x32, seed_key
from jevons.kernels.scalar_rng import normal, philox4x32_10, uniform
from jevons.kernels.variates import normal_from_word, uniform_from_word
from tests.conftest import SCENARIOS, requires_gpu
from tests.helpers import calendar_cases, short_scenario

SHIPPED = sorted(SCENARIOS.glob("*.toml"))
words32 = st.integers(min_value=0, max_value=2**32 - 1)


@settings(max_examples=200, deadline=None)
@given(st.tuples(words32, words32, words32, words32), st.tuples(words32, words32))
def test_scalar_philox_is_bit_identical_to_numpy(counter, key):
    scalar = philox4x32_10(*(np.uint64(c) for c in counter), np.uint64(key[0]), np.uint64(key[1]))
    vector = philox4x32(counter, key)
    assert [int(x) for x in scalar] == [int(x) for x in vector]


@settings(max_examples=200, deadline=None)
@given(words32)
def test_scalar_transforms_match_numpy(word):
    w = np.array([word], dtype=np.uint32)
    assert uniform(np.uint64(word)) == uniform_from_word(w)[0]  # bit-identical
    assert normal(np.uint64(word)) == pytest.approx(normal_from_word(w)[0], rel=1e-14, abs=1e-15)


def collect(store):
    def on_window(t0, values):
        for name, array in values.items():
            host = array.copy_to_host() if hasattr(array, "copy_to_host") else array
            store.setdefault(name, []).append(np.array(host))

    return on_window


def run_both(scenario, n, simulate, first=0):
    plan = build_plan(scenario)
    key = seed_key(scenario.simulation.seed)
    trajectories = np.arange(first, first + n, dtype=np.uint64)
    inputs = draw_inputs(scenario, trajectories, key)
    ref, fast = {}, {}
    ref_totals = reference.simulate(plan, inputs, trajectories, key, collect(ref))
    fast_totals = simulate(plan, inputs, trajectories, key, collect(fast))
    ref = {k: np.concatenate(v, axis=0) for k, v in ref.items()}
    fast = {k: np.concatenate(v, axis=0) for k, v in fast.items()}
    return ref, fast, ref_totals, fast_totals


def assert_same(ref, fast, rtol=1e-9):
    assert ref.keys() == fast.keys()
    for name in ref:
        np.testing.assert_allclose(
            fast[name], ref[name], rtol=rtol, atol=0, equal_nan=True, err_msg=name
        )


def shipped_case(backend, path):
    """(scenario, trajectories, first) for a shipped scenario on ``backend``: whole on the
    CPU or a GPU, cut to a few steps on the CUDA simulator."""
    if backend.on_simulator:
        return short_scenario(path, 6), 24, 5
    return load_scenario(path), 400, 0


@pytest.mark.slow
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_kernel_equals_reference_per_trajectory(compiled_backend, path):
    scenario, n, first = shipped_case(compiled_backend, path)
    ref, fast, ref_totals, fast_totals = run_both(scenario, n, compiled_backend.simulate, first)
    assert_same(ref, fast)
    assert_same(ref_totals, fast_totals)


@pytest.mark.slow
def test_cpu_kernel_chunks_see_the_same_trajectories():
    scenario = load_scenario(SCENARIOS / "chat-assistant.toml")
    _, whole, _, _ = run_both(scenario, 300, cpu.simulate)
    _, tail, _, _ = run_both(scenario, 100, cpu.simulate, first=200)
    for name in whole:
        np.testing.assert_array_equal(whole[name][..., 200:], tail[name])


@pytest.mark.slow
def test_window_size_does_not_change_results():
    from jevons.kernels import step_windows

    scenario = load_scenario(SCENARIOS / "agentic-coding.toml")
    _, big, _, _ = run_both(scenario, 200, cpu.simulate)

    def one_step_windows(plan, inputs, trajectories, key, on_window):
        return step_windows.simulate_in_windows(
            plan, inputs, trajectories, key, on_window, cpu.HostCores(), 1
        )

    _, small, _, _ = run_both(scenario, 200, one_step_windows)
    for name in big:
        np.testing.assert_array_equal(big[name], small[name])


@pytest.mark.slow
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_backends_give_the_same_percentiles(compiled_backend, path):
    """End to end, percentiles included (reduced on the device for cuda)."""
    if compiled_backend.on_simulator:
        pytest.skip(
            "reducing every shipped scenario on the CUDA simulator takes minutes; "
            "test_end_to_end_with_reductions_where_the_backend_runs covers it there"
        )
    scenario, n = load_scenario(path), 500
    a = run_scenario(scenario, RunSettings(trajectories=n, backend="numpy"))
    b = run_scenario(scenario, RunSettings(trajectories=n, backend=compiled_backend.name))
    assert b.attrs["backend"] == compiled_backend.name
    for name in a.data_vars:
        np.testing.assert_allclose(
            b[name].values, a[name].values, rtol=1e-9, equal_nan=True, err_msg=name
        )


def test_kernel_with_surges_and_fleet(compiled_backend, hand_dict):
    hand_dict["variability"]["surges"] = [
        {
            "name": "launch",
            "start": "2027-01-05",
            "end": "2027-01-05",
            "multiplier": {"dist": "uniform", "low": 1, "high": 3},
        }
    ]
    hand_dict["variability"]["count_noise"] = True
    hand_dict["users"] = {
        "initial": {"dist": "lognormal", "median": 50, "p95": 500},
        "volatility": 0.3,
    }
    hand_dict["fleet"] = {"policy": "fixed", "sizes": [1, 2, 50]}
    n = compiled_backend.size(300, 16)
    scenario = scenario_from_dict(hand_dict)
    ref, fast, ref_totals, fast_totals = run_both(scenario, n, compiled_backend.simulate)
    assert_same(ref, fast)
    assert_same(ref_totals, fast_totals)


@pytest.mark.gpu
@requires_gpu
def test_cuda_backend_matches_cpu_at_scale():
    """On a real GPU: the full CUDA path, at a size the simulator could not run."""
    scenario = load_scenario(SCENARIOS / "agentic-coding.toml")
    a = run_scenario(scenario, RunSettings(trajectories=100_000, backend="cpu"))
    b = run_scenario(scenario, RunSettings(trajectories=100_000, backend="cuda"))
    for name in a.data_vars:
        np.testing.assert_allclose(
            b[name].values, a[name].values, rtol=1e-9, equal_nan=True, err_msg=name
        )


@pytest.mark.slow
def test_end_to_end_with_reductions_where_the_backend_runs(compiled_backend, hand_dict):
    """run_scenario end to end: for cuda, model and percentiles both on the (simulated) GPU."""
    hand_dict["users"] = {
        "initial": {"dist": "lognormal", "median": 500, "p95": 3000},
        "volatility": 0.2,
    }
    hand_dict["variability"]["count_noise"] = True
    hand_dict["simulation"]["quantiles"] = [0.1, 0.5, 0.9]
    hand_dict["fleet"] = {"policy": "fixed", "sizes": [1, 3]}
    scenario = scenario_from_dict(hand_dict)
    a = run_scenario(scenario, RunSettings(trajectories=40, backend="numpy"))
    b = run_scenario(scenario, RunSettings(trajectories=40, backend=compiled_backend.name))
    assert b.attrs["backend"] == compiled_backend.name
    for name in a.data_vars:
        np.testing.assert_allclose(
            b[name].values, a[name].values, rtol=1e-9, equal_nan=True, err_msg=name
        )


@pytest.mark.parametrize("case", [0, 1], ids=["hourly", "weekly"])
def test_compiled_kernels_on_hourly_and_weekly_calendars(compiled_backend, hand_dict, case):
    scenario = calendar_cases(hand_dict)[case]
    n = compiled_backend.size(300, 12)
    ref, fast, ref_totals, fast_totals = run_both(scenario, n, compiled_backend.simulate)
    assert_same(ref, fast)
    assert_same(ref_totals, fast_totals)
