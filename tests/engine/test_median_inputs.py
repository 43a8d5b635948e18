"""One trajectory at the medians of every uncertain input."""

import copy

import pytest
from scipy import stats

from jevons.engine.preparation.input_draws import median_inputs
from jevons.engine.scenario.loading import scenario_from_dict
from tests.conftest import HAND_SCENARIO


def test_each_input_at_its_median():
    data = copy.deepcopy(HAND_SCENARIO)
    data["users"] = {
        "initial": {"dist": "gamma", "mean": 1000, "sd": 400},
        "saturation": {"dist": "uniform", "low": 3000, "high": 5000},
    }
    data["usage"]["requests_per_session"] = {"dist": "empirical", "values": [5, 1, 9, 3]}
    data["reasoning"]["share"] = {"dist": "beta", "mean": 0.2, "sd": 0.1}
    data["variability"]["surges"] = [
        {"name": "s", "start": "2027-01-05", "end": "2027-01-05",
         "multiplier": {"dist": "lognormal", "median": 1.5, "p95": 3}}
    ]  # fmt: skip
    data["supply"]["uncertainty"] = {
        "test-gpu": {"cost_per_gpu_hour": {"dist": "triangular", "low": 1, "mode": 1, "high": 3}}
    }
    data["correlations"] = {"users.initial|reasoning.share": 0.8}
    inputs = median_inputs(scenario_from_dict(data))
    # gamma of shape (mean/sd)^2 = 6.25 and scale sd^2/mean = 160; beta of a = 3, b = 12
    assert inputs["users.initial"][0] == pytest.approx(stats.gamma(6.25, scale=160).median())
    assert inputs["reasoning.share"][0] == pytest.approx(stats.beta(3, 12).median())
    assert inputs["users.saturation"][0] == pytest.approx(4000)
    # the quantile at 0.5 of four equally likely values {1, 3, 5, 9}: the third
    assert inputs["usage.requests_per_session"][0] == 5
    assert inputs.surge_multipliers[0, 0] == pytest.approx(1.5)
    # triangular from 1 to 3 with its mode at 1: F(x) = 1 - (3 - x)^2 / 4 = 1/2
    assert inputs.hardware["cost_per_gpu_hour"][0, 0] == pytest.approx(3 - 2**0.5)
    assert inputs["usage.sessions_per_user_per_day"][0] == 2  # fixed stays fixed
