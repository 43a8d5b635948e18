"""The roofline estimate against hand arithmetic and brute force.

The decode limits are recomputed here from the specifications' numbers, the
mixture-of-experts weight traffic by enumerating routings, and a scenario on a
pair with no measured point runs on the hand-computed rates.
"""

import itertools
import math
import tomllib
from importlib import resources

import pytest

from jevons.engine.execution.run import run_scenario
from jevons.engine.scenario.loading import scenario_from_dict
from jevons.errors import ScenarioError
from jevons.supply import estimate
from jevons.supply.roofline import DecodeRoofline, replica_gpus

GPUS = tomllib.loads(resources.files("jevons.catalog").joinpath("gpus.toml").read_text())
MODELS = tomllib.loads(resources.files("jevons.catalog").joinpath("models.toml").read_text())


def dense(**overrides):
    fields = dict(
        gpus=1, bandwidth=1e12, memory=80e9, flops=1e18, weight_bytes=10e9,
        active_weight_bytes=10e9, active_parameters=5e9, kv_bytes_per_token=1e5,
    )  # fmt: skip
    return DecodeRoofline(**{**fields, **overrides})


def test_dense_decode_is_bandwidth_bound_by_hand():
    # a step of 1/50 s reads 1e12 / 50 = 2e10 bytes: 1e10 of weights + B x 1e8 of KV -> B = 100
    assert dense().batch(50.0, 1000.0, 1.0, 1.0) == pytest.approx(100.0, rel=1e-9)
    assert dense().decode_rate(50.0, 1000.0, 1.0, 1.0) == pytest.approx(5000.0, rel=1e-9)
    # at 60% of the bandwidth: (1.2e10 - 1e10) / 1e8 = 20 sequences
    assert dense().decode_rate(50.0, 1000.0, 0.6, 1.0) == pytest.approx(20 * 50.0, rel=1e-9)


def test_memory_and_compute_limits_bind_by_hand():
    # memory: (80e9 x 0.9 - 1e10) / 1e8 = 620 sequences, below the 2e10 x 10 / ... bandwidth limit
    roof = dense(bandwidth=1e14)
    assert roof.batch(10.0, 1000.0, 1.0, 1.0) == pytest.approx(620.0, rel=1e-12)
    # compute: 1e15 FLOP/s x 0.5 x 1/10 s per step = 5e13 FLOPs over 2 x 5e9 per token = 5,000,
    # below bandwidth (1e13 - 1e10) / 1e8 = 99,900 and memory (9e11 - 1e10) / 1e8 = 8,900
    roof = dense(bandwidth=1e14, flops=1e15, memory=1e12)
    assert roof.batch(10.0, 1000.0, 1.0, 0.5) == pytest.approx(5000.0, rel=1e-12)


def test_a_memory_capped_batch_runs_at_its_own_step_time():
    """620 sequences fit; their step reads 1e10 + 620 x 1e8 bytes at 1e14 bytes/s = 0.72 ms,
    faster than the 100 ms a 10 tokens/s user needs: 620 / 0.72 ms tokens/s, at any slower
    requirement too (slower service never lowers throughput)."""
    roof = dense(bandwidth=1e14)
    for interactivity in (10.0, 5.0, 1.0):
        rate = roof.decode_rate(interactivity, 1000.0, 1.0, 1.0)
        assert rate == pytest.approx(620 / ((1e10 + 620 * 1e8) / 1e14), rel=1e-12)


def test_highest_interactivity_is_a_batch_of_one():
    # one sequence: (1e10 + 1e8) bytes at 1e12 bytes/s -> 1 / 0.0101 tokens/s
    top = dense().highest_interactivity(1000.0, 1.0, 1.0)
    assert top == pytest.approx(1 / 0.0101, rel=1e-12)
    assert dense().decode_rate(top * 1.001, 1000.0, 1.0, 1.0) == 0.0


def test_mixture_of_experts_weight_traffic_matches_enumerated_routings():
    """8 experts of 1 GB, each token routed to 2: the mean bytes a batch touches, over every
    routing of every token, against W (1 - (1 - 2/8)^B)."""
    roof = dense(weight_bytes=8e9, active_weight_bytes=2e9)
    choices = list(itertools.combinations(range(8), 2))
    for batch in (1, 2, 3):
        routings = list(itertools.product(choices, repeat=batch))
        mean = sum(len(set().union(*r)) for r in routings) / len(routings) * 1e9
        assert roof.touched_weight_bytes(batch) == pytest.approx(mean, rel=1e-12)


