"""The command line in a batch job: --version, --verbose, progress only on a terminal,
exit codes, and SIGINT or SIGTERM at any moment of a run or a sweep."""

import os
import pty
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

import jevons
from jevons.cli.main import app
from jevons.engine.execution.run import NonFiniteResultError
from jevons.engine.output.files import write_dataset
from tests.helpers import GOOD, write

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()

# A year of days: a run of 10^8 trajectories takes hours, so a signal sent once it has
# started always finds it running; a few thousand take a second or two.
LONG = GOOD.replace("steps = 3", "steps = 365")
EARLIER = xr.Dataset({"earlier": (("x",), np.arange(5.0))})


def jevons_command(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color"}
    return subprocess.Popen(
        [sys.executable, "-m", "jevons", *args], env=env, text=True, **kwargs
    )  # fmt: skip


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"jevons {jevons.__version__}\n"


def test_verbose_logs_the_plan_on_stderr_and_quiet_runs_say_nothing(tmp_path):
    scenario = write(tmp_path, GOOD)
    out = tmp_path / "out.nc"
    args = ["run", str(scenario), "-o", str(out), "-n", "20", "--backend", "numpy", "-q"]
    result = runner.invoke(app, ["--verbose", *args])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "20 trajectories x 3 steps, seed 0, exact summary" in result.stderr
    assert "simulating trajectories 0..19 on the numpy backend, chunks of 20" in result.stderr
    assert f"wrote {out}" in result.stderr
    quiet = runner.invoke(app, args)
    assert quiet.exit_code == 0 and quiet.stdout == "" and quiet.stderr == ""


def _stderr_on_a_terminal(args: list[str]) -> tuple[int, str]:
    """Run jevons with its stderr on a pseudo-terminal; its exit code and what it showed."""
    leader, follower = pty.openpty()
    child = jevons_command(*args, stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    shown = bytearray()

    def drain() -> None:  # a full terminal would stop the child mid-write
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the child closed the terminal
                return
            if not chunk:
                return
            shown.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    code = child.wait(timeout=600)
    reader.join(timeout=60)
    os.close(leader)
    return code, shown.decode(errors="replace")


@pytest.mark.slow
def test_progress_is_shown_on_a_terminal_only_and_never_with_quiet(tmp_path):
    scenario = write(tmp_path, LONG)
    args = ["run", str(scenario), "-n", "5000", "--backend", "numpy"]
    code, shown = _stderr_on_a_terminal([*args, "-o", str(tmp_path / "a.nc")])
    assert code == 0 and "simulating" in shown and "steps" in shown
    code, shown = _stderr_on_a_terminal([*args, "-o", str(tmp_path / "b.nc"), "-q"])
    assert code == 0 and shown == ""
    piped = jevons_command(
        *args, "-o", str(tmp_path / "c.nc"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert piped.communicate(timeout=600)[1] == ""  # a log file gets no bar
    assert piped.returncode == 0


@pytest.mark.slow
def test_an_internal_error_exits_with_1_in_one_line(tmp_path, monkeypatch):
    def broken(ds):
        raise NonFiniteResultError("internal error: cost came out non-finite; please report it")

    monkeypatch.setattr("jevons.engine.execution.run.check_finite", broken)
    out = tmp_path / "out.nc"
    result = runner.invoke(app, ["run", str(write(tmp_path, GOOD)), "-o", str(out)])
    assert result.exit_code == 1
    assert result.output == "error: internal error: cost came out non-finite; please report it\n"
    assert not out.exists()


def _wait_for(child: subprocess.Popen, words: str) -> list[str]:
    """Read the child's stderr until a line holds ``words``; the lines read."""
    lines = []
    for line in child.stderr:
        lines.append(line)
        if words in line:
            return lines
    child.wait(timeout=60)
    raise AssertionError(f"ended ({child.returncode}) before {words!r}:\n{''.join(lines)}")


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"]
)
def test_a_signal_mid_run_leaves_the_earlier_result_and_exits_with_one_line(tmp_path, signum, code):
    scenario = write(tmp_path, LONG)
    out = write_dataset(EARLIER, tmp_path / "out.nc")
    before = out.read_bytes()
    child = jevons_command(
        "--verbose", "run", str(scenario), "-o", str(out), "-n", "100000000",
        "--summary", "sketch", "--backend", "numpy", stderr=subprocess.PIPE,
    )  # fmt: skip
    _wait_for(child, "simulating trajectories")
    child.send_signal(signum)
    rest = child.stderr.read()
    assert child.wait(timeout=120) == code
    name = signal.Signals(signum).name
    assert rest.splitlines()[-1] == (
        f"error: interrupted by {name}; {out} not written (an earlier file there is left as it was)"
    )
    assert "Traceback" not in rest
    assert out.read_bytes() == before
    assert _leftovers(tmp_path) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"]
)
def test_a_signal_mid_sweep_keeps_the_finished_points_for_resume(tmp_path, signum, code):
    scenario = write(tmp_path, LONG)
    out = write_dataset(EARLIER, tmp_path / "sweep.nc")
    before = out.read_bytes()
    # the first point is quick, the second runs until the signal comes
    child = jevons_command(
        "--verbose", "sweep", str(scenario), "-o", str(out), "--backend", "numpy",
        "--summary", "sketch", "--set", "simulation.trajectories=20,100000000",
        stderr=subprocess.PIPE,
    )  # fmt: skip
    _wait_for(child, "sweep: 1 of 2 points done")
    _wait_for(child, "simulating trajectories")
    child.send_signal(signum)
    rest = child.stderr.read()
    assert child.wait(timeout=120) == code
    points = tmp_path / "sweep.nc.points"
    assert rest.splitlines()[-1] == (
        f"error: interrupted by {signal.Signals(signum).name}; {out} not written (an earlier"
        f" file there is left as it was); 1 finished point kept in {points}: continue with"
        " --resume"
    )
    assert "Traceback" not in rest
    assert out.read_bytes() == before
    assert len(list(points.glob("point-*.nc"))) == 1
    assert _leftovers(tmp_path) == [] and _leftovers(points) == []


SLOW_WRITE = r"""
import sys, time
import numpy as np, xarray as xr
from jevons.cli.interrupts import signals_stop_the_command
from jevons.engine.output.files import write_dataset

def slow(self, *args, **kwargs):
    real(self, *args, **kwargs)  # the temporary file is on disk...
    print("writing", flush=True)
    time.sleep(60)  # ...and the write goes on

real, xr.Dataset.to_netcdf = xr.Dataset.to_netcdf, slow
with signals_stop_the_command():
    write_dataset(xr.Dataset({"a": (("x",), np.arange(1000.0))}), sys.argv[1])
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"]
)
def test_a_signal_mid_write_removes_the_temporary_file_first(tmp_path, signum, code):
    out = write_dataset(EARLIER, tmp_path / "out.nc")
    before = out.read_bytes()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITE, str(out)], env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert child.stdout.readline() == "writing\n"
    assert _leftovers(tmp_path)  # the temporary file, mid-write
    child.send_signal(signum)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == code
    assert stderr == f"error: interrupted by {signal.Signals(signum).name}\n"
    assert out.read_bytes() == before
    assert _leftovers(tmp_path) == []
