import copy
import importlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from jevons.engine.scenario.loading import scenario_from_dict  # imports no numba.cuda

# Without a GPU the CUDA kernels run on Numba's simulator; this must be set before
# anything imports numba.cuda.
HAS_GPU = shutil.which("nvidia-smi") is not None
if not HAS_GPU:
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
requires_gpu = pytest.mark.skipif(not HAS_GPU, reason="needs an NVIDIA GPU")

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
TRACES = SCENARIOS / "traces"  # public serving traces, with their sources and licences

# A scenario with no uncertainty at all, small enough to check by hand.
HAND_SCENARIO = {
    "name": "hand",
    "horizon": {"start": "2027-01-04", "step": "1D", "steps": 3},  # a Monday
    "simulation": {"trajectories": 5, "seed": 7, "quantiles": [0.5]},
    "users": {"initial": 1000, "growth_per_month": 0.10},
    "usage": {
        "sessions_per_user_per_day": 2,
        "requests_per_session": 3,
        "input_tokens_per_request": 500,
        "output_tokens_per_call": 200,
    },
    "reasoning": {"share": 0.25, "thinking_tokens": 1000, "budget": 600},
    "agents": {"calls_per_request": 4, "context_growth_per_call": 100},
    "cache": {"hit_rate": 0.5},
    "variability": {"hour_weights": [1] * 12 + [3] + [1] * 11, "count_noise": False},
    "supply": {
        "hardware": [
            {
                "key": "test-gpu",
                "cost_per_gpu_hour": 2.0,
                "decode_tokens_per_s": 100,
                "prefill_tokens_per_s": 1000,
                "power_kw": 1.0,
            }
        ],
        "target_utilization": 0.5,
        "energy_price_per_kwh": 0.1,
    },
}


@pytest.fixture
def hand_dict():
    return copy.deepcopy(HAND_SCENARIO)


@pytest.fixture
def hand_scenario(hand_dict):
    return scenario_from_dict(hand_dict)


@dataclass(frozen=True)
class Backend:
    """A backend under test: the NumPy reference, the CPU kernel or the CUDA kernel.

    Without a GPU the CUDA kernel runs on Numba's simulator, a Python thread per GPU
    thread, so tests size their runs with :meth:`size`.
    """

    name: str

    @property
    def simulate(self):
        module = {"numpy": "reference", "cpu": "cpu", "cuda": "cuda"}[self.name]
        return importlib.import_module(f"jevons.kernels.{module}").simulate

    @property
    def on_simulator(self) -> bool:
        return self.name == "cuda" and not HAS_GPU

    def size(self, full: int, on_simulator: int) -> int:
        return on_simulator if self.on_simulator else full


def _params(names):
    # With a GPU, the cuda cases are the `gpu`-marked ones: `pytest -m gpu` runs them.
    return [
        pytest.param(Backend(n), id=n, marks=[pytest.mark.gpu] if n == "cuda" and HAS_GPU else [])
        for n in names
    ]


@pytest.fixture(params=_params(["numpy", "cpu", "cuda"]))
def backend(request) -> Backend:
    """Each backend in turn."""
    return request.param


@pytest.fixture(params=_params(["cpu", "cuda"]))
def compiled_backend(request) -> Backend:
    """Each compiled backend in turn, for checks against the NumPy reference."""
    return request.param


def simulate_per_trajectory(scenario, simulate, n=None):
    """Run ``simulate`` (a backend's) on ``scenario``; every trajectory's values.

    Returns (inputs, {name: (steps, *lead dims, trajectories)}, {name: totals}).
    """
    from jevons.engine.preparation.input_draws import draw_inputs
    from jevons.engine.preparation.plan import build_plan
    from jevons.kernels.philox import seed_key

    plan = build_plan(scenario)
    key = seed_key(scenario.simulation.seed)
    n = scenario.simulation.trajectories if n is None else n
    trajectories = np.arange(n, dtype=np.uint64)
    inputs = draw_inputs(scenario, trajectories, key)
    store = {}

    def on_window(t0, values):
        for name, array in values.items():
            host = array.copy_to_host() if hasattr(array, "copy_to_host") else array
            store.setdefault(name, []).append(np.array(host))

    totals = simulate(plan, inputs, trajectories, key, on_window)
    totals = {k: v.copy_to_host() if hasattr(v, "copy_to_host") else np.asarray(v)
              for k, v in totals.items()}  # fmt: skip
    return inputs, {k: np.concatenate(v, axis=0) for k, v in store.items()}, totals


def first_trajectory(backend, scenario, n=3):
    """Trajectory 0 of a scenario with one hardware profile, on ``backend``: per-step
    values {name: (steps, [fleet])} and horizon totals {name: scalar or (fleet,)}."""
    _, steps, totals = simulate_per_trajectory(scenario, backend.simulate, n)
    one = {name: values[..., 0] for name, values in steps.items()}
    for name, values in one.items():
        if values.ndim >= 2 and values.shape[-1] == 1:  # the hardware dim
            one[name] = values[..., 0]
    horizon = {name: values[..., 0] for name, values in totals.items()}
    for name, values in horizon.items():
        if values.ndim >= 1 and values.shape[-1] == 1:
            horizon[name] = values[..., 0]
    return one, horizon
