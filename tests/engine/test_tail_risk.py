"""Tail risk: CVaR of the horizon totals and exceedance probabilities at user thresholds.

Every check recomputes the quantity from the kept per-trajectory totals
(``keep_trajectories``) with a sort-and-average or a direct count written here.
"""

import math
from decimal import Decimal

import numpy as np
import pytest

from jevons.engine.execution.run import run_scenario
from jevons.engine.execution.settings import RunSettings
from jevons.engine.execution.shards import merge_shards, run_shard
from jevons.engine.output.files import write_dataset
from jevons.engine.output.shard_files import Shard, read_shard
from jevons.engine.scenario.loading import parse_scenario_text, scenario_from_dict
from jevons.engine.scenario.schema import Risk
from jevons.engine.summaries.sketch import SketchSpec
from jevons.errors import JevonsError
from tests.helpers import toml_document

N = 200
QUANTILES = [0.5, 0.9, 0.95, 0.99]
CVAR_OF = {
    "total_cost_cvar": "total_cost",
    "cost_cvar": "total_cost",
    "max_peak_gpus_cvar": "max_peak_gpus",
    "horizon_cost_per_mtok_cvar": "horizon_cost_per_mtok",
    "total_tokens_cvar": "total_tokens",
    "total_gpu_hours_cvar": "total_gpu_hours",
}


def uncertain(hand_dict, thresholds=None, text=False):
    """The hand scenario with users, growth and the GPU price drawn per trajectory (and its
    TOML text, for shards, if ``text``)."""
    hand_dict["users"]["initial"] = {"dist": "lognormal", "median": 1000, "p95": 4000}
    hand_dict["users"]["growth_per_month"] = {"dist": "uniform", "low": 0.0, "high": 0.5}
    hand_dict["supply"]["uncertainty"] = {
        "test-gpu": {"cost_per_gpu_hour": {"dist": "uniform", "low": 1.0, "high": 3.0}}
    }
    hand_dict["simulation"]["quantiles"] = QUANTILES
    if thresholds is not None:
        hand_dict["risk"] = {"thresholds": thresholds}
    if text:
        document = toml_document(hand_dict)
        return parse_scenario_text(document, "risk.toml"), document
    return scenario_from_dict(hand_dict)


def worst_mean(values: np.ndarray, q: float) -> float:
    """Mean of the worst ceil((1 - q) n) values, q read as the decimal written."""
    n = len(values)
    count = max(1, math.ceil((1 - Decimal(repr(q))) * n))
    return float(np.mean(np.sort(values)[::-1][:count]))


@pytest.fixture
def kept(hand_dict):
    """Every trajectory's totals (no thresholds yet), to pick thresholds from."""
    return run_scenario(uncertain(hand_dict), RunSettings(trajectories=N, keep_trajectories=True))


def thresholds_from(kept):
    """Thresholds inside the spread of the kept totals, one exactly at a kept value
    (P(value > threshold) must leave that trajectory out)."""
    cost = kept.trajectory_total_cost.values[0]
    peak = kept.trajectory_max_peak_gpus.values[0]
    return {
        "total_cost": [float(np.median(cost)), float(cost[3]), 0.0, float(cost.max()) * 2],
        "max_peak_gpus": float(np.quantile(peak, 0.8)),
    }


def direct_count(values: np.ndarray, thresholds) -> np.ndarray:
    return np.array([sum(1 for v in values if v > t) for t in sorted(thresholds)]) / len(values)


@pytest.mark.parametrize("summary", ["exact", "sketch"])
def test_exceedance_is_the_share_of_kept_trajectories_above(hand_dict, kept, summary):
    thresholds = thresholds_from(kept)
    ds = run_scenario(
        uncertain(hand_dict, thresholds),
        RunSettings(trajectories=N, keep_trajectories=True, summary=summary),
    )
    cost = ds.trajectory_total_cost.values[0]
    np.testing.assert_array_equal(cost, kept.trajectory_total_cost.values[0])
    expected_cost = direct_count(cost, thresholds["total_cost"])
    assert 0 < expected_cost[2] < 1  # the thresholds inside the spread tell something
    got = ds.total_cost_exceedance_probability
    assert got.dims == ("total_cost_threshold", "hardware")
    np.testing.assert_array_equal(got.total_cost_threshold, sorted(thresholds["total_cost"]))
    np.testing.assert_array_equal(got.values[:, 0], expected_cost)
    assert got.values[0, 0] == 1.0 and got.values[-1, 0] == 0.0  # 0 and twice the largest
    peak = ds.trajectory_max_peak_gpus.values[0]
    np.testing.assert_array_equal(
        ds.max_peak_gpus_exceedance_probability.values[:, 0],
        direct_count(peak, [thresholds["max_peak_gpus"]]),
    )
    assert ds.total_cost_exceedance_probability.attrs["units"] == "1"
    assert ds.total_cost_threshold.attrs["units"] == "USD"
    assert ds.max_peak_gpus_threshold.attrs["units"] == "GPUs"


