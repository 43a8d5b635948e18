"""Benchmark points become a prefill and an output-only decode rate that reproduce them.

Expected values are hand arithmetic on the issue's worked example and on each
catalog point's own figures, not the engine's conversion.
"""

import math
import tomllib
from importlib import resources

import pytest

from jevons.engine.execution.run import run_scenario
from jevons.engine.execution.settings import RunSettings
from jevons.engine.scenario.loading import scenario_from_dict
from jevons.errors import ScenarioError
from jevons.supply.points import BenchmarkPoint
from jevons.supply.profiles import HardwareProfile, catalog

TABLE = tomllib.loads(
    resources.files("jevons.catalog").joinpath("hardware.toml").read_text(encoding="utf-8")
)
GPUS = tomllib.loads(
    resources.files("jevons.catalog").joinpath("gpus.toml").read_text(encoding="utf-8")
)


def point(**overrides):
    fields = dict(
        model="deepseek-r1", precision="fp8", input_tokens=8000, output_tokens=1000,
        tokens_per_s_per_gpu=90.0, token_convention="input+output",
    )  # fmt: skip
    return {**fields, **overrides}


def test_worked_example_from_the_issue():
    """8k in / 1k out at 90 tok/s/GPU counting both: 9,000 / 90 = 100 GPU-s per request,
    so after prefill at 9,212 tok/s the decode rate is 1,000 / (100 - 8,000 / 9,212)."""
    profile = HardwareProfile(
        key="x", cost_per_gpu_hour=1.41, power_kw=1.73, prefill_tokens_per_s=9212.0,
        points=[point()],
    )  # fmt: skip
    decode = profile.point_decode_rates()[0]
    assert decode == pytest.approx(1000 / (100 - 8000 / 9212), rel=1e-14)
    assert 8000 / 9212 + 1000 / decode == pytest.approx(100.0, rel=1e-14)


def test_output_only_convention_counts_output_tokens_only():
    """T = 10 output tok/s/GPU: a request of 1,000 output tokens takes 100 GPU-s in all."""
    profile = HardwareProfile(
        key="x", cost_per_gpu_hour=1.0, power_kw=1.0, prefill_tokens_per_s=10_000.0,
        points=[point(tokens_per_s_per_gpu=10.0, token_convention="output")],
    )  # fmt: skip
    assert profile.point_decode_rates()[0] == pytest.approx(1000 / (100 - 0.8), rel=1e-14)


def test_a_point_prefill_alone_cannot_fit_is_an_error_naming_the_profile():
    # 9,000 / 9,000 = 1 GPU-s per request, but 8,000 tokens of prefill at 5,000 tok/s take 1.6 s
    with pytest.raises(ValueError, match=r"hardware 'slow'.*no decode rate reproduces it"):
        HardwareProfile(
            key="slow", cost_per_gpu_hour=1.0, power_kw=1.0, prefill_tokens_per_s=5000.0,
            points=[point(tokens_per_s_per_gpu=9000.0)],
        )  # fmt: skip


def test_a_point_needs_its_token_convention():
    fields = point()
    del fields["token_convention"]
    with pytest.raises(ValueError, match="token_convention"):
        BenchmarkPoint.model_validate(fields)


@pytest.mark.parametrize("rate", [0.0, -5.0])
def test_zero_or_negative_rates_are_refused(rate):
    with pytest.raises(ValueError, match="tokens_per_s_per_gpu"):
        BenchmarkPoint.model_validate(point(tokens_per_s_per_gpu=rate))


def frontier_profile():
    return HardwareProfile(
        key="f", cost_per_gpu_hour=1.0, power_kw=1.0, prefill_tokens_per_s=50_000.0,
        points=[
            point(tokens_per_s_per_gpu=4000.0, interactivity=20.0),
            point(tokens_per_s_per_gpu=1000.0, interactivity=80.0, ttft_s=9.0),
            point(tokens_per_s_per_gpu=100.0, interactivity=160.0, ttft_s=2.0),
        ],
    )  # fmt: skip


def hand_decode(tokens_per_s):
    return 1000 / (9000 / tokens_per_s - 8000 / 50_000)


def test_frontier_is_log_log_linear_between_points():
    profile = frontier_profile()
    d20, d80 = hand_decode(4000.0), hand_decode(1000.0)
    slope = math.log(d80 / d20) / math.log(80 / 20)
    for x in (20.0, 31.0, 55.5, 80.0):
        assert profile.decode_rate(x) == pytest.approx(d20 * (x / 20) ** slope, rel=1e-12)


def test_frontier_is_flat_below_its_slowest_point_and_ends_at_its_fastest():
    profile = frontier_profile()
    assert profile.decode_rate(5.0) == pytest.approx(hand_decode(4000.0), rel=1e-14)
    assert profile.decode_rate(160.0) == pytest.approx(hand_decode(100.0), rel=1e-14)
    with pytest.raises(ValueError, match=r"beyond hardware 'f''s frontier.*at most 160 "):
        profile.decode_rate(161.0)


