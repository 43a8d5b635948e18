"""``jevons export`` as a user drives it: the file it writes, and each kind of bad input."""

import shutil
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from jevons.cli.main import app
from tests.helpers import GOOD

runner = CliRunner()


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("export")
    scenario = folder / "good.toml"
    scenario.write_text(GOOD)
    path = folder / "good.nc"
    done = runner.invoke(app, ["run", str(scenario), "-o", str(path), "--backend", "numpy", "-q"])
    assert done.exit_code == 0, done.output
    return path


def _rows(path: Path) -> int:
    with xr.open_dataset(path) as ds:
        return sum(
            ds[name].size
            for name in [*ds.data_vars, *(c for c in ds.coords if c not in ds.dims)]
            if ds[name].dtype.kind == "f"
        )


def test_default_output_is_named_after_the_result(result, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    done = runner.invoke(app, ["export", str(result)])
    assert done.exit_code == 0, done.output
    rows = _rows(result)
    assert done.output.strip() == f"wrote {rows:,} rows to good.csv (csv)"
    table = pd.read_csv(tmp_path / "good.csv")
    assert len(table) == rows
    assert set(table["hardware"].dropna()) == {"h200-hgx"}


@pytest.mark.slow
def test_parquet_by_option_or_by_name(result, tmp_path):
    by_name, by_option = tmp_path / "a.parquet", tmp_path / "b.data"
    for args in (["-o", str(by_name)], ["-o", str(by_option), "--format", "parquet"]):
        done = runner.invoke(app, ["export", str(result), *args, "-q"])
        assert done.exit_code == 0, done.output
        assert done.output == ""
    pd.testing.assert_frame_equal(pd.read_parquet(by_name), pd.read_parquet(by_option))
    assert len(pd.read_parquet(by_name)) == _rows(result)


def _garbage(folder: Path) -> Path:
    path = folder / "garbage.nc"
    path.write_text("not a NetCDF file\n")
    return path


def _truncated(folder: Path, result: Path) -> Path:
    path = folder / "truncated.nc"
    path.write_bytes(result.read_bytes()[:4000])
    return path


def _copy(folder: Path, result: Path) -> Path:
    return Path(shutil.copy(result, folder / "copy.nc"))


BAD = {
    "missing result": (lambda f, r: [str(f / "nope.nc")], "nope.nc: no such file"),
    "corrupt result": (lambda f, r: [str(_garbage(f))], "cannot read it as a jevons result"),
    "truncated result": (lambda f, r: [str(_truncated(f, r))], "cannot read it as a jevons"),
    "not a result": (lambda f, r: [str(f / "x.csv")], "not a result; results are .nc"),
    "unknown format": (lambda f, r: [str(r), "--format", "xlsx"], "unknown format 'xlsx'"),
    "unknown suffix": (lambda f, r: [str(r), "-o", str(f / "t.xlsx")], "unknown format '.xlsx'"),
    "suffix and format differ": (
        lambda f, r: [str(r), "-o", str(f / "t.csv"), "-f", "parquet"],
        "names csv, but the format asked for is parquet",
    ),
    "no such folder": (
        lambda f, r: [str(r), "-o", str(f / "missing" / "t.csv")],
        "output folder",
    ),
    "output is a folder": (lambda f, r: [str(r), "-o", str(f), "-f", "csv"], "is a directory"),
    "output is the result": (
        lambda f, r: [str(_copy(f, r)), "-o", str(f / "copy.nc"), "-f", "csv"],
        "is the result itself",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_line_exit_2_and_writes_nothing(result, tmp_path, monkeypatch, case):
    monkeypatch.chdir(tmp_path)
    arguments, expected = BAD[case]
    if case == "not a result":
        (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    args = arguments(tmp_path, result)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    done = runner.invoke(app, ["export", *args])
    assert done.exit_code == 2, done.output
    lines = done.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.output
    assert expected in lines[0]
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert after == before  # nothing written, nothing changed
    assert not any(p.is_dir() for p in tmp_path.iterdir())
