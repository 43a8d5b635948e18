"""``jevons sensitivity`` and ``jevons run --sensitivity`` as a user drives them."""

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from jevons.cli.main import app
from tests.conftest import SCENARIOS

runner = CliRunner()

SMALL = """
[horizon]
start = 2027-01-01
steps = 3

[simulation]
trajectories = 200

[users]
initial = { dist = "lognormal", median = 1000, p95 = 2000 }

[usage]
sessions_per_user_per_day = 1
requests_per_session = { dist = "uniform", low = 1, high = 3 }
input_tokens_per_request = 300
output_tokens_per_call = 100

[supply]
hardware = "h200-hgx"
"""

SENSITIVITY = (
    "sensitivity_spearman",
    "sobol_first",
    "sobol_first_low",
    "sobol_first_high",
    "tornado_low",
    "tornado_high",
)


def small_scenario(tmp_path: Path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path


@pytest.mark.slow
def test_sensitivity_of_a_shipped_scenario_end_to_end(tmp_path):
    result = tmp_path / "chat.nc"
    run = runner.invoke(
        app,
        ["run", str(SCENARIOS / "chat-assistant.toml"), "-o", str(result), "-n", "2000",
         "--keep-trajectories", "--backend", "numpy", "-q"],
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    analysed = tmp_path / "analysed.nc"
    done = runner.invoke(app, ["sensitivity", str(result), "-o", str(analysed)])
    assert done.exit_code == 0, done.output
    assert "users.initial" in done.output and "Sobol S1" in done.output
    with xr.open_dataset(result) as ds:
        assert "sobol_first" not in ds  # -o leaves the run's own file as it was
    with xr.open_dataset(analysed) as ds:
        for name in SENSITIVITY:
            assert ds[name].dims == ("input", "output", "hardware"), name
            assert ds[name].attrs["units"], name
        inputs = set(ds.input.values.tolist())
        assert {"users.initial", "usage.requests_per_session", "cache.hit_rate"} <= inputs
        assert len(inputs) == len([v for v in ds.data_vars if str(v).startswith("drawn_")])
        assert ds.output.values.tolist() == [
            "total_cost",
            "max_peak_gpus",
            "horizon_cost_per_mtok",
        ]
        s = ds.sobol_first
        assert bool(((ds.sobol_first_low <= s) & (s <= ds.sobol_first_high)).all())
        # first-order indices of independent inputs add up to at most 1
        assert bool((s.sum("input") <= 1.05).all())
        # more users, more cost: the tornado's top decile costs more than its bottom
        cost = {"input": "users.initial", "output": "total_cost"}
        assert bool((ds.tornado_high.sel(cost) > ds.tornado_low.sel(cost)).all())
        assert ds.trajectory_total_cost.sizes["trajectory"] == 2000  # the run is all there


@pytest.mark.slow
def test_sensitivity_writes_back_into_the_result_and_can_run_again(tmp_path):
    result = tmp_path / "small.nc"
    scenario = small_scenario(tmp_path)
    run = runner.invoke(app, ["run", str(scenario), "-o", str(result), "--keep-trajectories"])
    assert run.exit_code == 0, run.output
    for _ in range(2):  # a second analysis replaces the first
        done = runner.invoke(app, ["sensitivity", str(result), "-q"])
        assert done.exit_code == 0, done.output
    with xr.open_dataset(result) as ds:
        assert ds.input.values.tolist() == ["usage.requests_per_session", "users.initial"]
        assert "total_cost" in ds and "trajectory_total_cost" in ds
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_result_without_kept_trajectories_is_refused_in_one_line(tmp_path):
    result = tmp_path / "plain.nc"
    run = runner.invoke(app, ["run", str(small_scenario(tmp_path)), "-o", str(result), "-q"])
    assert run.exit_code == 0, run.output
    before = result.read_bytes()
    done = runner.invoke(app, ["sensitivity", str(result)])
    assert done.exit_code == 2
    assert len(done.output.strip().splitlines()) == 1
    assert "--keep-trajectories" in done.output
    assert "Traceback" not in done.output
    assert result.read_bytes() == before


@pytest.mark.slow
def test_run_with_sensitivity_in_one_go_matches_the_two_steps(tmp_path):
    scenario = small_scenario(tmp_path)
    one_go = tmp_path / "one.nc"
    done = runner.invoke(app, ["run", str(scenario), "-o", str(one_go), "--sensitivity"])
    assert done.exit_code == 0, done.output
    assert "inputs by influence" in done.output
    two_steps = tmp_path / "two.nc"
    first = ["run", str(scenario), "-o", str(two_steps), "--keep-trajectories", "-q"]
    assert runner.invoke(app, first).exit_code == 0
    assert runner.invoke(app, ["sensitivity", str(two_steps), "-q"]).exit_code == 0
    with xr.open_dataset(one_go) as a, xr.open_dataset(two_steps) as b:
        for name in SENSITIVITY:
            np.testing.assert_array_equal(a[name].values, b[name].values)
        assert a.sizes["trajectory"] == 200


def test_run_with_sensitivity_refuses_shards_and_too_few_trajectories(tmp_path):
    scenario = small_scenario(tmp_path)
    out = tmp_path / "x.nc"
    sharded = runner.invoke(
        app, ["run", str(scenario), "-o", str(out), "--shard", "1/2", "--sensitivity"]
    )
    assert sharded.exit_code == 2 and "--sensitivity" in sharded.output
    few = runner.invoke(app, ["run", str(scenario), "-o", str(out), "-n", "10", "--sensitivity"])
    assert few.exit_code == 2 and "at least 20 trajectories" in few.output
    assert not out.exists()
