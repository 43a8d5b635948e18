"""``jevons hardware``: the roofline check and importing measured points, as a user runs them."""

import tomllib
from importlib import resources

import xarray as xr
from typer.testing import CliRunner

from jevons.cli.main import app
from tests.cli.test_cli import GOOD, write

runner = CliRunner()
TABLE = tomllib.loads(resources.files("jevons.catalog").joinpath("hardware.toml").read_text())
HEADER = "gpu,model,precision,input_tokens,output_tokens,tokens_per_s_per_gpu,token_convention"


def test_check_prints_every_measured_point_with_its_error():
    result = runner.invoke(app, ["hardware", "--check"])
    assert result.exit_code == 0, result.output
    measured = [
        p["tokens_per_s_per_gpu"]
        for entry in TABLE.values()
        for p in entry["points"]
        if "interactivity" in p
    ]
    rows = [line for line in result.output.splitlines() if "│" in line]
    assert len(rows) == len(measured)
    for row, value in zip(rows, measured, strict=True):
        cells = [c.strip() for c in row.split("│")]
        assert float(cells[5].replace(",", "")) == value
        assert cells[7].endswith("%")
    assert "Typical error" in result.output


def test_import_writes_a_profile_a_scenario_can_name(tmp_path):
    csv = tmp_path / "points.csv"
    csv.write_text(
        HEADER + ",interactivity\n"
        "h200-hgx,llama-3.1-70b,fp8,7372.5,921.5,5101.6,input+output,12.27\n"
        "h200-hgx,llama-3.1-70b,fp8,7372.5,921.5,2000,input+output,40\n"
    )
    result = runner.invoke(app, ["hardware", "import", str(csv), "-o", str(tmp_path / "p.toml")])
    assert result.exit_code == 0, result.output
    scenario = write(
        tmp_path,
        GOOD.replace('hardware = "h200-hgx"', 'hardware = [{ file = "p.toml" }]')
        + "interactivity = 30\n",
    )
    run = runner.invoke(app, ["run", str(scenario), "-n", "20", "-o", str(tmp_path / "o.nc")])
    assert run.exit_code == 0, run.output
    with xr.open_dataset(tmp_path / "o.nc") as ds:
        assert list(ds.hardware.values) == ["h200-hgx-llama-3.1-70b-fp8"]


def test_import_of_a_bad_row_names_row_and_column_and_writes_nothing(tmp_path):
    csv = tmp_path / "points.csv"
    csv.write_text(HEADER + "\nh200-hgx,llama-3.1-70b,fp8,100,100,-3,input+output\n")
    result = runner.invoke(app, ["hardware", "import", str(csv)])
    assert result.exit_code == 2
    assert "row 2, column tokens_per_s_per_gpu" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["points.csv"]


def test_scenario_naming_a_missing_profile_file_is_one_line(tmp_path):
    scenario = write(
        tmp_path, GOOD.replace('hardware = "h200-hgx"', 'hardware = [{ file = "none.toml" }]')
    )
    result = runner.invoke(app, ["run", str(scenario), "-o", str(tmp_path / "o.nc")])
    assert result.exit_code == 2
    assert "none.toml: no such file" in result.output
    assert not (tmp_path / "o.nc").exists()