def test_one_variable_with_thresholds_gets_the_threshold_dim(hand_dict):
    ds = run_scenario(uncertain(hand_dict, {"max_peak_gpus": [3, 1]}), RunSettings(trajectories=20))
    assert ds.max_peak_gpus_exceedance_probability.dims == ("threshold", "hardware")
    np.testing.assert_array_equal(ds.threshold, [1.0, 3.0])
    assert "total_cost_exceedance_probability" not in ds


def test_cvar_of_each_total_is_the_mean_of_the_worst_kept(kept):
    checked = 0
    for name, source in CVAR_OF.items():
        values = kept[f"trajectory_{source}"]
        cvar = kept[name]
        assert cvar.attrs["units"] == kept[source].attrs["units"], name
        for i, q in enumerate(QUANTILES):
            if "hardware" in values.dims:
                column = values.isel(hardware=0).values
                reported = float(cvar.isel(quantile=i, hardware=0))
            else:
                column = values.values
                reported = float(cvar.isel(quantile=i))
            assert reported == pytest.approx(worst_mean(column, q), rel=1e-12), (name, q)
            checked += 1
    assert checked == len(CVAR_OF) * len(QUANTILES)
    # the tail mean lies above the quantile it starts at, and the tails differ by level
    assert (kept.total_cost_cvar.values >= kept.total_cost.values).all()
    assert kept.total_cost_cvar.values[-1, 0] > kept.total_cost_cvar.values[0, 0]


def test_cvar_skips_undefined_ratios():
    # a trajectory with no output tokens has no cost per token (NaN): it is left out
    from jevons.engine.summaries.exact import tail_mean

    values = np.array([[4.0, np.nan, 1.0, 3.0, 2.0], [np.nan] * 5])
    got = tail_mean(values, np.array([0.5, 0.0]))
    np.testing.assert_array_equal(got[:, 0], [(4.0 + 3.0) / 2, 2.5])
    assert np.isnan(got[:, 1]).all()


def test_sketched_cvar_within_the_sketch_bound(hand_dict, kept):
    scenario = uncertain(hand_dict)
    sketched = run_scenario(scenario, RunSettings(trajectories=N, summary="sketch", chunk=17))
    bound = SketchSpec(scenario.simulation.relative_accuracy).guaranteed_accuracy
    for name in CVAR_OF:
        exact, approx = kept[name].values, sketched[name].values
        assert np.all(np.abs(approx - exact) <= (bound + 1e-12) * np.abs(exact)), name


@pytest.mark.slow
def test_chunked_and_sharded_runs_count_the_same_exceedances(hand_dict, kept, tmp_path):
    thresholds = thresholds_from(kept)
    scenario, text = uncertain(hand_dict, thresholds, text=True)
    one = run_scenario(scenario, RunSettings(trajectories=N, summary="exact"))
    chunked = run_scenario(scenario, RunSettings(trajectories=N, summary="sketch", chunk=13))
    paths = []
    for i in (2, 0, 1):  # written in any order
        part = run_shard(scenario, Shard(i, 3), RunSettings(trajectories=N), scenario_text=text)
        path = tmp_path / f"part-{i}.nc"
        write_dataset(part, path)
        paths.append(path)
    merged = merge_shards([read_shard(p) for p in paths], [str(p) for p in paths])
    for name in ("total_cost_exceedance_probability", "max_peak_gpus_exceedance_probability"):
        np.testing.assert_array_equal(chunked[name].values, one[name].values, err_msg=name)
        np.testing.assert_array_equal(merged[name].values, one[name].values, err_msg=name)
        np.testing.assert_array_equal(merged[name].values, kept_count(kept, name, thresholds))


def kept_count(kept, name, thresholds):
    source = name.removesuffix("_exceedance_probability")
    limits = thresholds[source]
    limits = limits if isinstance(limits, list) else [limits]
    return direct_count(kept[f"trajectory_{source}"].values[0], limits)[:, None]


def test_shards_of_other_thresholds_do_not_merge(hand_dict, tmp_path):
    scenario, text = uncertain(hand_dict, text=True)
    parts = [
        run_shard(
            scenario.model_copy(update={"risk": Risk(thresholds={"total_cost": [limit]})}),
            Shard(i, 2),
            RunSettings(trajectories=20),
            scenario_text=text,
        )
        for i, limit in ((0, 100.0), (1, 200.0))
    ]
    with pytest.raises(JevonsError, match="total_cost thresholds"):
        merge_shards(parts, ["a.nc", "b.nc"])


def test_numpy_and_cpu_backends_agree(hand_dict, kept):
    scenario = uncertain(hand_dict, thresholds_from(kept))
    numpy_run = run_scenario(scenario, RunSettings(trajectories=N, backend="numpy"))
    cpu_run = run_scenario(scenario, RunSettings(trajectories=N, backend="cpu"))
    for name in ("total_cost_exceedance_probability", "max_peak_gpus_exceedance_probability"):
        np.testing.assert_array_equal(cpu_run[name].values, numpy_run[name].values, err_msg=name)
    for name in CVAR_OF:
        np.testing.assert_allclose(cpu_run[name].values, numpy_run[name].values, rtol=1e-12)
