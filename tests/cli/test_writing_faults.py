"""Writing faults as a user meets them: one line naming the reason, exit code 2."""

import contextlib
import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr
from typer.testing import CliRunner

from jevons.cli import console
from jevons.cli.main import app
from jevons.engine.output.files import open_result
from tests.helpers import GOOD, write

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
NO_SPACE = os.strerror(errno.ENOSPC).lower()
FAST = ["--backend", "numpy"]  # no compiling


def _disk_fills_up(monkeypatch):
    """Every NetCDF or Zarr write fails part-way, as on a full disk."""

    def full(self, store, *args, **kwargs):
        partial = Path(store) / "part" if Path(store).is_dir() else Path(store)
        partial.write_bytes(b"\0" * 100)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(partial))

    monkeypatch.setattr(xr.Dataset, "to_netcdf", full)
    monkeypatch.setattr(xr.Dataset, "to_zarr", full)


def _lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line]  # the progress bar leaves a blank


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_run_on_a_full_disk_keeps_the_earlier_result(tmp_path, monkeypatch, suffix):
    scenario = write(tmp_path, GOOD)
    target = tmp_path / f"run{suffix}"
    first = runner.invoke(app, ["run", str(scenario), "-o", str(target), "-q", *FAST])
    assert first.exit_code == 0, first.output
    before = _files(tmp_path)
    _disk_fills_up(monkeypatch)
    result = runner.invoke(app, ["run", str(scenario), "-o", str(target), "--seed", "9", *FAST])
    assert result.exit_code == 2, result.output
    assert _lines(result.output) == [f"error: cannot write {target}: {NO_SPACE}"]
    assert _files(tmp_path) == before  # the earlier result, and no temporary file


@pytest.mark.slow
def test_merge_on_a_full_disk_keeps_the_earlier_result(tmp_path, monkeypatch):
    scenario = write(tmp_path, GOOD)
    shards = [tmp_path / f"s{i}.nc" for i in (1, 2)]
    for i, shard in enumerate(shards, 1):
        made = runner.invoke(
            app, ["run", str(scenario), "--shard", f"{i}/2", "-o", str(shard), *FAST]
        )
        assert made.exit_code == 0, made.output
    target = tmp_path / "merged.nc"
    target.write_bytes(b"an earlier result")
    before = _files(tmp_path)
    _disk_fills_up(monkeypatch)
    result = runner.invoke(app, ["merge", *map(str, shards), "-o", str(target)])
    assert result.exit_code == 2, result.output
    assert _lines(result.output) == [f"error: cannot write {target}: {NO_SPACE}"]
    assert _files(tmp_path) == before


def test_a_sweep_checkpoint_on_a_full_disk_stops_the_sweep_with_one_line(tmp_path, monkeypatch):
    scenario = write(tmp_path, GOOD)
    target = tmp_path / "sweep.nc"
    _disk_fills_up(monkeypatch)
    result = runner.invoke(app, ["sweep", str(scenario), "--set", "users.initial=100,1000",
                                 "-o", str(target), *FAST])  # fmt: skip
    assert result.exit_code == 2, result.output
    [line] = _lines(result.output)
    points = tmp_path / "sweep.nc.points"
    assert line.startswith(f"error: cannot write {points / 'point-00000-'}")
    assert line.endswith(f".nc: {NO_SPACE}")
    # nothing finished: the sweep leaves no checkpoint folder and no result
    assert not points.exists() and not target.exists()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_a_full_standard_output_stops_the_summary_with_one_line(tmp_path, monkeypatch):
    scenario = write(tmp_path, GOOD)
    target = tmp_path / "run.nc"
    full = open("/dev/full", "w")
    # the private attribute: undoing it restores "whatever sys.stdout is" (None), not the
    # stream sys.stdout happened to be now
    monkeypatch.setattr(console.out, "_file", full)
    result = runner.invoke(app, ["run", str(scenario), "-o", str(target), *FAST])
    with contextlib.suppress(OSError):  # it flushes what could not be written, and fails
        full.close()
    assert result.exit_code == 2, result.output
    assert _lines(result.output) == [f"error: cannot write to standard output: {NO_SPACE}"]
    assert open_result(target).sizes["time"] == 3  # the result was written before the summary


@pytest.mark.slow
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_jevons_run_into_dev_full(tmp_path):
    scenario = write(tmp_path, GOOD)
    target = tmp_path / "run.nc"
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "jevons", "run", str(scenario), "-o", str(target), *FAST],
            stdout=full, stderr=subprocess.PIPE, text=True, timeout=120,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
    assert done.returncode == 2
    assert _lines(done.stderr) == [f"error: cannot write to standard output: {NO_SPACE}"]
    assert open_result(target).sizes["time"] == 3
