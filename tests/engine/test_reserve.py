"""Reserve plans: per period, quantiles of each trajectory's largest peak_gpus.

Every check groups steps into calendar periods here, with ``datetime`` arithmetic
of its own, and takes maxima and quantiles with NumPy over the per-trajectory
per-step peaks of the simulator.
"""

import datetime as dt

import numpy as np
import pytest

from jevons.engine.execution.run import run_scenario
from jevons.engine.execution.settings import RunSettings
from jevons.engine.execution.shards import merge_shards, run_shard
from jevons.engine.output.files import write_dataset
from jevons.engine.output.shard_files import Shard, read_shard
from jevons.engine.scenario.loading import parse_scenario_text, scenario_from_dict
from jevons.engine.summaries.sketch import SketchSpec
from jevons.errors import ScenarioError
from jevons.kernels import reference
from tests.conftest import simulate_per_trajectory
from tests.helpers import toml_document

N = 120
QUANTILES = [0.1, 0.5, 0.9, 0.95]


def weekly(hand_dict, steps=14, start="2027-01-20"):
    """The hand scenario over weekly steps that cross month ends (2027-03-31 runs into April)."""
    hand_dict["horizon"] = {"start": start, "step": "7D", "steps": steps}
    return hand_dict


def uncertain(hand_dict, period="month", text=False, horizon=None):
    """Users, growth and the GPU rate drawn per trajectory, step noise on, daily steps
    over five months (or ``horizon``)."""
    hand_dict["horizon"] = horizon or {"start": "2027-01-17", "step": "1D", "steps": 150}
    hand_dict["users"]["initial"] = {"dist": "lognormal", "median": 1000, "p95": 4000}
    hand_dict["users"]["growth_per_month"] = {"dist": "uniform", "low": -0.05, "high": 0.3}
    hand_dict["users"]["volatility"] = 0.1
    hand_dict["variability"]["count_noise"] = True
    hand_dict["supply"]["uncertainty"] = {
        "test-gpu": {"throughput_factor": {"dist": "uniform", "low": 0.6, "high": 1.4}}
    }
    hand_dict["simulation"].update(quantiles=QUANTILES, reserve_period=period)
    if text:
        document = toml_document(hand_dict)
        return parse_scenario_text(document, "reserve.toml"), document
    return scenario_from_dict(hand_dict)


