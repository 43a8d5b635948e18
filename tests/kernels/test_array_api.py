"""The reference model on arrays of the array API standard, as CuPy would run it.

``array_api_strict`` implements the standard and nothing else: a call outside
it, or arrays of two devices in one operation, raises. Its arrays are put on
its second device, so anything the model made on the host and mixed in, or
read back to the host without asking, fails here as it would on a GPU.
"""

import copy

import array_api_strict as xps
import numpy as np
import pytest

from jevons.engine.execution.run import run_scenario
from jevons.engine.execution.settings import RunSettings
from jevons.engine.preparation.input_draws import draw_inputs
from jevons.engine.preparation.plan import build_plan
from jevons.engine.scenario.loading import load_scenario
from jevons.engine.summaries.reducers import numpy_reducer
from jevons.kernels import layers, reference
from jevons.kernels.array_api import to_numpy
from jevons.kernels.array_quantiles import array_reducer
from jevons.kernels.contract import TrajectoryInputs
from jevons.kernels.philox import philox4x32, seed_key
from tests.conftest import HAND_SCENARIO, SCENARIOS
from tests.helpers import KNOWN_ANSWERS, calendar_cases, short_scenario

DEVICE = xps.Device("device1")


def on_device(array):
    return xps.asarray(array, device=DEVICE)


def scenarios():
    hourly, weekly = calendar_cases(copy.deepcopy(HAND_SCENARIO))
    return {
        # a fixed fleet and four surges over a year of daily steps
        "enterprise-rag": load_scenario(SCENARIOS / "enterprise-rag.toml"),
        "agentic-coding": short_scenario(SCENARIOS / "agentic-coding.toml", 60),
        # count noise at means below 64 (the exact Poisson inversion), partial surges
        "hourly": hourly,
        "weekly": weekly,
    }


def run(scenario, n, move):
    """Reference outputs by step and totals, each as NumPy, with inputs placed by ``move``."""
    plan = build_plan(scenario)
    key = seed_key(scenario.simulation.seed)
    trajectories = np.arange(7, 7 + n, dtype=np.uint64)
    drawn = draw_inputs(scenario, trajectories, key)
    inputs = TrajectoryInputs(
        values={path: move(values) for path, values in drawn.values.items()},
        surge_multipliers=move(drawn.surge_multipliers),
        hardware={field: move(values) for field, values in drawn.hardware.items()},
    )
    steps = {}
    devices = set()

    def on_window(t0, values):
        for name, array in values.items():
            devices.add(str(getattr(array, "device", "cpu")))
            steps.setdefault(name, []).append(to_numpy(array))

    totals = reference.simulate(plan, inputs, move(trajectories), key, on_window)
    devices.update(str(getattr(array, "device", "cpu")) for array in totals.values())
    steps = {name: np.concatenate(arrays) for name, arrays in steps.items()}
    return steps, {name: to_numpy(array) for name, array in totals.items()}, devices


@pytest.mark.slow
@pytest.mark.parametrize("name", list(scenarios()))
def test_reference_on_standard_arrays_equals_numpy_bit_for_bit(name):
    scenario = scenarios()[name]
    numpy_steps, numpy_totals, _ = run(scenario, 48, np.asarray)
    steps, totals, devices = run(scenario, 48, on_device)
    assert devices == {str(DEVICE)}  # every output was computed on the device
    assert steps.keys() == numpy_steps.keys()
    assert totals.keys() == numpy_totals.keys()
    for name in numpy_steps:
        np.testing.assert_array_equal(steps[name], numpy_steps[name], err_msg=name)
    for name in numpy_totals:
        np.testing.assert_array_equal(totals[name], numpy_totals[name], err_msg=name)


@pytest.mark.parametrize(("counter", "key", "expected"), KNOWN_ANSWERS)
def test_philox_known_answers_on_standard_arrays(counter, key, expected):
    words = philox4x32(tuple(on_device(np.array([c], dtype=np.uint32)) for c in counter), key)
    assert tuple(int(w[0]) for w in words) == expected


def test_poisson_counts_on_standard_arrays_equal_numpy():
    # means on both sides of the exact-inversion cutoff, zero and huge among them
    means = np.concatenate([np.linspace(0.0, 130.0, 2001), [63.999999, 64.0, 1e9]])
    u = (np.arange(len(means)) * 0.618034 + 0.5) % 1.0
    expected = layers.poisson_counts(means, u)
    counts = layers.poisson_counts(on_device(means), on_device(u))
    np.testing.assert_array_equal(to_numpy(counts), expected)


def rows_to_reduce():
    rng = np.random.default_rng(5)
    rows = rng.lognormal(size=(6, 101))
    rows[1, ::7] = np.nan  # NaN marks an undefined ratio: ignored
    rows[2] = np.nan  # all undefined: NaN
    rows[3, :50] = 2.5  # ties
    rows[4, 1:] = np.nan  # one value left
    return rows


@pytest.mark.parametrize("with_nan", [True, False])
def test_array_reducer_equals_numpy_reducer(with_nan):
    rows = rows_to_reduce() if with_nan else rows_to_reduce()[[0, 3, 5]]
    quantiles = np.array([0.0, 0.05, 0.1, 0.5, 0.9, 0.95, 0.99, 1.0])
    expected_q, expected_means = numpy_reducer(rows, quantiles)
    # NumPy has quantile and nanquantile of its own; array_api_strict, like the
    # standard, has neither, and is sorted and interpolated instead.
    for q, means in (array_reducer(rows, quantiles), array_reducer(on_device(rows), quantiles)):
        assert isinstance(q, np.ndarray) and isinstance(means, np.ndarray)
        np.testing.assert_array_equal(q, expected_q)
        np.testing.assert_array_equal(means, expected_means)


@pytest.mark.parametrize("summary", ["exact", "sketch"])
def test_cupy_backend_equals_numpy_backend(hand_dict, monkeypatch, summary):
    """The cupy backend, with array_api_strict's second device standing in for the GPU:
    inputs moved once, every step reduced on the device, the same numbers as NumPy's."""
    import dataclasses
    import types

    from jevons.engine.execution import backends
    from jevons.kernels import cupy_arrays

    stand_in = types.SimpleNamespace(asarray=on_device)
    monkeypatch.setattr(cupy_arrays, "cupy_or_none", lambda: stand_in)
    usable = dataclasses.replace(backends.BACKENDS["cupy"], available=lambda: True)
    monkeypatch.setitem(backends.BACKENDS, "cupy", usable)
    scenario = calendar_cases(hand_dict)[1]
    settings = dict(trajectories=60, summary=summary)
    expected = run_scenario(scenario, RunSettings(backend="numpy", **settings))
    ds = run_scenario(scenario, RunSettings(backend="cupy", **settings))
    assert ds.attrs["backend"] == "cupy"
    assert set(ds.data_vars) == set(expected.data_vars)
    # the numpy backend sketches in Python, the others compiled: sums in another order
    rtol = 0 if summary == "exact" else 1e-12
    for name in expected.data_vars:
        np.testing.assert_allclose(ds[name].values, expected[name].values, rtol, err_msg=name)
