"""Runs that add trajectories until the P95's confidence interval is narrow enough."""

import math

import numpy as np
import pytest
import xarray as xr

from jevons.engine.execution.precision import (
    PrecisionTarget,
    next_trajectory_count,
    relative_half_width,
    run_to_precision,
)
from jevons.engine.execution.run import run_scenario
from jevons.engine.execution.settings import RunSettings
from jevons.engine.scenario.loading import scenario_from_dict
from jevons.errors import JevonsError


@pytest.fixture
def uncertain(hand_dict):
    hand_dict["users"]["initial"] = {"dist": "lognormal", "median": 1000, "p95": 3000}
    hand_dict["simulation"]["quantiles"] = [0.5, 0.95]
    return hand_dict


def test_half_width_is_the_widest_relative_interval_at_p95():
    quantile = [0.5, 0.95]
    values = xr.DataArray([[1.0, 2.0], [10.0, 20.0]], dims=("quantile", "hardware"))
    ds = xr.Dataset(
        {
            "total_cost": values,
            "total_cost_ci_low": values - np.array([[0, 0], [1.0, 1.0]]),
            "total_cost_ci_high": values + np.array([[0, 0], [1.0, 3.0]]),
        },
        coords={"quantile": quantile},
        attrs={"trajectories": 1000},
    )
    # half-widths at P95: (1 + 1) / 2 = 1 of 10, and (1 + 3) / 2 = 2 of 20: both 10%
    assert relative_half_width(ds, "total_cost") == pytest.approx(0.1)
    ds["total_cost_ci_high"][1, 1] = 26.0  # (1 + 6) / 2 = 3.5 of 20
    assert relative_half_width(ds, "total_cost") == pytest.approx(0.175)
    ds["total_cost"][1, :] = np.nan  # nothing to measure
    assert relative_half_width(ds, "total_cost") == math.inf


def test_too_few_trajectories_for_a_95_percent_interval_measure_nothing(uncertain):
    """The widest interval, smallest to largest value, holds the P95 with probability
    1 - 0.95^n - 0.05^n: 0.9490 at n = 58, 0.9515 at n = 59. Below that no interval is a
    95% one, however narrow its clipped bounds look."""
    values = xr.DataArray([10.0, 20.0], dims="quantile")
    ds = xr.Dataset(
        {"total_cost": values, "total_cost_ci_low": values * 0.99,
         "total_cost_ci_high": values * 1.01},
        coords={"quantile": [0.5, 0.95]},
    )  # fmt: skip
    for n, expected in ((1, math.inf), (58, math.inf), (59, 0.01), (1000, 0.01)):
        ds.attrs["trajectories"] = n
        assert relative_half_width(ds, "total_cost") == pytest.approx(expected), n
    # one trajectory, a loose target: not met (0.4.0 said "within ±0.00%")
    scenario = scenario_from_dict(uncertain)
    run = run_to_precision(scenario, PrecisionTarget(0.5, max_trajectories=1),
                             RunSettings(trajectories=1))  # fmt: skip
    assert run.attrs["precision_met"] == 0 and run.attrs["precision_achieved"] == math.inf


def test_next_count_follows_the_square_root_law_within_its_limits():
    # reaching 2% for a 1% target needs 4x the trajectories; aimed 10% past: 4.4x
    assert next_trajectory_count(1000, 0.02, 0.01, 10**7, sobol=False) == 4400
    # nearly there: at least 1.5x
    assert next_trajectory_count(1000, 0.0101, 0.01, 10**7, sobol=False) == 1500
    # far off: at most 16x
    assert next_trajectory_count(1000, 0.5, 0.01, 10**7, sobol=False) == 16000
    # three significant figures, rounded up: 1234 x 4.4 = 5429.6 -> 5430
    assert next_trajectory_count(1234, 0.02, 0.01, 10**7, sobol=False) == 5430
    # Sobol points come in powers of 2: 1024 x 4.4 = 4505.6 -> 8192
    assert next_trajectory_count(1024, 0.02, 0.01, 10**7, sobol=True) == 8192
    assert next_trajectory_count(1000, 0.02, 0.01, 3000, sobol=False) == 3000  # the cap
    assert next_trajectory_count(1000, math.inf, 0.01, 10**7, sobol=False) == 2000


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, 1.5])
def test_precision_outside_zero_one_is_refused(bad):
    with pytest.raises(JevonsError, match=r"--precision must lie in \(0, 1\)"):
        PrecisionTarget(bad)


def test_unknown_output_and_a_cap_below_the_start_are_refused(uncertain):
    with pytest.raises(JevonsError, match="--precision-of 'users'"):
        PrecisionTarget(0.01, of="users")
    with pytest.raises(JevonsError, match="--max-trajectories 100 is below the 200"):
        run_to_precision(
            scenario_from_dict(uncertain), PrecisionTarget(0.01, max_trajectories=100),
            RunSettings(trajectories=200),
        )  # fmt: skip
    uncertain["simulation"]["quantiles"] = [0.5, 0.9]
    with pytest.raises(JevonsError, match=r"add 0\.95 to simulation\.quantiles"):
        run_to_precision(scenario_from_dict(uncertain), PrecisionTarget(0.01))
    with pytest.raises(JevonsError, match="--keep-trajectories and --sensitivity"):
        run_to_precision(
            scenario_from_dict(uncertain),
            PrecisionTarget(0.01),
            RunSettings(keep_trajectories=True),
        )


