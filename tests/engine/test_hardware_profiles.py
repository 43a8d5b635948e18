"""Hardware profiles read from the catalog file: decode curves and overrides.

Expected figures come from ``hardware.toml`` itself (read with tomllib) and
from hand arithmetic; the rate between two points of a decode curve is the
documented interpolation, linear in log-log space.
"""

import itertools
import math
import tomllib
from importlib import resources

import numpy as np
import pytest

from jevons.catalog import catalog
from jevons.engine.execution.run import run_scenario
from jevons.engine.scenario.loading import scenario_from_dict
from jevons.errors import ScenarioError

TABLE = tomllib.loads(
    resources.files("jevons.catalog").joinpath("hardware.toml").read_text(encoding="utf-8")
)
CURVED = ["b200-hgx", "gb200-nvl72", "h100-sxm", "mi300x"]
DAYS_PER_MONTH = 365.25 / 12


def test_the_documented_profiles_are_the_ones_with_curves():
    assert sorted(k for k, entry in TABLE.items() if "decode_curve" in entry) == sorted(CURVED)


def log_log(x, x0, y0, x1, y1):
    """The straight line through (ln x0, ln y0) and (ln x1, ln y1), at ln x."""
    w = (math.log(x) - math.log(x0)) / (math.log(x1) - math.log(x0))
    return math.exp(math.log(y0) + w * (math.log(y1) - math.log(y0)))


@pytest.mark.parametrize("key", CURVED)
def test_decode_rate_at_curve_points_is_the_table_value(key):
    profile = catalog()[key]
    for x, y in TABLE[key]["decode_curve"]:
        assert profile.decode_rate(x) == pytest.approx(y, rel=1e-13)
    # without an interactivity, the profile's headline figure
    assert profile.decode_rate(None) == TABLE[key]["decode_tokens_per_s"]


@pytest.mark.parametrize("key", CURVED)
def test_decode_rate_between_points_is_log_log_linear(key):
    profile = catalog()[key]
    curve = TABLE[key]["decode_curve"]
    for (x0, y0), (x1, y1) in itertools.pairwise(curve):
        for x in (x0 + 0.5 * (x1 - x0), x0 + 0.1 * (x1 - x0), x1 - 0.01 * (x1 - x0)):
            expected = log_log(x, x0, y0, x1, y1)
            assert profile.decode_rate(x) == pytest.approx(expected, rel=1e-12)
            # a power law between neighbours: y0 (x / x0)^slope, slope from the two points
            slope = math.log(y1 / y0) / math.log(x1 / x0)
            assert profile.decode_rate(x) == pytest.approx(y0 * (x / x0) ** slope, rel=1e-12)
            # plain linear interpolation gives another figure: the test tells them apart
            linear = y0 + (x - x0) / (x1 - x0) * (y1 - y0)
            assert not math.isclose(expected, linear, rel_tol=1e-6)


@pytest.mark.parametrize("key", CURVED)
def test_interactivity_outside_the_curve_is_refused(key):
    profile = catalog()[key]
    curve = TABLE[key]["decode_curve"]
    lo, hi = curve[0][0], curve[-1][0]
    for x in (lo * (1 - 1e-9), hi * (1 + 1e-9), lo / 2, hi * 2):
        with pytest.raises(ValueError, match="outside"):
            profile.decode_rate(x)


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
    curve = TABLE[key]["decode_curve"]
    (x0, y0), (x1, y1) = curve[0], curve[1]
    if where == "point":
        x, decode = x1, y1
    else:
        x = (x0 + x1) / 2
        decode = log_log(x, x0, y0, x1, y1)
    hand_dict["supply"]["hardware"] = [key]
    hand_dict["supply"]["interactivity"] = x
    ds = run_scenario(scenario_from_dict(hand_dict)).sel(quantile=0.5, hardware=key)
    expected = hand_gpu_hours(TABLE[key]["prefill_tokens_per_s"], decode)
    np.testing.assert_allclose(ds.gpu_hours.values, expected, rtol=1e-12)


@pytest.mark.parametrize("key", CURVED)
def test_scenario_with_interactivity_off_the_curve_is_refused(hand_dict, key):
    hi = TABLE[key]["decode_curve"][-1][0]
    hand_dict["supply"]["hardware"] = [key]
    hand_dict["supply"]["interactivity"] = hi + 1
    with pytest.raises(ScenarioError, match=r"supply\.interactivity.*outside"):
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
    assert base.key == "h200-hgx" and base.cost_per_gpu_hour == H200["cost_per_gpu_hour"]
    assert custom.key == label
    assert custom.cost_per_gpu_hour == 1.10
    for field in ("decode_tokens_per_s", "prefill_tokens_per_s", "power_kw", "name", "model"):
        assert getattr(custom, field) == H200[field], field
    assert custom.source == H200["source"]

    ds = run_scenario(scenario).sel(quantile=0.5)
    assert list(ds.hardware.values) == ["h200-hgx", label]
    gpu_hours = hand_gpu_hours(H200["prefill_tokens_per_s"], H200["decode_tokens_per_s"])
    _, _, output = hand_tokens()
    kwh = gpu_hours * H200["power_kw"]
    for key, price in (("h200-hgx", H200["cost_per_gpu_hour"]), (label, 1.10)):
        run = ds.sel(hardware=key)
        cost = gpu_hours * price + kwh * 0.1  # energy at $0.1/kWh
        np.testing.assert_allclose(run.gpu_hours.values, gpu_hours, rtol=1e-12)
        np.testing.assert_allclose(run.energy_kwh.values, kwh, rtol=1e-12)
        np.testing.assert_allclose(run.cost.values, cost, rtol=1e-12)
        np.testing.assert_allclose(float(run.total_cost), cost.sum(), rtol=1e-12)
        np.testing.assert_allclose(run.cost_per_mtok.values, cost / output * 1e6, rtol=1e-12)
