"""Hostile sweep and horizon inputs: refused before any work, in one line, leaving nothing.

Each refusal is exit 2 with one line naming the key or setting, no traceback,
no output file and no checkpoint folder created (or an existing one kept as
it was).
"""

import datetime as dt

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from jevons.cli.main import app
from jevons.engine.execution import sweeps
from jevons.engine.scenario.loading import parse_scenario_text
from jevons.engine.scenario.schema import STEP_HOURS
from jevons.errors import JevonsError, ScenarioError
from tests.helpers import GOOD, write

runner = CliRunner()
FAST = ["-n", "10", "--backend", "numpy", "-q"]


def _refused(result, *words: str) -> None:
    """Exit 2 and one line of error naming every word, no traceback."""
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0], (word, lines[0])


def _no_work(monkeypatch) -> None:
    def fail(*args, **kwargs):
        raise AssertionError("a point ran")

    monkeypatch.setattr(sweeps, "run_point", fail)


def _horizon(start: str, step: str = "1D", steps: int = 3) -> str:
    return GOOD.replace("start = 2027-01-01", f"start = {start}").replace(
        "steps = 3", f'step = "{step}"\nsteps = {steps}'
    )


# --- 4. the time axis -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "step", "steps", "key", "limit"),
    [
        ("9999-12-01", "1D", 3, "horizon.start", "2262-01-01"),
        ("1600-01-01", "1D", 3, "horizon.start", "1678-01-01"),
        ("2027-01-01", "7D", 20_000, "horizon.steps", "2262-01-01"),
        ("2261-12-31", "1h", 25, "horizon.steps", "2262-01-01"),
    ],
)
def test_a_horizon_off_the_time_axis_is_refused(tmp_path, start, step, steps, key, limit):
    scenario = write(tmp_path, _horizon(start, step, steps))
    out = tmp_path / "run.nc"
    result = runner.invoke(app, ["run", str(scenario), *FAST, "-o", str(out)])
    _refused(result, key, limit, "datetime64[ns]")
    assert not out.exists()


def test_a_horizon_ending_at_the_limit_keeps_its_times(tmp_path):
    scenario = write(tmp_path, _horizon("2261-12-29", "1D", 3))
    out = tmp_path / "run.nc"
    result = runner.invoke(app, ["run", str(scenario), *FAST, "-o", str(out)])
    assert result.exit_code == 0, result.output
    with xr.open_dataset(out) as ds:
        expected = np.array(["2261-12-29", "2261-12-30", "2261-12-31"], dtype="datetime64[ns]")
        np.testing.assert_array_equal(ds.time.values, expected)


@settings(max_examples=60, deadline=None)
@given(
    start=st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)),
    step=st.sampled_from(sorted(STEP_HOURS)),
    steps=st.integers(1, 200_000),
)
def test_an_accepted_horizon_has_every_time_on_the_axis(start, step, steps):
    """Accepted horizons give exact, increasing datetime64[ns] times; others name the key."""
    try:
        scenario = parse_scenario_text(_horizon(start.isoformat(), step, steps))
    except ScenarioError as exc:
        assert [path for path, _ in exc.problems] in (["horizon.start"], ["horizon.steps"])
        return
    hours = np.datetime64(start, "h") + np.arange(steps) * STEP_HOURS[step]
    times = hours.astype("datetime64[ns]")
    assert (np.diff(times.astype(np.int64)) > 0).all()
    assert times[0] == np.datetime64(start, "ns")
    last = dt.datetime.combine(start, dt.time()) + dt.timedelta(
        hours=(steps - 1) * STEP_HOURS[step]
    )
    assert times[-1] == np.datetime64(last, "ns")
    assert scenario.horizon.end <= dt.datetime(2262, 1, 1)


# --- 5. sweeps: keys that shape the result ------------------------------------------------

FIXED_FLEET = GOOD + '\n[fleet]\npolicy = "fixed"\nsizes = [1]\n'