@pytest.mark.parametrize("summary", ["sketch", "exact"])
def test_a_run_that_meets_its_target_is_the_plain_run_of_its_final_count(uncertain, summary):
    scenario = scenario_from_dict(uncertain)
    rounds = []
    ds = run_to_precision(
        scenario,
        PrecisionTarget(0.05, "total_cost", max_trajectories=100_000),
        RunSettings(trajectories=200, backend="numpy", summary=summary, chunk=150),
        on_round=lambda n, reached: rounds.append((n, reached)),
    )
    n = ds.attrs["trajectories"]
    assert ds.attrs["precision_met"] == 1 and rounds[-1][0] == n and len(rounds) >= 2
    assert ds.attrs["precision_achieved"] == rounds[-1][1] <= 0.05 < rounds[-2][1]
    # the target, recomputed from the bounds: half the interval over the P95
    p95 = ds.total_cost.sel(quantile=0.95)
    half = (ds.total_cost_ci_high - ds.total_cost_ci_low).sel(quantile=0.95) / 2
    assert float((half / p95).max()) == pytest.approx(ds.attrs["precision_achieved"])
    plain = run_scenario(scenario, RunSettings(trajectories=n, backend="numpy", summary=summary))
    for name in plain.data_vars:
        # sums of chunks in another grouping: means agree to rounding, the rest exactly
        rtol = 1e-12 if name.endswith("_mean") else 0.0
        np.testing.assert_allclose(ds[name].values, plain[name].values, rtol=rtol, err_msg=name)


def test_a_run_that_reaches_its_cap_says_so(uncertain):
    ds = run_to_precision(
        scenario_from_dict(uncertain),
        PrecisionTarget(0.001, "max_peak_gpus", max_trajectories=500),
        RunSettings(trajectories=100, backend="numpy"),
    )
    assert ds.attrs["trajectories"] == 500 and ds.attrs["precision_met"] == 0
    assert ds.attrs["precision_achieved"] > 0.001 and ds.attrs["precision_of"] == "max_peak_gpus"


def test_sobol_counts_stay_powers_of_2_inside_the_cap():
    # 256 x 16 = 4096 is wanted; 3000 allows 2048 at most
    assert next_trajectory_count(256, 0.5, 0.01, 3000, sobol=True) == 2048
    # at 2048 no larger power of 2 fits under 3000: no further round
    assert next_trajectory_count(2048, 0.02, 0.01, 3000, sobol=True) <= 2048
    assert next_trajectory_count(1024, 0.02, 0.01, 1 << 20, sobol=True) == 8192


def test_a_sobol_run_at_its_cap_stops_at_a_power_of_2(uncertain, recwarn):
    uncertain["simulation"]["sampling"] = "sobol"
    rounds = []
    ds = run_to_precision(
        scenario_from_dict(uncertain),
        PrecisionTarget(0.001, max_trajectories=3000),
        RunSettings(trajectories=256, backend="numpy"),
        on_round=lambda n, reached: rounds.append(n),
    )
    assert rounds == [256, 2048] and ds.attrs["trajectories"] == 2048
    assert ds.attrs["precision_met"] == 0
    assert not [w for w in recwarn if "power of 2" in str(w.message)]


@pytest.mark.slow
@pytest.mark.parametrize("sampling", ["mc", "sobol"])
def test_a_sketched_run_simulates_only_the_new_trajectories(uncertain, monkeypatch, sampling):
    """Trajectory i draws the same numbers in a run of any size under Monte Carlo and
    Sobol points, so each round adds trajectories; the result is still the plain run's."""
    from jevons.engine.execution import precision

    uncertain["simulation"]["sampling"] = sampling
    ranges = []
    simulate = precision.simulate_summary

    def spy(*args, trajectory_range, **kwargs):
        ranges.append(trajectory_range)
        return simulate(*args, trajectory_range=trajectory_range, **kwargs)

    monkeypatch.setattr(precision, "simulate_summary", spy)
    scenario = scenario_from_dict(uncertain)
    ds = run_to_precision(
        scenario,
        PrecisionTarget(0.05, max_trajectories=100_000),
        RunSettings(trajectories=256, backend="numpy", summary="sketch", chunk=100),
    )
    n = ds.attrs["trajectories"]
    assert len(ranges) >= 2 and ranges[0] == (0, 256) and ranges[-1][1] == n
    assert all(ranges[i][0] == ranges[i - 1][1] for i in range(1, len(ranges)))
    plain = run_scenario(scenario, RunSettings(trajectories=n, backend="numpy", summary="sketch"))
    for name in plain.data_vars:
        rtol = 1e-12 if name.endswith("_mean") else 0.0
        np.testing.assert_allclose(ds[name].values, plain[name].values, rtol=rtol, err_msg=name)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (dict(max_trajectories=150.5), "--max-trajectories 150.5: "),
        (dict(max_trajectories=math.inf), "--max-trajectories inf: "),
        (dict(max_trajectories=True), "--max-trajectories True: a whole number"),
        (dict(max_trajectories="many"), "--max-trajectories 'many': "),
        (dict(relative_half_width="0.1"), r"--precision must lie in \(0, 1\).*got '0.1'"),
        (dict(relative_half_width=True), r"--precision must lie in \(0, 1\)"),
    ],
)
def test_a_target_that_is_not_numbers_is_refused(given, message):
    arguments = dict(relative_half_width=0.01) | given
    with pytest.raises(JevonsError, match=message):
        PrecisionTarget(**arguments)


