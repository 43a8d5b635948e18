import copy
import os
import shutil
from pathlib import Path

import pytest

from jevons.engine.scenario.loading import scenario_from_dict  # imports no numba.cuda

# Without a GPU the CUDA kernels run on Numba's simulator; this must be set before
# anything imports numba.cuda.
HAS_GPU = shutil.which("nvidia-smi") is not None
if not HAS_GPU:
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
requires_gpu = pytest.mark.skipif(not HAS_GPU, reason="needs an NVIDIA GPU")

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

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


def _simulate_numpy():
    from jevons.kernels.reference import simulate

    return simulate


def _simulate_cpu():
    from jevons.kernels.cpu import simulate

    return simulate


def _simulate_cuda():
    from jevons.kernels.cuda import simulate  # the simulator when there is no GPU

    return simulate


SIMULATORS = {"numpy": _simulate_numpy, "cpu": _simulate_cpu, "cuda": _simulate_cuda}


@pytest.fixture(params=list(SIMULATORS))
def backend(request):
    """(name, simulate) for each backend: the NumPy reference, the CPU kernel, and the CUDA
    kernel (on Numba's simulator without a GPU, so keep sizes small)."""
    return request.param, SIMULATORS[request.param]()
