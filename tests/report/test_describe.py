"""The napkin view against hand arithmetic, the model and a zero-variance run."""

import copy

import numpy as np
import pytest

from jevons.engine.scenario.loading import load_scenario, scenario_from_dict
from jevons.errors import JevonsError
from jevons.report.describe import describe
from tests.conftest import HAND_SCENARIO, SCENARIOS

DAYS_PER_MONTH = 365.25 / 12

# HAND_SCENARIO (Monday 2027-01-04, three days, no uncertainty) with a surge of 1.5 on its
# second day and bursts of 1.25 inside the busiest hour: that day is the peak.
SURGED = copy.deepcopy(HAND_SCENARIO)
SURGED["variability"]["surges"] = [
    {"name": "launch", "start": "2027-01-05", "end": "2027-01-05", "multiplier": 1.5}
]
SURGED["variability"]["burst_factor"] = 1.25


def hand_chain(
    *, users, sessions, per_session, input_tokens, output_tokens, share, thinking, calls, pairs,
    growth_per_call, hit, prefill_rate, decode_rate, volume, peak_over_mean, burst, util,
):  # fmt: skip
    """The chain worked by hand: {layer: (running value, multiplier)}, per day."""
    requests = users * sessions * per_session
    base = input_tokens + output_tokens  # tokens of a request of one call, no thinking
    reasoned = base + share * thinking
    prompt = input_tokens * calls + growth_per_call * pairs / 2
    decoded = calls * (output_tokens + share * thinking)
    agentic = prompt + decoded
    served = prompt / prefill_rate + decoded / decode_rate  # GPU-s per request
    cached = (1 - hit) * prompt / prefill_rate + decoded / decode_rate
    mean_hour = requests * cached / 86400
    return {
        "users": (users, None),
        "sessions": (users * sessions, sessions),
        "requests": (requests, per_session),
        "tokens": (requests * base, base),
        "reasoning": (requests * reasoned, reasoned / base),
        "agent loops": (requests * agentic, agentic / reasoned),
        "serving rate": (requests * served, served / agentic),
        "prefix cache": (requests * cached, cached / served),
        "mean hour": (mean_hour, 1 / 86400),
        "calendar: weekday and surges": (mean_hour * volume, volume),
        "calendar peak": (mean_hour * volume * peak_over_mean, peak_over_mean),
        "burst": (mean_hour * volume * peak_over_mean * burst, burst),
        "utilisation": (mean_hour * volume * peak_over_mean * burst / util, 1 / util),
    }


def check_chain(described, expected):
    layers = [*described.demand, *next(iter(described.capacity.values()))]
    assert [layer.name for layer in layers] == list(expected)
    for layer in layers:
        value, multiplier = expected[layer.name]
        assert layer.value == pytest.approx(value, rel=1e-12), layer.name
        if multiplier is None:
            assert layer.multiplier is None
        else:
            assert layer.multiplier == pytest.approx(multiplier, rel=1e-12), layer.name


def test_surged_hand_scenario_layer_by_layer():
    described = describe(scenario_from_dict(SURGED), trajectories=0)
    assert described.step == 1 and f"{described.time:%Y-%m-%d}" == "2027-01-05"
    check_chain(
        described,
        hand_chain(
            users=1000 * 1.1 ** (1 / DAYS_PER_MONTH), sessions=2, per_session=3,
            input_tokens=500, output_tokens=200, share=0.25, thinking=600,  # min(1000, 600)
            calls=4, pairs=4 * 3, growth_per_call=100, hit=0.5, prefill_rate=1000,
            decode_rate=100, volume=1.5,
            peak_over_mean=3 * 24 / 26,  # noon's weight over the day's mean weight
            burst=1.25, util=0.5,
        ),
    )  # fmt: skip
    # the multipliers are the scenario's own numbers
    reads = {key: value for layer in described.demand for key, value in layer.reads}
    assert reads["usage.sessions_per_user_per_day"] == 2
    assert reads["usage.requests_per_session"] == 3
    assert reads["E[min(reasoning.thinking_tokens, reasoning.budget)]"] == 600
    assert reads["E[agents.calls_per_request]"] == 4
    gpus = described.capacity["test-gpu"]
    assert {k: v for layer in gpus for k, v in layer.reads}[
        "variability.surges.launch.multiplier"
    ] == 1.5


def test_zero_variance_napkin_equals_simulated_median():
    described = describe(scenario_from_dict(SURGED), trajectories=5, backend="numpy")
    assert described.comparisons
    for row in described.comparisons:
        assert row.simulated_p50 == pytest.approx(row.at_medians, rel=1e-12), row
    peak = next(
        row for row in described.comparisons if row.variable == "peak_gpus" and row.scope == "step"
    )
    assert described.capacity["test-gpu"][-1].value == pytest.approx(peak.simulated_p50, rel=1e-12)
    # cost per token by hand: the day's GPU-hours at $2 plus 1 kW at $0.1 per kWh
    requests = 1000 * 1.1 ** (1 / DAYS_PER_MONTH) * 6 * 1.5
    gpu_hours = requests * (1300 / 1000 + 1400 / 100) / 3600 / 0.5
    tokens = requests * (2600 + 800 + 600)
    cost_all = next(row for row in described.comparisons if row.variable == "cost_per_mtok_all")
    assert cost_all.at_medians == pytest.approx(gpu_hours * 2.1 / tokens * 1e6, rel=1e-12)