@pytest.mark.parametrize(
    ("text", "option", "key"),
    [
        (GOOD, "horizon.steps=3,4", "horizon.steps"),
        (GOOD, "horizon.start=2027-01-01,2027-02-01", "horizon.start"),
        (GOOD, 'horizon.step="1D","7D"', "horizon.step"),
        (GOOD, "simulation.quantiles=[0.5],[0.1,0.9]", "simulation.quantiles"),
        (GOOD, "simulation={ quantiles = [0.5] },{ quantiles = [0.25] }", "simulation"),
        (FIXED_FLEET, "fleet.sizes=[1],[2]", "fleet.sizes"),
        (GOOD, 'fleet={ policy = "elastic" },{ policy = "fixed", sizes = [2] }', "fleet"),
    ],
)
def test_a_key_that_shapes_the_result_is_refused_before_any_point(
    tmp_path, monkeypatch, text, option, key
):
    _no_work(monkeypatch)
    scenario = write(tmp_path, text)
    out = tmp_path / "sweep.nc"
    result = runner.invoke(app, ["sweep", str(scenario), "--set", option, *FAST, "-o", str(out)])
    _refused(result, f"{key}: cannot be swept")
    assert not out.exists() and not (tmp_path / "sweep.nc.points").exists()


def test_a_key_that_shapes_the_result_may_take_one_value(tmp_path):
    scenario = write(tmp_path, GOOD)
    out = tmp_path / "sweep.nc"
    args = ["--set", "horizon.steps=5", "--set", "users.initial=100,200", *FAST, "-o", str(out)]
    result = runner.invoke(app, ["sweep", str(scenario), *args])
    assert result.exit_code == 0, result.output
    with xr.open_dataset(out) as ds:
        assert ds.sizes["time"] == 5 and ds.sizes["users_initial"] == 2


