"""Steps longer than an hour against a plain hour-by-hour calculation.

The calculation here is written from the model's definition, not from the
package: every hour of a step has a calendar weight (hour-of-day x weekday)
and the product of the surges active that day; a step's volume is the sum of
those surged weights, its peak the largest, and a fixed fleet of F GPUs
serves up to F GPUs of work in each hour.
"""

import datetime as dt

import numpy as np
import pytest

from jevons.engine.scenario.loading import scenario_from_dict
from tests.conftest import simulate_per_trajectory

HOUR_WEIGHTS = [0.3, 0.2, 0.2, 0.2, 0.3, 0.5, 0.8, 1.1, 1.3, 1.4, 1.4, 1.4,
                1.3, 1.4, 1.4, 1.3, 1.2, 1.2, 1.3, 1.9, 1.4, 1.2, 0.8, 0.5]  # fmt: skip
WEEKDAY_WEIGHTS = [1.0, 1.1, 1.0, 1.2, 0.9, 0.6, 0.5]  # Monday first
START = dt.date(2027, 3, 3)  # a Wednesday
LAUNCH = {"dist": "uniform", "low": 1.2, "high": 2.5}
PROMO = {"dist": "uniform", "low": 1.5, "high": 3.0}
SURGES = [  # two overlapping surges and a lull that starts mid-week
    ("launch", dt.date(2027, 3, 5), dt.date(2027, 3, 12), LAUNCH),
    ("promo", dt.date(2027, 3, 9), dt.date(2027, 3, 10), PROMO),
    ("lull", dt.date(2027, 3, 21), dt.date(2027, 3, 24), 0.5),
]
USERS, SESSIONS, REQUESTS_PER_SESSION = 20_000.0, 2.0, 3.0
INPUT, OUTPUT = 800.0, 300.0
PREFILL_RATE, DECODE_RATE, UTIL = 4000.0, 150.0, 0.6
FLEETS = [8, 12, 16, 40]


def weekly_scenario(step="7D", steps=5, count_noise=False):
    return scenario_from_dict(
        {
            "name": "hour-by-hour",
            "horizon": {"start": START.isoformat(), "step": step, "steps": steps},
            "simulation": {"trajectories": 16, "seed": 5, "quantiles": [0.5]},
            "users": {"initial": USERS},
            "usage": {
                "sessions_per_user_per_day": SESSIONS,
                "requests_per_session": REQUESTS_PER_SESSION,
                "input_tokens_per_request": INPUT,
                "output_tokens_per_call": OUTPUT,
            },
            "variability": {
                "hour_weights": HOUR_WEIGHTS,
                "weekday_weights": WEEKDAY_WEIGHTS,
                "count_noise": count_noise,
                "surges": [
                    {"name": n, "start": s.isoformat(), "end": e.isoformat(), "multiplier": m}
                    for n, s, e, m in SURGES
                ],
            },
            "supply": {
                "hardware": [
                    {
                        "key": "gpu",
                        "cost_per_gpu_hour": 2.0,
                        "prefill_tokens_per_s": PREFILL_RATE,
                        "decode_tokens_per_s": DECODE_RATE,
                        "power_kw": 1.0,
                    }
                ],
                "target_utilization": UTIL,
            },
            "fleet": {"policy": "fixed", "sizes": FLEETS},
        }
    )


