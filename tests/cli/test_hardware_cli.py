"""``jevons hardware``: the roofline check and importing measured points, as a user runs them."""

import tomllib
from importlib import resources
from pathlib import Path

import pytest
import xarray as xr
from typer.testing import CliRunner

from jevons.cli.main import app
from tests.helpers import GOOD, write

runner = CliRunner()
TABLE = tomllib.loads(resources.files("jevons.catalog").joinpath("hardware.toml").read_text())
HEADER = "gpu,model,precision,input_tokens,output_tokens,tokens_per_s_per_gpu,token_convention"


@pytest.mark.slow
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


POINT = (
    'model = "deepseek-r1", precision = "fp8", input_tokens = 8000, output_tokens = 1000,'
    " tokens_per_s_per_gpu = 90.0"
)
HOSTILE_PROFILES = {
    "unknown model": (
        '[{ gpu = "h100-sxm", model = "gpt-9" }]',
        "unknown model 'gpt-9'",
    ),
    "no token convention": (
        f'[{{ key = "p", gpu = "h200-hgx", points = [{{ {POINT} }}] }}]',
        "token_convention: missing required key",
    ),
    "zero rate": (
        f'[{{ key = "p", gpu = "h200-hgx", points = [{{ {POINT.replace("90.0", "0.0")},'
        ' token_convention = "input+output" }] }]',
        "tokens_per_s_per_gpu",
    ),
    "inconsistent point": (
        f'[{{ key = "p", gpu = "h200-hgx", points = [{{ {POINT.replace("90.0", "90000.0")},'
        ' token_convention = "input+output" }] }]',
        "hardware 'p': the point 90000 tok/s/GPU",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_PROFILES))
def test_hostile_profiles_get_one_line_and_no_output(tmp_path, case):
    profiles, message = HOSTILE_PROFILES[case]
    scenario = write(tmp_path, GOOD.replace('hardware = "h200-hgx"', f"hardware = {profiles}"))
    out = tmp_path / "o.nc"
    result = runner.invoke(app, ["run", str(scenario), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "Traceback" not in result.output and not out.exists()


def test_the_readme_shows_the_current_check_table():
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    printed = runner.invoke(app, ["hardware", "--check"]).output.rstrip()
    assert "```\n" + printed + "\n```" in readme
