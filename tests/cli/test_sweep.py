"""Sweeps as a user runs them: dimensions, errors, resuming after SIGKILL, Dask."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from jevons.cli.main import app
from jevons.engine.scenario.sweep_grid import parse_set_option, parse_value
from jevons.errors import ScenarioError
from tests.helpers import GOOD, write

runner = CliRunner()


def test_values_parse_as_toml_or_bare_words():
    assert parse_value("1e4") == 1e4
    assert parse_value("3") == 3
    assert parse_value("h200-hgx") == "h200-hgx"
    assert parse_value('{ dist = "uniform", low = 1, high = 2 }') == {
        "dist": "uniform", "low": 1, "high": 2
    }  # fmt: skip
    axis = parse_set_option(
        'users.growth_per_month=0.01,{ dist = "normal", mean = 0.1, sd = 0.01 }'
    )
    assert axis.key == "users.growth_per_month" and len(axis.values) == 2
    with pytest.raises(ScenarioError):
        parse_set_option("users.initial")


@pytest.mark.slow
def test_sweep_axes_become_labelled_dimensions(tmp_path):
    scenario = write(tmp_path, GOOD + '\n[sweep]\n"usage.requests_per_session" = [2, 4]\n')
    out = tmp_path / "sweep.nc"
    result = runner.invoke(app, ["sweep", str(scenario), "--set", "users.initial=100,1000",
                                 "-n", "30", "-o", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    ds = xr.open_dataset(out)
    assert ds.sizes["usage_requests_per_session"] == 2 and ds.sizes["users_initial"] == 2
    assert ds.users_initial.attrs["sweep_key"] == "users.initial"
    small = ds.sel(users_initial=100, usage_requests_per_session=2)
    large = ds.sel(users_initial=1000, usage_requests_per_session=4)
    np.testing.assert_allclose(large.users.values, 10 * small.users.values, rtol=1e-9)
    # 10x the users, 2x the requests each; Poisson count noise blurs the ratio a little
    np.testing.assert_allclose(large.requests_mean.values, 20 * small.requests_mean.values,
                               rtol=0.05)  # fmt: skip
    assert not (tmp_path / "sweep.nc.points").exists()


@pytest.mark.slow
def test_a_key_named_like_an_output_sweeps_along_its_own_dimension(tmp_path):
    scenario = write(tmp_path, GOOD)
    out = tmp_path / "sweep.nc"
    result = runner.invoke(app, ["sweep", str(scenario), "--set", "cache.hit_rate=0,0.5",
                                 "-n", "20", "-o", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    ds = xr.open_dataset(out)
    assert ds.sweep_cache_hit_rate.attrs["sweep_key"] == "cache.hit_rate"
    assert "cache_hit_rate" in ds.data_vars  # the output keeps its name
    # the cache hit rate reported is the one swept
    np.testing.assert_allclose(ds.cache_hit_rate_mean.sel(sweep_cache_hit_rate=0.5), 0.5)
    np.testing.assert_allclose(ds.cache_hit_rate_mean.sel(sweep_cache_hit_rate=0.0), 0.0)


def test_hardware_values_join_the_hardware_dimension(tmp_path):
    scenario = write(tmp_path, GOOD)
    out = tmp_path / "sweep.nc"
    hardware = "supply.hardware=h200-hgx,gb300-nvl72"
    result = runner.invoke(app, ["sweep", str(scenario), "--set", hardware, "-n", "20",
                                 "-o", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    ds = xr.open_dataset(out)
    assert list(ds.hardware.values) == ["h200-hgx", "gb300-nvl72"]
    assert float(ds.cost_per_mtok.sel(hardware="h200-hgx").max()) > 0


def test_every_bad_point_is_reported_before_anything_runs(tmp_path):
    scenario = write(tmp_path, GOOD)
    out = tmp_path / "sweep.nc"
    result = runner.invoke(app, ["sweep", str(scenario), "--set", "cache.hit_rate=0.5,1.5,-1",
                                 "--set", "users.initial=10,20", "-o", str(out)])  # fmt: skip
    assert result.exit_code == 2
    assert "cache.hit_rate" in result.output and "cache.hit_rate=1.5" in result.output
    assert "cache.hit_rate=-1" in result.output
    assert not out.exists() and not (tmp_path / "sweep.nc.points").exists()


SLOW_SWEEP = GOOD.replace("steps = 3", "steps = 365") + (
    '\n[sweep]\n"users.initial" = [100, 200, 300, 400, 500, 600, 700, 800]\n'
)


def _sweep_command(scenario: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "jevons", "sweep", str(scenario), "-o", str(out), "-n", "3000",
            "--backend", "numpy", "-q", *extra]  # fmt: skip


@pytest.mark.slow
def test_a_sweep_killed_midway_resumes_to_the_same_result(tmp_path):
    scenario = write(tmp_path, SLOW_SWEEP)
    killed, whole = tmp_path / "killed.nc", tmp_path / "whole.nc"
    points = tmp_path / "killed.nc.points"
    process = subprocess.Popen(_sweep_command(scenario, killed), start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if points.exists() and len(list(points.glob("point-*.nc"))) >= 2:
            break
        time.sleep(0.05)
    assert process.poll() is None, "the sweep finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    done = len(list(points.glob("point-*.nc")))
    assert 2 <= done < 8 and not killed.exists()

    again = subprocess.run(_sweep_command(scenario, killed), capture_output=True, text=True)
    assert again.returncode == 2 and "--resume" in again.stderr + again.stdout

    resumed = subprocess.run(
        [c for c in _sweep_command(scenario, killed, "--resume") if c != "-q"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert f"{done} reused" in resumed.stdout
    subprocess.run(_sweep_command(scenario, whole), check=True)
    a, b = xr.open_dataset(killed), xr.open_dataset(whole)
    for name in b.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values)


@pytest.mark.slow
def test_a_local_dask_cluster_gives_the_single_process_result(tmp_path):
    pytest.importorskip("distributed")
    scenario = write(tmp_path, GOOD)
    alone, dask = tmp_path / "alone.nc", tmp_path / "dask.nc"
    args = ["--set", "users.initial=100,200,300", "-n", "50", "--backend", "cpu"]
    assert runner.invoke(app, ["sweep", str(scenario), *args, "-o", str(alone)]).exit_code == 0
    result = runner.invoke(app, ["sweep", str(scenario), *args, "--workers", "2", "-o", str(dask)])
    assert result.exit_code == 0, result.output
    a, b = xr.open_dataset(alone), xr.open_dataset(dask)
    for name in a.data_vars:
        np.testing.assert_allclose(a[name].values, b[name].values, rtol=1e-12, equal_nan=True)


@pytest.mark.slow
def test_one_run_split_over_dask_workers_equals_one_process(tmp_path):
    pytest.importorskip("distributed")
    scenario = write(tmp_path, GOOD)
    alone, dask = tmp_path / "alone.nc", tmp_path / "dask.nc"
    args = ["-n", "300", "--backend", "cpu", "--summary", "sketch", "-q"]
    assert runner.invoke(app, ["run", str(scenario), *args, "-o", str(alone)]).exit_code == 0
    result = runner.invoke(app, ["run", str(scenario), *args, "--workers", "2", "-o", str(dask)])
    assert result.exit_code == 0, result.output
    a, b = xr.open_dataset(alone), xr.open_dataset(dask)
    for name in a.data_vars:
        np.testing.assert_allclose(a[name].values, b[name].values, rtol=1e-12, equal_nan=True)