def hour_by_hour(multipliers, step_hours, steps):
    """Per step: requests, peak GPUs, and per fleet unserved tokens, shortfall, breach,
    utilisation, from a loop over every hour. ``multipliers`` {surge name: value}."""
    hw = np.array(HOUR_WEIGHTS) / np.mean(HOUR_WEIGHTS)
    wd = np.array(WEEKDAY_WEIGHTS) / np.mean(WEEKDAY_WEIGHTS)
    start = dt.datetime.combine(START, dt.time())
    rows = []
    for t in range(steps):
        surged = []
        for c in range(step_hours):
            moment = start + dt.timedelta(hours=t * step_hours + c)
            factor = 1.0
            for name, first, last, _ in SURGES:
                if first <= moment.date() <= last:
                    factor *= multipliers[name]
            surged.append(hw[moment.hour] * wd[moment.weekday()] * factor)
        surged = np.array(surged)
        requests_per_hour = USERS * SESSIONS * REQUESTS_PER_SESSION / 24 * surged
        requests = requests_per_hour.sum()
        work_gpu_hours = (requests * INPUT / PREFILL_RATE + requests * OUTPUT / DECODE_RATE) / 3600
        need = work_gpu_hours * surged / surged.sum()  # GPUs busy in each hour
        row = {"requests": requests, "peak_gpus": need.max() / UTIL, "fleet": []}
        for size in FLEETS:
            unserved = np.maximum(need - size, 0.0).sum()
            row["fleet"].append(
                {
                    "unserved_tokens": requests * OUTPUT * unserved / work_gpu_hours,
                    "shortfall": float(need.max() > size),
                    "breach": float(need.max() > UTIL * size),
                    "utilization": (work_gpu_hours - unserved) / (size * step_hours),
                }
            )
        rows.append(row)
    return rows


@pytest.mark.slow
@pytest.mark.parametrize("step", ["7D", "1D", "1h"])
def test_steps_equal_the_hour_by_hour_calculation(backend, step):
    steps = {"7D": 5, "1D": 28, "1h": 24 * 22}[step]  # every surge inside the horizon
    scenario = weekly_scenario(step, steps)
    step_hours = {"7D": 168, "1D": 24, "1h": 1}[step]
    inputs, out, totals = simulate_per_trajectory(scenario, backend.simulate)
    names = [name for name, *_ in SURGES]
    seen_short = seen_clear = 0
    for j in range(scenario.simulation.trajectories):
        multipliers = dict(zip(names, inputs.surge_multipliers[:, j], strict=True))
        expected = hour_by_hour(multipliers, step_hours, steps)
        for t, row in enumerate(expected):
            assert out["requests"][t, j] == pytest.approx(row["requests"], rel=1e-9)
            assert out["peak_gpus"][t, 0, j] == pytest.approx(row["peak_gpus"], rel=1e-9)
            for f, cell in enumerate(row["fleet"]):
                got = out["unserved_tokens"][t, f, 0, j]
                assert got == pytest.approx(cell["unserved_tokens"], rel=1e-9, abs=1e-6)
                assert out["shortfall_probability"][t, f, 0, j] == cell["shortfall"]
                assert out["target_breach_probability"][t, f, 0, j] == cell["breach"]
                got = out["utilization"][t, f, 0, j]
                assert got == pytest.approx(cell["utilization"], rel=1e-9)
                seen_short += cell["shortfall"] == 1.0 and cell["unserved_tokens"] > 0
                seen_clear += cell["shortfall"] == 0.0
        for f in range(len(FLEETS)):
            unserved = sum(row["fleet"][f]["unserved_tokens"] for row in expected)
            short = max(row["fleet"][f]["shortfall"] for row in expected)
            breach = max(row["fleet"][f]["breach"] for row in expected)
            got = totals["total_unserved_tokens"][f, 0, j]
            assert got == pytest.approx(unserved, rel=1e-9, abs=1e-6)
            assert totals["any_shortfall_probability"][f, 0, j] == short
            assert totals["any_target_breach_probability"][f, 0, j] == breach
    assert seen_short and seen_clear  # the fleets straddle the demand: both cases are checked


def test_shortfall_is_positive_exactly_when_work_goes_unserved(backend):
    scenario = weekly_scenario("7D", 5, count_noise=True)
    _, out, _ = simulate_per_trajectory(scenario, backend.simulate)
    short = out["shortfall_probability"] > 0
    np.testing.assert_array_equal(short, out["unserved_tokens"] > 0)
    assert short.any() and not short.all()