@pytest.mark.parametrize(
    ("weights", "memory", "domain", "expected"),
    [
        (141e9, 80e9, 8, 4),  # 141 / 40 = 3.5 -> 4
        (671e9, 141e9, 8, 8),  # wants 16 for half, but fits 8 x 141 x 0.9 = 1,015 GB
        (671e9, 80e9, 8, 16),  # 8 x 72 = 576 GB is too small: two nodes
        (10e9, 80e9, 8, 1),
    ],
)
def test_replica_size_by_hand(weights, memory, domain, expected):
    assert replica_gpus(weights, memory, domain) == expected


def test_prefill_efficiency_is_deepseeks_measurement():
    """73.7k tok/s per 8 H800s against 1,979 TFLOPS / (2 x 37e9)."""
    assert estimate.prefill_efficiency() == pytest.approx(
        73_700 / 8 / (1979e12 / (2 * 37e9)), rel=1e-12
    )


def hand_llama_on_h100(interactivity, context, memory_efficiency=None):
    """Llama 3.1 70B (BF16) on HGX H100, from the catalog's figures."""
    gpu, llama = GPUS["h100-sxm"], MODELS["llama-3.1-70b"]
    params = llama["total_params_b"] * 1e9
    weights = params * 2
    replica = 4  # 141 GB of weights in at most half the memory: 4 x 80 GB
    assert weights <= 0.5 * replica * gpu["memory_gb"] * 1e9 < 2 * weights
    flops = gpu["dense_tflops"]["bf16"] * 1e12
    sequence = context * llama["kv_bytes_per_token"]
    step = 1 / interactivity
    if memory_efficiency is None:
        memory_efficiency = estimate.fitted_decode_efficiency()
    compute_efficiency = estimate.prefill_efficiency()
    bandwidth = replica * gpu["memory_bandwidth_tb_s"] * 1e12 * memory_efficiency * step
    batch = min(
        (bandwidth - weights) / sequence,
        replica * flops * compute_efficiency * step / (2 * params),
        (replica * gpu["memory_gb"] * 1e9 * 0.9 - weights) / sequence,
    )
    prefill = compute_efficiency * flops / (2 * params)
    step = max(
        (weights + batch * sequence)
        / (replica * gpu["memory_bandwidth_tb_s"] * 1e12)
        / memory_efficiency,
        2 * params * batch / (replica * flops * compute_efficiency),
    )  # the step's own time: 1 / interactivity unless memory caps the batch
    return prefill, batch / (replica * step)


def test_a_pair_with_no_measured_point_runs_on_the_estimate(hand_dict):
    hand_dict["supply"]["hardware"] = [{"gpu": "h100-sxm", "model": "llama-3.1-70b"}]
    hand_dict["supply"]["interactivity"] = 30.0
    scenario = scenario_from_dict(hand_dict)
    context = scenario.decode_context_tokens()
    # HAND_SCENARIO: 500 input + 4 calls with 100 more each -> 500 + 100 x E[C(C-1)]/2/E[C]
    # = 650 prompt tokens per call; 200 output + 0.25 x 600 thinking decoded -> 650 + 175
    assert context == pytest.approx(650 + 350 / 2, rel=1e-12)
    prefill, decode = hand_llama_on_h100(30.0, context)
    assert scenario.hardware_rates()[0] == pytest.approx((prefill, decode), rel=1e-9)
    ds = run_scenario(scenario).sel(quantile=0.5, hardware="h100-sxm:llama-3.1-70b")
    assert float(ds.gpu_hours.isel(time=0)) > 0


def test_estimated_pair_beyond_its_reach_names_the_pair(hand_dict):
    hand_dict["supply"]["hardware"] = [{"gpu": "h100-sxm", "model": "llama-3.1-70b"}]
    hand_dict["supply"]["interactivity"] = 5000.0
    with pytest.raises(ScenarioError, match=r"h100-sxm:llama-3.1-70b.*at most \d"):
        scenario_from_dict(hand_dict)


def test_estimated_pair_needs_an_interactivity(hand_dict):
    hand_dict["supply"]["hardware"] = [{"gpu": "h100-sxm", "model": "llama-3.1-70b"}]
    with pytest.raises(ScenarioError, match=r"state supply\.interactivity"):
        scenario_from_dict(hand_dict)


