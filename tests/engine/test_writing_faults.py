"""Faults while writing a result: a full disk, a size limit, signals, a killed writer.

Every result, shard and checkpoint goes through ``write_dataset``; whatever goes
wrong, an earlier file at the path stays byte for byte as it was and no temporary
file is left beside it.
"""

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from jevons.engine.output.files import STALE_AFTER_S, open_result, write_dataset
from jevons.errors import JevonsError

ROOT = Path(__file__).resolve().parents[2]
SMALL = xr.Dataset({"a": (("x",), np.arange(3.0))})


def _python(script: str, *args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", script, *args], env=env, text=True, **kwargs
    )  # fmt: skip


def _snapshot(path: Path) -> dict[str, bytes]:
    """Every file of a result (a NetCDF file, or a Zarr store) with its bytes."""
    if path.is_file():
        return {"": path.read_bytes()}
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_a_full_disk_names_the_reason_and_keeps_the_earlier_result(tmp_path, monkeypatch, suffix):
    target = tmp_path / f"run{suffix}"
    write_dataset(SMALL, target)
    before = _snapshot(target)
    method = "to_zarr" if suffix == ".zarr" else "to_netcdf"

    def full_disk(self, store, *args, **kwargs):
        partial = Path(store) / "a" if suffix == ".zarr" else Path(store)
        partial.parent.mkdir(exist_ok=True)
        partial.write_bytes(b"\0" * 100)  # part of the file made it to disk
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(partial))

    monkeypatch.setattr(xr.Dataset, method, full_disk)
    with pytest.raises(JevonsError) as raised:
        write_dataset(SMALL * 2, target)
    assert str(raised.value) == f"cannot write {target}: no space left on device"
    assert _snapshot(target) == before
    assert _leftovers(tmp_path) == []


def test_a_library_error_that_is_not_about_the_disk_is_reported_as_is(tmp_path, monkeypatch):
    def hdf_error(self, *args, **kwargs):
        raise RuntimeError("NetCDF: HDF error")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", hdf_error)
    with pytest.raises(JevonsError, match=r"^cannot write .*run\.nc: NetCDF: HDF error$"):
        write_dataset(SMALL, tmp_path / "run.nc")
    assert _leftovers(tmp_path) == []


SIZE_LIMITED = r"""
import json, os, resource, signal, sys
import numpy as np, xarray as xr
from jevons.engine.output.files import write_dataset
from jevons.errors import JevonsError

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, resource.RLIM_INFINITY))
big = xr.Dataset({"a": (("x",), np.random.default_rng(0).random(200_000))})
messages = []
for target in sys.argv[1:]:
    try:
        write_dataset(big, target)
        messages.append("written")
    except JevonsError as exc:
        messages.append(str(exc))
print(json.dumps(messages))
"""


@pytest.mark.slow
def test_a_file_size_limit_names_the_reason_and_keeps_the_earlier_result(tmp_path):
    # netCDF4 reports this as RuntimeError("NetCDF: HDF error"); the errno is found again.
    targets = [tmp_path / "run.nc", tmp_path / "run.zarr"]
    for target in targets:
        write_dataset(SMALL, target)
    before = [_snapshot(target) for target in targets]
    child = _python(SIZE_LIMITED, *map(str, targets), stdout=subprocess.PIPE)
    stdout, _ = child.communicate(timeout=120)
    assert child.returncode == 0
    assert json.loads(stdout) == [f"cannot write {target}: file too large" for target in targets]
    assert [_snapshot(target) for target in targets] == before
    assert _leftovers(tmp_path) == []


SLOW_WRITE = r"""
import sys, time
import numpy as np, xarray as xr
from jevons.engine.output.files import write_dataset

def slow(real):
    def write(self, store, *args, **kwargs):
        real(self, store, *args, **kwargs)  # the temporary file is on disk...
        print("writing", flush=True)
        time.sleep(60)  # ...and the write goes on
    return write

xr.Dataset.to_netcdf = slow(xr.Dataset.to_netcdf)
xr.Dataset.to_zarr = slow(xr.Dataset.to_zarr)
write_dataset(xr.Dataset({"a": (("x",), np.arange(1000.0))}), sys.argv[1])
"""


def _stopped_mid_write(target: Path, signum: int) -> subprocess.Popen:
    child = _python(SLOW_WRITE, str(target), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert child.stdout.readline() == "writing\n"
    assert _leftovers(target.parent)  # the temporary file, mid-write
    child.send_signal(signum)
    child.wait(timeout=30)
    return child


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "suffix"),
    [(signal.SIGTERM, ".nc"), (signal.SIGTERM, ".zarr"), (signal.SIGHUP, ".nc")],
    ids=["SIGTERM-nc", "SIGTERM-zarr", "SIGHUP-nc"],
)
def test_a_signal_mid_write_removes_the_temporary_and_keeps_the_earlier_result(
    tmp_path, signum, suffix
):
    target = tmp_path / f"run{suffix}"
    write_dataset(SMALL, target)
    before = _snapshot(target)
    child = _stopped_mid_write(target, signum)
    assert child.returncode == -signum  # the signal still ends the process, as by default
    assert _leftovers(tmp_path) == []
    assert _snapshot(target) == before


@pytest.mark.slow
def test_leftovers_of_a_killed_writer_are_removed_by_the_next_write(tmp_path):
    target = tmp_path / "run.nc"
    killed = _stopped_mid_write(target, signal.SIGKILL)
    [leftover] = _leftovers(tmp_path)
    assert f".{killed.pid}." in leftover  # the writer's PID is in the name
    # A dead writer's file untouched for a while goes; a fresh one, or one whose
    # writer still runs, may be a concurrent write in progress and stays.
    alive = tmp_path / f".run.nc.{os.getppid()}.abcdefgh.tmp"
    fresh = tmp_path / f".run.nc.{killed.pid}.ijklmnop.tmp"
    other = tmp_path / f".other.nc.{killed.pid}.qrstuvwx.tmp"
    for path in (alive, fresh, other):
        path.write_bytes(b"")
    old = time.time() - 2 * STALE_AFTER_S
    for path in (tmp_path / leftover, alive, other):
        os.utime(path, (old, old))
    write_dataset(SMALL, target)
    assert _leftovers(tmp_path) == sorted(p.name for p in (alive, fresh, other))
    xr.testing.assert_identical(open_result(target), SMALL)


def test_a_zarr_store_a_killed_writer_renamed_aside_is_put_back(tmp_path, monkeypatch):
    # Killed between its two renames, a writer leaves the earlier store aside and none at PATH.
    target = tmp_path / "run.zarr"
    write_dataset(SMALL, target)
    before = _snapshot(target)
    aside = tmp_path / f".run.zarr.{_exited_pid()}.abcdefgh.old"
    os.replace(target, aside)
    old = time.time() - 2 * STALE_AFTER_S
    os.utime(aside, (old, old))

    def full_disk(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(xr.Dataset, "to_zarr", full_disk)
    with pytest.raises(JevonsError, match="no space left on device"):
        write_dataset(SMALL * 2, target)
    assert _snapshot(target) == before
    assert _leftovers(tmp_path) == []


def _exited_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid
