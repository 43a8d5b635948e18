"""Monetization and the Jevons effect: revenue, gross margin, the chance of a loss, and
demand that answers a price following cost down, checked against hand arithmetic."""

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from jevons.cli.main import app
from jevons.engine.execution.run import run_scenario
from jevons.engine.execution.settings import RunSettings
from jevons.engine.scenario.loading import scenario_from_dict
from jevons.engine.scenario.source import scenario_toml
from jevons.kernels import reference
from jevons.kernels.layout import DEMAND, SUPPLY
from tests.conftest import simulate_per_trajectory

HOURS_PER_YEAR = 365.25 * 24

# The hand scenario's request shape (tests/conftest.py), worked out by hand: 4 calls per
# request, each reading 500 tokens, plus 100 appended per later call: 4 x 500 +
# 100 x (0 + 1 + 2 + 3) = 2600 input tokens, half cached: 1300 prefilled. Output 4 x 200 =
# 800; thinking 4 x 0.25 x min(1000, 600) = 600, so 1400 decoded.
PREFILL_PER_REQUEST = 1300.0
OUTPUT_PER_REQUEST = 800.0
DECODED_PER_REQUEST = 1400.0
# GPU-hours per request at 1000 prefill and 100 decode tokens/s, 50% utilisation.
GPU_HOURS_PER_REQUEST = (PREFILL_PER_REQUEST / 1000 + DECODED_PER_REQUEST / 100) / 3600 / 0.5
GPU_PRICE, ENERGY_PRICE = 2.0, 1.0 * 0.1  # USD per GPU-hour; 1 kW at 0.1 USD per kWh
# Cost per million output tokens at the start: 0.0085 GPU-h x 2.1 USD / 800 tokens.
NOMINAL_COST_PER_MTOK = GPU_HOURS_PER_REQUEST * (GPU_PRICE + ENERGY_PRICE) / 800 * 1e6


def flat(hand_dict, decline=0.0):
    """The hand scenario without growth or calendar shape: 6000 requests a day."""
    hand_dict["users"]["growth_per_month"] = 0.0
    hand_dict["variability"]["hour_weights"] = [1] * 24
    hand_dict["supply"]["price_decline_per_year"] = decline
    return hand_dict


def noisy(hand_dict):
    hand_dict["users"]["volatility"] = 0.3
    hand_dict["variability"]["step_noise"] = 0.2
    hand_dict["variability"]["count_noise"] = True
    hand_dict["users"]["initial"] = 20  # few requests: the Poisson counts matter
    hand_dict["supply"]["price_decline_per_year"] = {"dist": "uniform", "low": 0.1, "high": 0.5}
    return hand_dict


def test_nominal_cost_is_worked_out_by_hand():
    assert NOMINAL_COST_PER_MTOK == pytest.approx(22.3125, rel=1e-12)


@pytest.mark.parametrize(
    "monetization",
    [
        {"markup": 0.5, "elasticity": 0.0},
        {"markup": {"dist": "uniform", "low": 0.0, "high": 1.0}},
        # a fixed price never moves, so no elasticity moves demand
        {"price_per_mtok": 30.0, "elasticity": {"dist": "uniform", "low": 0.5, "high": 2.0}},
    ],
)
def test_demand_unchanged_where_the_price_does_not_move_it(backend, hand_dict, monetization):
    n = backend.size(40, 6)
    plain = scenario_from_dict(noisy(hand_dict))
    hand_dict["monetization"] = monetization
    priced = scenario_from_dict(hand_dict)
    _, before, before_totals = simulate_per_trajectory(plain, backend.simulate, n)
    _, after, after_totals = simulate_per_trajectory(priced, backend.simulate, n)
    assert before["requests"].std() > 0  # the check has noise to lose
    for name in DEMAND + SUPPLY:
        if name in before:
            assert np.array_equal(before[name], after[name], equal_nan=True), name
    for name, values in before_totals.items():
        assert np.array_equal(values, after_totals[name], equal_nan=True), name
    assert "revenue" not in before and "loss_probability" not in before_totals
    assert "revenue" in after and "loss_probability" in after_totals


@pytest.mark.parametrize("decline, elasticity", [(0.3, 1.5), (0.5, 0.7), (-0.2, 2.0)])
def test_markup_price_follows_cost_and_demand_answers(backend, hand_dict, decline, elasticity):
    flat(hand_dict, decline)
    markup = 0.25
    hand_dict["monetization"] = {"markup": markup, "elasticity": elasticity}
    scenario = scenario_from_dict(hand_dict)
    _, steps, totals = simulate_per_trajectory(scenario, backend.simulate, 2)

    years = np.arange(3) * 24 / HOURS_PER_YEAR
    price_factor = (1.0 - decline) ** years
    requests = 6000.0 * price_factor ** (-elasticity)
    np.testing.assert_allclose(steps["requests"][:, 0], requests, rtol=1e-12)

    price_per_mtok = NOMINAL_COST_PER_MTOK * (1 + markup) * price_factor
    revenue = requests * OUTPUT_PER_REQUEST * price_per_mtok / 1e6
    cost = requests * GPU_HOURS_PER_REQUEST * (GPU_PRICE * price_factor + ENERGY_PRICE)
    np.testing.assert_allclose(steps["revenue"][:, 0, 0], revenue, rtol=1e-12)
    np.testing.assert_allclose(steps["gross_margin"][:, 0, 0], revenue - cost, rtol=1e-10)
    np.testing.assert_allclose(totals["total_revenue"][0, 0], revenue.sum(), rtol=1e-12)
    np.testing.assert_allclose(
        totals["total_gross_margin"][0, 0], (revenue - cost).sum(), rtol=1e-10
    )
    assert totals["loss_probability"][0, 0] == 0.0


def test_fixed_price_revenue_and_margin(backend, hand_dict):
    flat(hand_dict, 0.3)
    hand_dict["monetization"] = {"price_per_mtok": 15.0, "elasticity": 3.0}
    _, steps, totals = simulate_per_trajectory(scenario_from_dict(hand_dict), backend.simulate, 2)
    years = np.arange(3) * 24 / HOURS_PER_YEAR
    revenue = 6000.0 * OUTPUT_PER_REQUEST * 15.0 / 1e6
    cost = 6000.0 * GPU_HOURS_PER_REQUEST * (GPU_PRICE * (0.7**years) + ENERGY_PRICE)
    np.testing.assert_allclose(steps["requests"][:, 0], 6000.0, rtol=1e-12)
    np.testing.assert_allclose(steps["revenue"][:, 0, 0], revenue, rtol=1e-12)
    np.testing.assert_allclose(steps["gross_margin"][:, 0, 0], revenue - cost, rtol=1e-10)
    # 15 USD against a cost of 22.31 per million output tokens: a loss
    assert totals["loss_probability"][0, 0] == 1.0


def test_loss_probability_counts_losing_trajectories(hand_dict):
    flat(hand_dict)
    hand_dict["simulation"] = {"trajectories": 400, "seed": 3, "quantiles": [0.5]}
    hand_dict["monetization"] = {"price_per_mtok": {"dist": "uniform", "low": 10, "high": 40}}
    ds = run_scenario(
        scenario_from_dict(hand_dict), RunSettings(backend="numpy", keep_trajectories=True)
    )
    revenue = ds.trajectory_total_revenue.sel(hardware="test-gpu").values
    cost = ds.trajectory_total_cost.sel(hardware="test-gpu").values
    losing = np.mean(revenue - cost < 0)
    # the price is fixed and the cost per output token constant: a loss below 22.3125
    price = ds.drawn_monetization_price_per_mtok.values
    assert losing == np.mean(price < NOMINAL_COST_PER_MTOK)
    assert 0.3 < losing < 0.5  # (22.3125 - 10) / 30 = 0.41
    assert float(ds.loss_probability.sel(hardware="test-gpu")) == pytest.approx(losing, abs=1e-15)
    assert ds.loss_probability.attrs["units"] == "1"
    assert ds.revenue.attrs["units"] == "USD" and ds.total_gross_margin.attrs["units"] == "USD"
    np.testing.assert_allclose(
        ds.total_gross_margin_mean.values, (revenue - cost).mean(), rtol=1e-12
    )