def test_unknown_model_is_named(hand_dict):
    hand_dict["supply"]["hardware"] = [{"gpu": "h100-sxm", "model": "gpt-7"}]
    hand_dict["supply"]["interactivity"] = 30.0
    with pytest.raises(ScenarioError, match="unknown model 'gpt-7'"):
        scenario_from_dict(hand_dict)


def test_check_covers_every_measured_point():
    from jevons.supply.check import check_rows

    table = tomllib.loads(resources.files("jevons.catalog").joinpath("hardware.toml").read_text())
    with_interactivity = [
        p for entry in table.values() for p in entry["points"] if "interactivity" in p
    ]
    rows = check_rows()
    assert len(rows) == len(with_interactivity)
    assert [r.measured for r in rows] == [p["tokens_per_s_per_gpu"] for p in with_interactivity]
    assert all(r.estimated > 0 and math.isfinite(r.error) for r in rows)


def test_drawn_decode_efficiency_gives_each_trajectory_its_roofline_rate(hand_dict):
    import numpy as np

    from jevons.engine.preparation.input_draws import draw_inputs
    from jevons.engine.preparation.plan import build_plan

    key = "h100-sxm:llama-3.1-70b"
    hand_dict["supply"]["hardware"] = [{"gpu": "h100-sxm", "model": "llama-3.1-70b"}]
    hand_dict["supply"]["interactivity"] = 30.0
    hand_dict["supply"]["uncertainty"] = {
        key: {"decode_efficiency": {"dist": "uniform", "low": 0.4, "high": 0.8}}
    }
    scenario = scenario_from_dict(hand_dict)
    inputs = draw_inputs(scenario, np.arange(50, dtype=np.uint64), (7, 0))
    drawn = inputs.hardware["decode_efficiency"][0]
    assert drawn.min() >= 0.4 and drawn.max() <= 0.8 and drawn.std() > 0.05
    decode = build_plan(scenario).decode_rate[0] * inputs.hardware["throughput_factor"][0]
    context = scenario.decode_context_tokens()
    for eta, rate in zip(drawn, decode, strict=True):
        assert rate == pytest.approx(hand_llama_on_h100(30.0, context, eta)[1], rel=1e-9)
    assert (inputs.hardware["prefill_factor"][0] == 1.0).all()


def test_drawn_efficiency_is_only_for_an_estimate(hand_dict):
    hand_dict["supply"]["uncertainty"] = {"test-gpu": {"decode_efficiency": 0.5}}
    with pytest.raises(ScenarioError, match=r"test-gpu\.decode_efficiency: only a roofline"):
        scenario_from_dict(hand_dict)


def test_an_efficiency_too_low_to_reach_the_requirement_is_named(hand_dict):
    key = "h100-sxm:llama-3.1-70b"
    hand_dict["supply"]["hardware"] = [{"gpu": "h100-sxm", "model": "llama-3.1-70b"}]
    hand_dict["supply"]["interactivity"] = 30.0
    hand_dict["supply"]["uncertainty"] = {
        key: {"decode_efficiency": {"dist": "uniform", "low": 0.01, "high": 0.8}}
    }
    with pytest.raises(ScenarioError, match=r"lowest drawn efficiencies \(decode 0\.01,"):
        scenario_from_dict(hand_dict)


def test_a_prefill_efficiency_too_low_for_decode_compute_is_named(hand_dict):
    key = "h100-sxm:llama-3.1-70b"
    hand_dict["supply"]["hardware"] = [{"gpu": "h100-sxm", "model": "llama-3.1-70b"}]
    hand_dict["supply"]["interactivity"] = 30.0
    hand_dict["supply"]["uncertainty"] = {
        key: {"prefill_efficiency": {"dist": "uniform", "low": 0.001, "high": 0.002}}
    }
    with pytest.raises(ScenarioError, match=r"prefill 0\.001\) the roofline cannot reach"):
        scenario_from_dict(hand_dict)


def test_zero_context_still_gives_a_finite_estimate():
    assert dense().decode_rate(50.0, 0.0, 1.0, 1.0) == pytest.approx(
        (2e10 - 1e10) / 1e5 * 50.0, rel=1e-9
    )  # one token of context: 1e5 bytes per sequence
