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
from tests.conftest import TRACES
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


def test_only_a_regular_file_or_a_new_path_is_ever_replaced(tmp_path):
    """Run as root, a rename over /dev/full replaced the system's device. A FIFO stands in
    for a device here: every command that writes a file refuses it, before any work."""
    import stat

    runner = CliRunner()
    scenario = write(tmp_path, GOOD)
    result = tmp_path / "result.nc"
    done = runner.invoke(
        app, ["run", str(scenario), "--backend", "numpy", "-q", "-o", str(result)]
    )
    assert done.exit_code == 0, done.output
    trace = TRACES / "mooncake_conversation_trace.jsonl"
    points = tmp_path / "points.csv"
    points.write_text("profile,gpu\n")
    fifos = {}
    for suffix in (".nc", ".html", ".csv", ".json", ".toml"):
        fifos[suffix] = tmp_path / f"fifo{suffix}"
        os.mkfifo(fifos[suffix])
    nc, html, csv, json, toml = (str(f) for f in fifos.values())
    commands = {
        "run": ["run", str(scenario), "-o", nc],
        "sweep": ["sweep", str(scenario), "--set", "simulation.trajectories=5,6", "-o", nc],
        "merge": ["merge", str(result), str(result), "-o", nc],
        "report": ["report", str(result), "-o", html],
        "export": ["export", str(result), "-o", csv],
        "sensitivity": ["sensitivity", str(result), "-o", nc],
        "schema": ["schema", "-o", json],
        "calibrate": ["calibrate", str(trace), "-o", toml],
        "calibrate --into": ["calibrate", str(trace), "--into", str(scenario), "-o", toml],
        "hardware import": ["hardware", "import", str(points), "-o", toml],
    }
    for name, arguments in commands.items():
        done = runner.invoke(app, arguments)
        assert done.exit_code == 2, (name, done.output)
        errors = [line for line in done.output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "not a regular file" in errors[0], (name, done.output)
        assert "Traceback" not in done.output, name
        assert all(stat.S_ISFIFO(os.lstat(f).st_mode) for f in fifos.values()), name
