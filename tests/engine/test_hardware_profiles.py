"""Hardware profiles read from the catalog files: frontiers of points, and overrides.

Expected figures come from the catalog TOML files themselves (read with tomllib)
and hand arithmetic: a point's decode rate is ``OSL / ((ISL + OSL) / T - ISL / P)``
with P DeepSeek's measured prefill (9,212.5 tok/s per H800 at 1,979 dense FP8
TFLOPS) scaled to the GPU's dense FLOP/s; between two points of a frontier the
rate is linear in log-log space.
"""

import itertools
import math
import tomllib
from importlib import resources

import numpy as np
import pytest

from jevons.engine.execution.run import run_scenario
from jevons.engine.scenario.loading import scenario_from_dict
from jevons.errors import ScenarioError
from jevons.supply.profiles import catalog


def catalog_file(name):
    text = resources.files("jevons.catalog").joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


TABLE = catalog_file("hardware")
GPUS = catalog_file("gpus")
CURVED = ["b200-hgx", "gb200-nvl72", "h100-sxm", "mi300x"]
DAYS_PER_MONTH = 365.25 / 12


def hand_prefill(key):
    """DeepSeek-R1 prefill on the profile's GPU: 73,700 / 8 tok/s at 1,979 TFLOPS, scaled."""
    precision = TABLE[key]["points"][0]["precision"]
    return 73_700 / 8 * GPUS[TABLE[key]["gpu"]]["dense_tflops"][precision] / 1979.0


def frontier(key):
    """(interactivity, decode rate reproducing the point), by interactivity."""
    prefill = hand_prefill(key)
    return sorted(
        (p["interactivity"], p["output_tokens"] / (
            (p["input_tokens"] + p["output_tokens"]) / p["tokens_per_s_per_gpu"]
            - p["input_tokens"] / prefill
        ))
        for p in TABLE[key]["points"]
    )  # fmt: skip


def log_log(x, x0, y0, x1, y1):
    """The straight line through (ln x0, ln y0) and (ln x1, ln y1), at ln x."""
    w = (math.log(x) - math.log(x0)) / (math.log(x1) - math.log(x0))
    return math.exp(math.log(y0) + w * (math.log(y1) - math.log(y0)))


@pytest.mark.parametrize("key", CURVED)
def test_catalog_frontier_is_log_log_linear_between_its_points(key):
    profile = catalog()[key]
    points = frontier(key)
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        assert profile.decode_rate(x0) == pytest.approx(y0, rel=1e-12)
        for x in (x0 + 0.5 * (x1 - x0), x0 + 0.1 * (x1 - x0), x1 - 0.01 * (x1 - x0)):
            expected = log_log(x, x0, y0, x1, y1)
            assert profile.decode_rate(x) == pytest.approx(expected, rel=1e-12)
            # plain linear interpolation gives another figure: the test tells them apart
            linear = y0 + (x - x0) / (x1 - x0) * (y1 - y0)
            assert not math.isclose(expected, linear, rel_tol=1e-6)
    with pytest.raises(ValueError, match="beyond"):
        profile.decode_rate(points[-1][0] * (1 + 1e-9))


def hand_tokens(steps=3):
    """HAND_SCENARIO's tokens per step (see tests/kernels/test_model.py)."""
    t = np.arange(steps)
    requests = 1000 * 1.1 ** (t / DAYS_PER_MONTH) * 2 * 3
    calls = 4 * requests
    input_tokens = requests * (500 * 4 + 100 * 4 * 3 / 2)
    prefill = 0.5 * input_tokens  # hit rate 0.5
    decoded = 200 * calls + calls * 0.25 * 600  # output + thinking (capped at 600)
    return prefill, decoded, 200 * calls


def hand_gpu_hours(prefill_rate, decode_rate):
    prefill, decoded, _ = hand_tokens()
    return (prefill / prefill_rate + decoded / decode_rate) / 3600 / 0.5  # utilisation 0.5


@pytest.mark.parametrize("key", CURVED)
@pytest.mark.parametrize("where", ["point", "between"])
def test_run_gpu_hours_use_the_interpolated_decode_rate(hand_dict, key, where):
    (x0, y0), (x1, y1) = frontier(key)[:2]
    if where == "point":
        x, decode = x1, y1
    else:
        x = (x0 + x1) / 2
        decode = log_log(x, x0, y0, x1, y1)
    hand_dict["supply"]["hardware"] = [key]
    hand_dict["supply"]["interactivity"] = x
    ds = run_scenario(scenario_from_dict(hand_dict)).sel(quantile=0.5, hardware=key)
    expected = hand_gpu_hours(hand_prefill(key), decode)
    np.testing.assert_allclose(ds.gpu_hours.values, expected, rtol=1e-12)


@pytest.mark.parametrize("key", CURVED)
def test_scenario_with_interactivity_off_the_curve_is_refused(hand_dict, key):
    hi = frontier(key)[-1][0]
    hand_dict["supply"]["hardware"] = [key]
    hand_dict["supply"]["interactivity"] = hi + 1
    with pytest.raises(ScenarioError, match=rf"beyond hardware '{key}''s frontier.*{hi:g}"):
        scenario_from_dict(hand_dict)


H200 = TABLE["h200-hgx"]


@pytest.mark.parametrize(
    ("entry", "label"),
    [
        ({"base": "h200-hgx", "cost_per_gpu_hour": 1.10}, "h200-hgx-custom"),
        ({"base": "h200-hgx", "cost_per_gpu_hour": 1.10, "key": "mine"}, "mine"),
    ],
)
def test_override_keeps_the_base_figures_and_changes_the_cost(hand_dict, entry, label):
    hand_dict["supply"]["hardware"] = ["h200-hgx", entry]
    scenario = scenario_from_dict(hand_dict)
    base, custom = scenario.supply.hardware
    h200 = GPUS["h200-hgx"]
    assert base.key == "h200-hgx" and base.cost_per_gpu_hour == h200["cost_per_gpu_hour"]
    assert custom.key == label
    assert custom.cost_per_gpu_hour == 1.10
    assert custom.points == base.points and custom.power_kw == h200["power_kw"]
    assert custom.notes == H200["notes"]

    ds = run_scenario(scenario).sel(quantile=0.5)
    assert list(ds.hardware.values) == ["h200-hgx", label]
    seed = H200["points"][0]  # the headline: 90 tok/s/GPU, input + output
    prefill = hand_prefill("h200-hgx")
    decode = seed["output_tokens"] / (
        (seed["input_tokens"] + seed["output_tokens"]) / 90.0 - seed["input_tokens"] / prefill
    )
    gpu_hours = hand_gpu_hours(prefill, decode)
    _, _, output = hand_tokens()
    kwh = gpu_hours * GPUS["h200-hgx"]["power_kw"]
    for key, price in (("h200-hgx", GPUS["h200-hgx"]["cost_per_gpu_hour"]), (label, 1.10)):
        run = ds.sel(hardware=key)
        cost = gpu_hours * price + kwh * 0.1  # energy at $0.1/kWh
        np.testing.assert_allclose(run.gpu_hours.values, gpu_hours, rtol=1e-12)
        np.testing.assert_allclose(run.energy_kwh.values, kwh, rtol=1e-12)
        np.testing.assert_allclose(run.cost.values, cost, rtol=1e-12)
        np.testing.assert_allclose(float(run.total_cost), cost.sum(), rtol=1e-12)
        np.testing.assert_allclose(run.cost_per_mtok.values, cost / output * 1e6, rtol=1e-12)
