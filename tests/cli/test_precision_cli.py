"""``jevons run --precision``: as a user drives it, and its bad input."""

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

import jevons
from jevons.cli.main import app
from tests.helpers import GOOD, write

runner = CliRunner()


def test_a_precision_run_reports_the_count_it_used_and_what_it_reached(tmp_path):
    scenario = write(tmp_path, GOOD)
    out = tmp_path / "run.nc"
    result = runner.invoke(app, ["run", str(scenario), "-o", str(out), "-n", "100",
                                 "--precision", "0.05", "--backend", "numpy"])  # fmt: skip
    assert result.exit_code == 0, result.output
    ds = xr.open_dataset(out)
    n, reached = ds.attrs["trajectories"], ds.attrs["precision_achieved"]
    assert n > 100 and reached <= 0.05 and ds.attrs["precision_met"] == 1
    # the half-width, recomputed from the file's own bounds
    at = {"quantile": 0.95}
    half = (ds.total_cost_ci_high.sel(at) - ds.total_cost_ci_low.sel(at)) / 2
    assert float((half / ds.total_cost.sel(at)).max()) == pytest.approx(reached)
    assert f"reached at {n:,} trajectories" in result.output.replace("\n", " ")


def test_the_library_takes_the_same_target(tmp_path):
    ds = jevons.run(GOOD, trajectories=100, backend="numpy", precision=0.5, max_trajectories=100)
    assert ds.attrs["trajectories"] == 100 and ds.attrs["precision_target"] == 0.5
    met = ds.attrs["precision_achieved"] <= 0.5
    assert ds.attrs["precision_met"] == int(met)
    assert np.isfinite(ds.attrs["precision_achieved"])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--precision", "0"], "--precision must lie in (0, 1)"),
        (["--precision", "1"], "--precision must lie in (0, 1)"),
        (["--precision", "-0.1"], "--precision must lie in (0, 1)"),
        (["--precision", "0.01", "--precision-of", "users"], "--precision-of 'users'"),
        (["--precision-of", "max_peak_gpus"], "go with --precision"),
        (["--max-trajectories", "1000"], "go with --precision"),
        (["--precision", "0.01", "--max-trajectories", "10"], "--max-trajectories 10 is below"),
        (["--precision", "0.01", "--shard", "1/2"], "not with --shard"),
        (
            ["--precision", "0.01", "--sensitivity"],
            "not with --workers, --scheduler or --sensitivity",
        ),
        (["--precision", "0.01", "--keep-trajectories"], "--keep-trajectories and --sensitivity"),
    ],
)
def test_bad_precision_options_give_one_line_and_write_nothing(tmp_path, options, message):
    scenario = write(tmp_path, GOOD)
    out = tmp_path / "run.nc"
    result = runner.invoke(
        app, ["run", str(scenario), "-o", str(out), "-n", "20", "--backend", "numpy", *options]
    )
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.output
    assert list(tmp_path.iterdir()) == [scenario]


@pytest.mark.parametrize("given", [dict(precision_of="max_peak_gpus"), dict(max_trajectories=1000)])
def test_the_library_refuses_companions_without_a_target(given):
    with pytest.raises(jevons.JevonsError, match="go with --precision"):
        jevons.run(GOOD, trajectories=20, backend="numpy", **given)