def period_of(day: dt.date, period: str) -> dt.date:
    month = day.month if period == "month" else 3 * ((day.month - 1) // 3) + 1
    return dt.date(day.year, month, 1)


def step_days(hand_dict) -> list[dt.date]:
    horizon = hand_dict["horizon"]
    days = {"1D": 1, "7D": 7}[horizon["step"]]
    start = dt.date.fromisoformat(horizon["start"])
    return [start + dt.timedelta(days=days * t) for t in range(horizon["steps"])]


def period_maxima(peaks: np.ndarray, days: list[dt.date], period: str):
    """(period starts, maxima (periods, *rest)) of per-step ``peaks`` (steps, *rest)."""
    labels = [period_of(day, period) for day in days]
    starts = sorted(set(labels))
    maxima = np.stack(
        [peaks[[i for i, label in enumerate(labels) if label == s]].max(axis=0) for s in starts]
    )
    return np.array(starts, dtype="datetime64[ns]"), maxima


@pytest.mark.parametrize("period", ["month", "quarter"])
def test_zero_variance_reserve_is_the_deterministic_peak_of_each_period(hand_dict, period):
    hand_dict = weekly(hand_dict)
    hand_dict["simulation"]["quantiles"] = QUANTILES
    hand_dict["simulation"]["reserve_period"] = period
    ds = run_scenario(scenario_from_dict(hand_dict))
    peak = ds.peak_gpus.isel(hardware=0).values  # (quantile, time)
    np.testing.assert_array_equal(peak, np.broadcast_to(peak[0], peak.shape))  # no spread
    starts, expected = period_maxima(peak[0], step_days(hand_dict), period)
    got = ds.reserve_gpus
    assert got.dims == ("quantile", "hardware", "period")
    assert got.attrs["units"] == "GPUs"
    np.testing.assert_array_equal(ds.period.values, starts)
    for q in range(len(QUANTILES)):
        np.testing.assert_allclose(got.values[q, 0], expected, rtol=1e-12)
    assert len(starts) == {"month": 4, "quarter": 2}[period]


def test_a_step_that_straddles_a_month_end_counts_towards_its_first_day(hand_dict):
    # users grow, so a month's last step is its busiest; 2027-03-31 runs to 2027-04-06
    hand_dict = weekly(hand_dict, steps=11)
    ds = run_scenario(scenario_from_dict(hand_dict))
    march = ds.reserve_gpus.sel(period=np.datetime64("2027-03-01", "ns")).values[0, 0]
    last = ds.peak_gpus.sel(time=np.datetime64("2027-03-31", "ns")).values[0, 0]
    assert march == last
    assert ds.period.values[-1] == np.datetime64("2027-03-01", "ns")  # no April period


@pytest.mark.slow
@pytest.mark.parametrize("period", ["month", "quarter"])
def test_reserve_is_the_quantile_of_each_trajectorys_period_maximum(hand_dict, period):
    scenario = uncertain(hand_dict, period)
    _, steps, _ = simulate_per_trajectory(scenario, reference.simulate, N)
    starts, maxima = period_maxima(steps["peak_gpus"], step_days(hand_dict), period)
    expected = np.quantile(maxima, QUANTILES, axis=-1)  # (quantile, period, hardware)
    ds = run_scenario(scenario, RunSettings(trajectories=N, summary="exact", backend="numpy"))
    np.testing.assert_array_equal(ds.period.values, starts)
    assert len(starts) == {"month": 6, "quarter": 2}[period]
    np.testing.assert_allclose(ds.reserve_gpus.values, np.moveaxis(expected, -1, 1), rtol=1e-12)
    np.testing.assert_allclose(ds.reserve_gpus_mean.values, maxima.mean(axis=-1).T, rtol=1e-12)
    # the quantile of the maxima, not the largest per-step quantile in the period
    _, of_step_quantiles = period_maxima(
        np.quantile(steps["peak_gpus"], QUANTILES, axis=-1).swapaxes(0, 1),
        step_days(hand_dict),
        period,
    )  # (period, quantile, hardware)
    assert not np.allclose(ds.reserve_gpus.values, np.moveaxis(of_step_quantiles, 0, -1))
    # the spread is real: the plan grows with the level asked for
    assert (np.diff(ds.reserve_gpus.values, axis=0) > 0).all()


def test_sketched_reserve_within_the_sketch_bound_of_exact(hand_dict):
    scenario = uncertain(hand_dict)
    exact = run_scenario(scenario, RunSettings(trajectories=N, summary="exact")).reserve_gpus.values
    sketched = run_scenario(scenario, RunSettings(trajectories=N, summary="sketch", chunk=17))
    bound = SketchSpec(scenario.simulation.relative_accuracy).guaranteed_accuracy
    approx = sketched.reserve_gpus.values
    assert np.all(np.abs(approx - exact) <= (bound + 1e-12) * exact)


@pytest.mark.slow
def test_chunks_and_shards_merge_to_the_single_run(hand_dict, tmp_path):
    scenario, text = uncertain(hand_dict, "quarter", text=True)
    one = run_scenario(scenario, RunSettings(trajectories=N, summary="sketch"))
    chunked = run_scenario(scenario, RunSettings(trajectories=N, summary="sketch", chunk=13))
    paths = []
    for i in (1, 0, 2):
        path = tmp_path / f"part-{i}.nc"
        write_dataset(
            run_shard(scenario, Shard(i, 3), RunSettings(trajectories=N), scenario_text=text), path
        )
        paths.append(path)
    merged = merge_shards([read_shard(p) for p in paths], [str(p) for p in paths])
    # the sketched quantiles are the same counts in any chunking; a mean is a sum, taken in
    # another order per chunking, so equal to rounding (DESIGN: within float tolerance)
    np.testing.assert_array_equal(chunked.reserve_gpus.values, one.reserve_gpus.values)
    np.testing.assert_allclose(chunked.reserve_gpus_mean.values, one.reserve_gpus_mean.values,
                               rtol=1e-14)  # fmt: skip
    for name in ("reserve_gpus", "reserve_gpus_mean"):
        np.testing.assert_allclose(merged[name].values, one[name].values, rtol=1e-12)
    np.testing.assert_array_equal(merged.period.values, one.period.values)
    assert merged.reserve_gpus.dims == ("quantile", "hardware", "period")


@pytest.mark.slow
def test_backends_agree(hand_dict, backend):
    # weekly steps keep the CUDA simulator (a Python thread per GPU thread) quick
    scenario = uncertain(hand_dict, horizon={"start": "2027-01-20", "step": "7D", "steps": 14})
    n = backend.size(N, 4)
    ds = run_scenario(scenario, RunSettings(trajectories=n, summary="exact", backend=backend.name))
    numpy_run = run_scenario(
        scenario, RunSettings(trajectories=n, summary="exact", backend="numpy")
    )
    np.testing.assert_allclose(ds.reserve_gpus.values, numpy_run.reserve_gpus.values, rtol=1e-9)


def test_an_unknown_reserve_period_is_refused_by_key(hand_dict):
    hand_dict["simulation"]["reserve_period"] = "week"
    with pytest.raises(ScenarioError, match=r"simulation\.reserve_period"):
        scenario_from_dict(hand_dict)