def test_ttft_limit_leaves_slow_first_tokens_out_of_the_frontier():
    profile = frontier_profile()
    # without the 80 tok/s point (TTFT 9 s), 20 and 160 are neighbours
    d20, d160 = hand_decode(4000.0), hand_decode(100.0)
    slope = math.log(d160 / d20) / math.log(160 / 20)
    assert profile.decode_rate(80.0, ttft_limit=5.0) == pytest.approx(d20 * 4**slope, rel=1e-12)


def shape_scenario(profile_key, entry, interactivity):
    """One step, flat demand, no noise, no cache, no thinking, full utilisation: one request
    shape, that of the point."""
    supply = {"hardware": [profile_key], "target_utilization": 1.0}
    if interactivity is not None:
        supply["interactivity"] = interactivity
    return scenario_from_dict({
        "horizon": {"start": "2027-01-01", "step": "1D", "steps": 1},
        "simulation": {"trajectories": 2, "seed": 3},
        "users": {"initial": 1000},
        "usage": {
            "sessions_per_user_per_day": 1,
            "requests_per_session": 1,
            "input_tokens_per_request": entry["input_tokens"],
            "output_tokens_per_call": entry["output_tokens"],
        },
        "variability": {"count_noise": False},
        "supply": supply,
    })  # fmt: skip


CATALOG_POINTS = [
    (key, k)
    for key, entry in TABLE.items()
    for k, raw in enumerate(entry["points"])
    if "interactivity" in raw or raw.get("headline") or k == 0
]


@pytest.mark.parametrize(("key", "index"), CATALOG_POINTS)
def test_every_catalog_point_reproduces_its_own_cost_per_token(key, index):
    """$/Mtok at the point's shape = $/GPU-hour / (T x 3600) x 1e6 in T's own tokens."""
    entry = TABLE[key]["points"][index]
    price = TABLE[key].get("cost_per_gpu_hour", GPUS[TABLE[key]["gpu"]]["cost_per_gpu_hour"])
    interactivity = entry.get("interactivity")
    if interactivity is None and not (entry.get("headline") or index == 0):
        pytest.skip("no interactivity")
    ds = run_scenario(shape_scenario(key, entry, interactivity), RunSettings(backend="numpy"))
    cost = float(ds["cost"].sel(quantile=0.5, hardware=key).isel(time=0))
    counted = (
        ds["output_tokens"]
        if entry["token_convention"] == "output"
        else (ds["input_tokens"] + ds["output_tokens"])
    )
    tokens = float(counted.sel(quantile=0.5).isel(time=0))
    expected = price / (entry["tokens_per_s_per_gpu"] * 3600) * 1e6
    assert cost / tokens * 1e6 == pytest.approx(expected, rel=1e-12)


def test_seed_table_points_give_the_seed_figures():
    """The seed table's own arithmetic: $1.41 / (90 x 3600) and $2.65 / (6,000 x 3600)."""
    assert 1.41 / (90 * 3600) * 1e6 == pytest.approx(4.3519, abs=1e-4)
    ds = run_scenario(
        scenario_from_dict(tomllib.loads(open("scenarios/seed-table.toml").read())),
        RunSettings(backend="numpy"),
    )
    cost = ds["cost"].sel(quantile=0.5).isel(time=0)
    tokens = (ds["input_tokens"] + ds["output_tokens"]).sel(quantile=0.5).isel(time=0)
    per_mtok = (cost / tokens * 1e6).values
    assert per_mtok == pytest.approx([1.41 / (90 * 3600) * 1e6, 2.65 / (6000 * 3600) * 1e6])
    assert round(per_mtok[0], 2) == 4.35 and round(per_mtok[1], 3) == 0.123


def test_catalog_loads_every_profile():
    assert list(catalog()) == list(TABLE)


def test_interactivity_beyond_a_catalog_frontier_names_the_profile_and_its_reach():
    entry = TABLE["mi355x"]["points"][0]
    top = max(p["interactivity"] for p in TABLE["mi355x"]["points"])
    with pytest.raises(ScenarioError, match=rf"hardware 'mi355x'.*at most {top:g} tokens/s"):
        shape_scenario("mi355x", entry, top * 2)


def test_beyond_a_frontier_cut_by_the_ttft_limit_says_so():
    # a 1 s limit leaves only the 20 tokens/s point (the others state TTFTs of 9 and 2 s)
    with pytest.raises(ValueError, match=r"at most 20 tokens/s per user within supply\.ttft"):
        frontier_profile().decode_rate(30.0, ttft_limit=1.0)