def test_uncertain_inputs_enter_at_their_medians():
    """Distributions whose medians are known in closed form; per-step noise (volatility,
    step noise, Poisson counts) is left at its mean of 1."""
    data = copy.deepcopy(SURGED)
    data["users"] = {
        "initial": {"dist": "uniform", "low": 800, "high": 1200},
        "growth_per_month": {"dist": "normal", "mean": 0.1, "sd": 0.02, "low": 0, "high": 0.2},
        "volatility": {"dist": "uniform", "low": 0.1, "high": 0.3},
    }
    data["usage"] = {
        "sessions_per_user_per_day": {"dist": "lognormal", "median": 2, "p95": 4},
        "requests_per_session": {"dist": "triangular", "low": 2, "mode": 3, "high": 4},
        "input_tokens_per_request": {"dist": "uniform", "low": 400, "high": 600},
        "output_tokens_per_call": 200,
    }
    data["reasoning"]["share"] = {"dist": "uniform", "low": 0.2, "high": 0.3}
    data["cache"] = {"hit_rate": {"dist": "uniform", "low": 0.4, "high": 0.6}}
    data["variability"]["step_noise"] = {"dist": "uniform", "low": 0.05, "high": 0.15}
    data["variability"]["count_noise"] = True
    data["variability"]["surges"][0]["multiplier"] = {"dist": "uniform", "low": 1, "high": 2}
    data["supply"]["uncertainty"] = {
        "test-gpu": {"throughput_factor": {"dist": "uniform", "low": 0.5, "high": 1.5}}
    }
    described = describe(scenario_from_dict(data), trajectories=0)
    check_chain(
        described,
        hand_chain(
            users=1000 * 1.1 ** (1 / DAYS_PER_MONTH), sessions=2, per_session=3,
            input_tokens=500, output_tokens=200, share=0.25, thinking=600, calls=4, pairs=12,
            growth_per_call=100, hit=0.5, prefill_rate=1000, decode_rate=100, volume=1.5,
            peak_over_mean=3 * 24 / 26, burst=1.25, util=0.5,
        ),
    )  # fmt: skip
    assert described.noise_medians == pytest.approx(
        {"users.volatility": 0.2, "variability.step_noise": 0.1}
    )
    assert described.count_noise


# Hourly steps, a fixed fleet, and a roofline estimate whose drawn efficiency moves its rates.
HOURLY = copy.deepcopy(HAND_SCENARIO)
HOURLY["horizon"] = {"start": "2027-01-04", "step": "1h", "steps": 48}
HOURLY["fleet"] = {"policy": "fixed", "sizes": [1, 10]}
HOURLY["users"]["volatility"] = {"dist": "uniform", "low": 0.05, "high": 0.15}
HOURLY["supply"]["hardware"] = ["h200-hgx", {"gpu": "h100-sxm", "model": "llama-3.1-70b"}]
HOURLY["supply"]["interactivity"] = 20.0
HOURLY["supply"]["uncertainty"] = {
    "h100-sxm:llama-3.1-70b": {"decode_efficiency": {"dist": "uniform", "low": 0.4, "high": 0.8}}
}
CASES = {p.stem: p for p in sorted(SCENARIOS.glob("*.toml"))} | {"hourly": HOURLY}


@pytest.mark.parametrize("name", list(CASES))
def test_chain_ends_on_the_model_at_the_medians(name):
    """Every shipped scenario and an hourly one: the chain's peak GPUs are the NumPy
    reference's at the medians, and its tokens a day, over the step's days and calendar,
    the model's tokens."""
    case = CASES[name]
    scenario = scenario_from_dict(case) if isinstance(case, dict) else load_scenario(case)
    described = describe(scenario, trajectories=0)
    at = {(row.variable, row.hardware): row.at_medians for row in described.comparisons
          if row.scope == "step"}  # fmt: skip
    tokens = sum(at[(k, None)] for k in ("input_tokens", "output_tokens", "thinking_tokens"))
    for hardware, layers in described.capacity.items():
        assert layers[-1].value == pytest.approx(at[("peak_gpus", hardware)], rel=1e-12)
        volume = dict(layers[3].reads)["mean hourly weight of the step"]
        days = described.step_hours / 24
        assert described.demand[-1].value * days * volume == pytest.approx(tokens, rel=1e-12)
    peaks = [row.at_medians for row in described.comparisons if row.variable == "max_peak_gpus"]
    first = next(iter(described.capacity.values()))
    assert first[-1].value == pytest.approx(peaks[0], rel=1e-12)  # the peak step


def test_step_choices():
    scenario = scenario_from_dict(SURGED)
    assert describe(scenario, trajectories=0, at="start").step == 0
    assert describe(scenario, trajectories=0, at="end").step == 2
    assert describe(scenario, trajectories=0, at="2027-01-06").step == 2
    for bad in ("2027-01-03", "2027-01-07", "soon"):
        with pytest.raises(JevonsError, match="--at"):
            describe(scenario, trajectories=0, at=bad)


def test_price_response_layer_under_a_markup():
    """A price at a markup over cost falls with the $/GPU-hour, and demand answers:
    requests x ((1 - d)^years)^(-elasticity)."""
    data = copy.deepcopy(HAND_SCENARIO)
    data["horizon"] = {"start": "2027-01-04", "step": "7D", "steps": 60}
    data["supply"]["price_decline_per_year"] = 0.3
    data["monetization"] = {"markup": 1.0, "elasticity": 1.5}
    described = describe(scenario_from_dict(data), trajectories=0, at="end")
    layers = {layer.name: layer for layer in described.demand}
    years = 59 * 7 * 24 / (365.25 * 24)
    assert layers["price response"].multiplier == pytest.approx(0.7 ** (-1.5 * years), rel=1e-12)
    assert np.isclose(dict(layers["price response"].reads)["years elapsed"], years)