def test_a_cap_written_as_a_float_is_a_count():
    cap = PrecisionTarget(0.01, max_trajectories=1e6).max_trajectories
    assert cap == 1_000_000 and isinstance(cap, int)


def test_auto_turns_to_the_sketch_past_its_limit_and_ends_on_the_plain_run(uncertain, monkeypatch):
    """Rounds under ``auto`` start exact and turn to the sketch past the exact limit (made
    small here); thresholds are counted once per trajectory across the growing rounds."""
    from jevons.engine.execution import run

    monkeypatch.setattr(run, "EXACT_LIMIT", 1000)
    scenario = scenario_from_dict(uncertain)
    settings = RunSettings(trajectories=300, backend="numpy", thresholds={"total_cost": [500.0]})
    rounds = []
    ds = run_to_precision(
        scenario,
        PrecisionTarget(0.03, "peak_gpus", max_trajectories=100_000),
        settings,
        on_round=lambda n, reached: rounds.append(n),
    )
    n = ds.attrs["trajectories"]
    assert rounds[0] == 300 and n > 1000 and len([r for r in rounds if r > 1000]) >= 2
    assert ds.attrs["summary"] == "sketch" and ds.attrs["precision_met"] == 1
    plain = run_scenario(
        scenario, RunSettings(trajectories=n, backend="numpy", thresholds={"total_cost": [500.0]})
    )
    assert plain.attrs["summary"] == "sketch"
    for name in plain.data_vars:
        rtol = 1e-12 if name.endswith("_mean") else 0.0
        np.testing.assert_allclose(ds[name].values, plain[name].values, rtol=rtol, err_msg=name)
    assert 0 < float(ds.total_cost_exceedance_probability.max()) < 1


def test_a_target_met_at_once_is_a_single_plain_run(uncertain):
    scenario = scenario_from_dict(uncertain)
    rounds = []
    ds = run_to_precision(
        scenario,
        PrecisionTarget(0.9),
        RunSettings(trajectories=200, backend="numpy", summary="sketch", chunk=70),
        on_round=lambda n, reached: rounds.append(n),
    )
    assert rounds == [200] and ds.attrs["precision_met"] == 1
    plain = run_scenario(
        scenario, RunSettings(trajectories=200, backend="numpy", summary="sketch", chunk=70)
    )
    for name in plain.data_vars:
        np.testing.assert_array_equal(ds[name].values, plain[name].values, err_msg=name)


def test_a_target_finer_than_the_sketch_stays_exact_or_is_refused(uncertain):
    """A sketched interval is widened by the sketch's accuracy a (1/257 at 0.5%): a
    target of ±0.3% is out of its reach, so auto stops at the exact limit and an
    explicit sketch is refused."""
    scenario = scenario_from_dict(uncertain)
    with pytest.raises(JevonsError, match=r"sketch's own accuracy \(±0\.39%"):
        run_to_precision(
            scenario, PrecisionTarget(0.003), RunSettings(trajectories=100, summary="sketch")
        )
    # above a, a sketched run may go on
    fine = PrecisionTarget(0.5, max_trajectories=400)
    ds = run_to_precision(scenario, fine, RunSettings(trajectories=100, summary="sketch"))
    assert ds.attrs["summary"] == "sketch"


def test_auto_with_a_target_finer_than_the_sketch_stops_at_the_exact_limit(uncertain, monkeypatch):
    from jevons.engine.execution import precision

    monkeypatch.setattr(precision, "EXACT_LIMIT", 300)  # the run would turn to the sketch here
    monkeypatch.setattr("jevons.engine.execution.run.EXACT_LIMIT", 300)
    ds = run_to_precision(
        scenario_from_dict(uncertain),
        PrecisionTarget(0.003, max_trajectories=10_000),
        RunSettings(trajectories=100, backend="numpy"),
    )
    assert ds.attrs["trajectories"] == 300 and ds.attrs["summary"] == "exact"
    assert ds.attrs["precision_met"] == 0
    assert "the most an exact summary holds under auto" in ds.attrs["precision_stopped_at"]