def test_sketched_margins_of_either_sign_are_within_the_bound(hand_dict):
    noisy(hand_dict)
    hand_dict["monetization"] = {"price_per_mtok": {"dist": "uniform", "low": 5, "high": 60}}
    hand_dict["simulation"]["quantiles"] = [0.05, 0.25, 0.5, 0.75, 0.95]
    scenario = scenario_from_dict(hand_dict)
    kept = run_scenario(scenario, RunSettings(backend="numpy", keep_trajectories=True))
    sketched = run_scenario(scenario, RunSettings(backend="numpy", summary="sketch", chunk=37))
    margin = kept.trajectory_total_gross_margin.sel(hardware="test-gpu").values
    assert (margin < 0).any() and (margin > 0).any()  # both signs: the case in question
    expected = np.quantile(margin, sketched["quantile"].values)
    got = sketched.total_gross_margin.sel(hardware="test-gpu").values
    # each of the two order statistics interpolated is within a of its magnitude
    h = (len(margin) - 1) * sketched["quantile"].values
    ordered = np.sort(margin)
    lo, t = np.floor(h).astype(int), h - np.floor(h)
    scale = (1 - t) * np.abs(ordered[lo]) + t * np.abs(ordered[np.minimum(lo + 1, len(margin) - 1)])
    assert np.all(np.abs(got - expected) <= scale / 257 * (1 + 1e-9) + 1e-9)
    np.testing.assert_allclose(
        float(sketched.total_gross_margin_mean.sel(hardware="test-gpu")), margin.mean(), rtol=1e-9
    )
    per_step = kept.gross_margin.sel(hardware="test-gpu")
    np.testing.assert_allclose(
        sketched.gross_margin.sel(hardware="test-gpu"), per_step, rtol=2 / 257, atol=1e-6
    )
    assert sketched.gross_margin.attrs["units"] == "USD"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("price", "suffix", "signs"),
    [
        ({"dist": "uniform", "low": 5, "high": 60}, ".nc", {-1.0, 1.0}),  # losses and profits
        (1e4, ".zarr", {1.0}),  # profits only: the sketches of losses stay empty
        (0.5, ".nc", {-1.0}),  # losses only
    ],
)
def test_sharded_margins_merge_to_the_single_sketched_run(
    hand_dict, tmp_path, price, suffix, signs
):
    noisy(hand_dict)
    hand_dict["monetization"] = {"price_per_mtok": price}
    hand_dict["simulation"]["quantiles"] = [0.05, 0.5, 0.95]
    path = tmp_path / "margin.toml"
    path.write_text(scenario_toml(scenario_from_dict(hand_dict)))
    common = ["-n", "90", "--backend", "numpy", "-q"]
    runner = CliRunner()
    parts = [tmp_path / f"part-{i}{suffix}" for i in (1, 2)]
    for i, part in enumerate(parts, start=1):
        result = runner.invoke(
            app, ["run", str(path), "--shard", f"{i}/2", "-o", str(part), *common]
        )
        assert result.exit_code == 0, result.output
    merged, single = tmp_path / "merged.nc", tmp_path / "single.nc"
    result = runner.invoke(app, ["merge", *map(str, parts), "-o", str(merged), "-q"])
    assert result.exit_code == 0, result.output
    command = ["run", str(path), "--summary", "sketch", "-o", str(single), *common]
    assert runner.invoke(app, command).exit_code == 0
    merged, single = xr.open_dataset(merged), xr.open_dataset(single)
    assert set(np.sign(single.total_gross_margin.values).ravel().tolist()) == signs
    for name in ("gross_margin", "total_gross_margin", "gross_margin_mean"):
        rtol = 1e-12 if name.endswith("_mean") else 0.0  # sums in another grouping
        np.testing.assert_allclose(merged[name].values, single[name].values, rtol=rtol)


def test_compiled_kernels_match_the_reference(compiled_backend, hand_dict):
    noisy(hand_dict)
    hand_dict["monetization"] = {
        "markup": {"dist": "uniform", "low": -0.2, "high": 0.8},
        "elasticity": {"dist": "uniform", "low": 0.0, "high": 2.5},
    }
    scenario = scenario_from_dict(hand_dict)
    n = compiled_backend.size(64, 8)
    _, ref, ref_totals = simulate_per_trajectory(scenario, reference.simulate, n)
    _, fast, fast_totals = simulate_per_trajectory(scenario, compiled_backend.simulate, n)
    assert set(ref) == set(fast) and set(ref_totals) == set(fast_totals)
    for name in ref:
        np.testing.assert_allclose(fast[name], ref[name], rtol=1e-9, atol=1e-9, err_msg=name)
    for name in ref_totals:
        np.testing.assert_allclose(
            fast_totals[name], ref_totals[name], rtol=1e-9, atol=1e-9, err_msg=name
        )


BAD = """
[horizon]
start = 2027-01-04
steps = 3

[users]
initial = 1000

[usage]
sessions_per_user_per_day = 2
requests_per_session = 3
input_tokens_per_request = 500
output_tokens_per_call = 200

[[supply.hardware]]
key = "t"
cost_per_gpu_hour = 2.0
decode_tokens_per_s = 100
prefill_tokens_per_s = 1000
power_kw = 1.0

[monetization]
markup = 0.5
"""


@pytest.mark.parametrize(
    "extra, key",
    [
        ("elasticity = -0.5", "monetization.elasticity"),
        ('elasticity = {dist = "normal", mean = 1, sd = 1}', "monetization.elasticity"),
        ("price_per_mtok = 3", "monetization"),
    ],
)
def test_bad_monetization_is_refused(tmp_path, extra, key):
    path = tmp_path / "scenario.toml"
    path.write_text(BAD + extra + "\n")
    out = tmp_path / "result.nc"
    result = CliRunner().invoke(app, ["run", str(path), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and key in lines[0], result.output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [path]
