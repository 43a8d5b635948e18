"""``--threshold`` and ``[risk.thresholds]`` through the command line."""

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from jevons.cli.main import app
from tests.helpers import GOOD, write

runner = CliRunner()

# test_cli's scenario, with more trajectories and a wider spread of users
SCENARIO = GOOD.replace("trajectories = 20", "trajectories = 50").replace(
    "p95 = 2000", "p95 = 3000"
)


def test_options_add_to_the_scenario_table(tmp_path):
    # thresholds picked from a first run's kept totals, so that the counts say something
    first = tmp_path / "first.nc"
    scenario = write(tmp_path, SCENARIO)
    result = runner.invoke(app, ["run", str(scenario), "-o", str(first), "--keep-trajectories"])
    assert result.exit_code == 0, result.output
    with xr.open_dataset(first) as ds:
        cost = ds.trajectory_total_cost.values[0]
        peak = ds.trajectory_max_peak_gpus.values[0]
    from_file, from_option = float(np.quantile(cost, 0.3)), float(np.quantile(cost, 0.9))
    scenario = write(tmp_path, SCENARIO + f"\n[risk.thresholds]\ntotal_cost = {from_file!r}\n")
    out = tmp_path / "risk.nc"
    result = runner.invoke(
        app,
        ["run", str(scenario), "-o", str(out), "--threshold", f"total_cost={from_option!r}",
         "--threshold", f"max_peak_gpus={float(np.median(peak))!r}"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "P(total cost > " in result.output and "P(max peak GPUs > " in result.output
    with xr.open_dataset(out) as ds:
        probability = ds.total_cost_exceedance_probability.sel(hardware="h200-hgx")
        np.testing.assert_array_equal(ds.total_cost_threshold, [from_file, from_option])
        expected = [np.count_nonzero(cost > t) / len(cost) for t in (from_file, from_option)]
        np.testing.assert_array_equal(probability.values, expected)
        assert 0 < expected[1] < expected[0] < 1
        peak_probability = float(ds.max_peak_gpus_exceedance_probability.squeeze())
        assert peak_probability == np.count_nonzero(peak > np.median(peak)) / len(peak)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("total_tokens=5", "--threshold total_tokens=5: exceedance probabilities are computed"),
        ("gpus=5", "--threshold gpus=5: exceedance probabilities are computed"),
        ("total_cost=-1", "--threshold total_cost=-1: must be at least 0"),
        ("total_cost=inf", "--threshold total_cost=inf: must be finite"),
        ("max_peak_gpus=nan", "--threshold max_peak_gpus=nan: must be finite"),
        ("total_cost=lots", "--threshold total_cost=lots: 'lots' is not a number"),
        ("total_cost", "--threshold takes NAME=VALUE"),
    ],
)
def test_a_bad_option_is_one_line_and_writes_nothing(tmp_path, option, message):
    out = tmp_path / "out.nc"
    args = ["run", str(write(tmp_path, SCENARIO)), "-o", str(out), "--threshold", option]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("table", "key", "message"),
    [
        ("total_tokens = 5", "risk.thresholds.total_tokens", "exceedance probabilities are"),
        ("total_cost = [1e6, -2]", "risk.thresholds.total_cost[1]", "must be at least 0"),
        ("max_peak_gpus = inf", "risk.thresholds.max_peak_gpus", "must be finite"),
        ("total_cost = nan", "risk.thresholds.total_cost", "must be finite"),
    ],
)
def test_a_bad_table_is_one_line_naming_the_key(tmp_path, table, key, message):
    out = tmp_path / "out.nc"
    scenario = write(tmp_path, SCENARIO + f"\n[risk.thresholds]\n{table}\n")
    result = runner.invoke(app, ["run", str(scenario), "-o", str(out)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and f"{key}: {message}" in lines[0], result.output
    assert not out.exists()