def test_an_axis_of_a_number_and_a_distribution_is_labelled_by_text(tmp_path):
    scenario = write(tmp_path, GOOD)
    out = tmp_path / "sweep.nc"
    table = '{ dist = "uniform", low = 100, high = 200 }'
    result = runner.invoke(
        app, ["sweep", str(scenario), "--set", f"users.initial=100,{table}", *FAST, "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    with xr.open_dataset(out) as ds:
        labels = list(ds.users_initial.values)
        assert labels == ["100", '{"dist": "uniform", "high": 200, "low": 100}']
        fixed = ds.sel(users_initial="100").users_mean
        np.testing.assert_allclose(fixed.values, 100.0, rtol=1e-9)


# --- 5. checkpoints ------------------------------------------------------------------------

SWEEP = ["--set", "users.initial=100,200,300"]


def _interrupted(tmp_path, monkeypatch, run=FAST):
    """A sweep that stops after its first point, as a killed one would; returns its paths."""
    real = sweeps.run_point
    calls = []

    def first_only(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise JevonsError("stopped")
        return real(*args, **kwargs)

    monkeypatch.setattr(sweeps, "run_point", first_only)
    scenario = write(tmp_path, GOOD)
    out = tmp_path / "sweep.nc"
    result = runner.invoke(app, ["sweep", str(scenario), *SWEEP, *run, "-o", str(out)])
    assert result.exit_code == 2 and "stopped" in result.output
    monkeypatch.setattr(sweeps, "run_point", real)
    folder = tmp_path / "sweep.nc.points"
    assert len(list(folder.glob("point-*.nc"))) == 1
    return scenario, out, folder


@pytest.mark.parametrize(
    ("change", "setting"),
    [
        (["-n", "11"], "trajectories (10 then, 11 now)"),
        (["-n", "20", "--set", "simulation.trajectories=30"], "trajectories (10 then, 20 now)"),
        (["--seed", "7"], "seed (0 then, 7 now)"),
        (["--summary", "sketch"], "summary (auto then, sketch now)"),
        (["--set", "users.initial=100,200,400"], "sweep axes"),
        (["--set", "cache.hit_rate=0.5"], "sweep axes"),
        ("scenario", "scenario (users.initial.median)"),
    ],
)
def test_resume_with_other_settings_is_refused_and_keeps_the_points(
    tmp_path, monkeypatch, change, setting
):
    scenario, out, folder = _interrupted(tmp_path, monkeypatch)
    before = sorted(p.name for p in folder.iterdir())
    if change == "scenario":
        scenario.write_text(GOOD.replace("median = 1000", "median = 1001"))
        change = []
    _no_work(monkeypatch)
    args = ["sweep", str(scenario), *SWEEP, *FAST, *change, "--resume", "-o", str(out)]
    _refused(runner.invoke(app, args), "--resume", setting)
    assert sorted(p.name for p in folder.iterdir()) == before and not out.exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("before", "now"),
    [
        (FAST, FAST[:-1]),
        (["-n", "20", "--backend", "numpy"], ["--backend", "numpy"]),  # 20: the scenario's
        (["--backend", "numpy", "--seed", "0"], ["--backend", "numpy"]),  # 0: the default
    ],
)
def test_resume_with_the_same_settings_reuses_the_points(tmp_path, monkeypatch, before, now):
    scenario, out, folder = _interrupted(tmp_path, monkeypatch, before)
    args = ["sweep", str(scenario), *SWEEP, *now, "--resume", "-o", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "1 reused" in result.output
    assert out.exists() and not folder.exists()


def test_resume_without_a_manifest_is_refused(tmp_path, monkeypatch):
    scenario, out, folder = _interrupted(tmp_path, monkeypatch)
    (folder / "manifest.json").unlink()
    _no_work(monkeypatch)
    args = ["sweep", str(scenario), *SWEEP, *FAST, "--resume", "-o", str(out)]
    _refused(runner.invoke(app, args), "--resume", "manifest.json")
    assert len(list(folder.glob("point-*.nc"))) == 1


@pytest.mark.parametrize("resume", [[], ["--resume"]])
def test_a_checkpoint_path_that_is_a_file_is_refused(tmp_path, monkeypatch, resume):
    _no_work(monkeypatch)
    scenario = write(tmp_path, GOOD)
    out = tmp_path / "sweep.nc"
    blocker = tmp_path / "sweep.nc.points"
    blocker.write_text("mine")
    args = ["sweep", str(scenario), *SWEEP, *FAST, *resume, "-o", str(out)]
    _refused(runner.invoke(app, args), str(blocker), "not a folder")
    assert blocker.read_text() == "mine" and not out.exists()


@pytest.mark.parametrize("backend", ["bogus", "Numpy"])
def test_a_bad_backend_is_refused_before_the_checkpoint_folder_is_made(
    tmp_path, monkeypatch, backend
):
    _no_work(monkeypatch)
    scenario = write(tmp_path, GOOD)
    out = tmp_path / "sweep.nc"
    args = ["sweep", str(scenario), *SWEEP, "-n", "10", "--backend", backend, "-o", str(out)]
    _refused(runner.invoke(app, args), backend)
    assert not (tmp_path / "sweep.nc.points").exists() and not out.exists()


def test_a_sweep_failing_before_its_first_point_leaves_no_folder(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise JevonsError("no memory for this point")

    monkeypatch.setattr(sweeps, "run_point", fail)
    scenario = write(tmp_path, GOOD)
    out = tmp_path / "sweep.nc"
    result = runner.invoke(app, ["sweep", str(scenario), *SWEEP, *FAST, "-o", str(out)])
    _refused(result, "no memory")
    assert not (tmp_path / "sweep.nc.points").exists() and not out.exists()


def test_a_problem_at_every_point_is_one_line(tmp_path, monkeypatch):
    """A misspelt key is wrong at each of the three points: said once, as a run says it."""
    _no_work(monkeypatch)
    scenario = write(tmp_path, GOOD)
    out = tmp_path / "sweep.nc"
    args = ["--set", "users.intial=1,2,3", *FAST, "-o", str(out)]
    result = runner.invoke(app, ["sweep", str(scenario), *args])
    _refused(result, "users.intial: unknown key")
    assert "sweep point" not in result.output
    assert not out.exists() and not (tmp_path / "sweep.nc.points").exists()


def test_a_problem_at_some_points_names_each_of_them(tmp_path, monkeypatch):
    _no_work(monkeypatch)
    scenario = write(tmp_path, GOOD)
    args = ["--set", "users.initial=100,-1", "--set", "usage.requests_per_session=1,2"]
    result = runner.invoke(app, ["sweep", str(scenario), *args, *FAST])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 2, result.output
    for line, requests in zip(lines, (1, 2), strict=True):
        assert "users.initial" in line
        assert f"(sweep point users.initial=-1, usage.requests_per_session={requests})" in line
