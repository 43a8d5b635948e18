"""Result files: NetCDF or Zarr, written atomically (a temporary name, then a rename).

Every result, shard and sweep checkpoint is written by :func:`write_dataset`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import xarray as xr

from jevons.errors import JevonsError

log = logging.getLogger(__name__)

FORMATS = {".nc": "netcdf", ".zarr": "zarr"}


def output_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise JevonsError(
            f"output {path}: unknown format '{path.suffix}'; use .nc (NetCDF) or .zarr (Zarr)"
        )
    return fmt


def _refuse_special_file(path: Path) -> None:
    """Only a regular file (or a new path) is ever replaced: renaming a result over a device
    (``/dev/full``, run as root) or a pipe would replace it for the whole system."""
    if path.exists() and not path.is_file() and not path.is_dir():
        raise JevonsError(
            f"output {path} is not a regular file (a device, pipe or socket); it is left"
            " alone: give a file name"
        )


def check_writable(path: str | Path) -> Path:
    """Fail before any work if ``path`` cannot be written."""
    path = Path(path)
    fmt = output_format(path)
    _refuse_special_file(path)
    if path.is_dir() and fmt != "zarr":
        raise JevonsError(
            f"output {path} is a directory; give a file name such as {path / 'run.nc'}"
        )
    if (
        fmt == "zarr"
        and path.exists()
        and not (path / "zarr.json").exists()
        and not (path / ".zgroup").exists()
    ):
        raise JevonsError(f"output {path} exists and is not a Zarr store; it is left alone")
    if not path.parent.is_dir():
        raise JevonsError(f"output folder {path.parent} does not exist (or is not a folder)")
    if not os.access(path.parent, os.W_OK):
        raise JevonsError(f"output folder {path.parent} is not writable")
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Temporary names beside PATH: ".NAME.PID.RANDOM.tmp" (the new file or store) and,
# for a Zarr store being replaced, ".NAME.PID.RANDOM.old" (the earlier store, while
# the new one is renamed in). The PID lets a later write tell a dead writer's
# leftovers from a live writer's work in progress.
STALE_AFTER_S = 60.0
_PROBE_BYTES = 1 << 20


def write_dataset(ds: xr.Dataset, path: str | Path) -> Path:
    """Write ``ds`` as NetCDF (``.nc``) or Zarr (``.zarr``), atomically.

    Both go to a temporary name beside ``path`` and are renamed into place, so a
    reader never sees a half-written result. A write that fails (a full disk, a
    file-size limit, a quota) raises :class:`JevonsError` naming the OS's reason;
    a failed or interrupted write (SIGINT, SIGTERM, SIGHUP) removes its temporary
    file and leaves any earlier result at ``path`` byte for byte as it was.
    Leftovers of a writer killed outright (SIGKILL) are removed by the next write
    to the same path.
    """
    path = check_writable(path)
    _write_atomically(ds, path, output_format(path))
    log.info("wrote %s", path)
    return path


def write_netcdf(ds: xr.Dataset, path: str | Path) -> Path:
    """Write ``ds`` as NetCDF-4 whatever the name, atomically (see :func:`write_dataset`)."""
    return _write_atomically(ds, check_writable(path), "netcdf")


def _write_atomically(ds: xr.Dataset, path: Path, fmt: str) -> Path:
    remove_stale_temporaries(path)
    with _termination_during_write() as signals:
        tmp: Path | None = None
        try:
            with signals.held():  # the name is known before a signal can act
                tmp = _make_temporary(path, directory=fmt == "zarr")
            if fmt == "zarr":
                try:
                    ds.to_zarr(tmp, mode="w", zarr_format=2, consolidated=True)
                except BaseException:
                    _stop_zarr_writes(tmp)
                    raise
                _sync_tree(tmp)
                _replace_directory(tmp, path)
            else:
                encoding = {name: {"zlib": True, "complevel": 4} for name in ds.data_vars}
                ds.to_netcdf(tmp, engine="netcdf4", encoding=encoding)
                _sync_file(tmp)
                os.replace(tmp, path)
        except (OSError, RuntimeError) as exc:
            if isinstance(exc, RuntimeError) and not _is_library_write_error(exc):
                raise
            raise JevonsError(f"cannot write {path}: {_reason(exc, tmp)}") from None
        finally:
            if tmp is not None:
                with signals.held():  # not cut short by a signal
                    _clean_up(tmp, path)
    return path


def _make_temporary(path: Path, *, directory: bool) -> Path:
    prefix, mode = f".{path.name}.{os.getpid()}.", ~_umask()
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=path.parent))
        os.chmod(tmp, 0o777 & mode)
    else:
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp = Path(name)
        os.chmod(tmp, 0o666 & mode)  # mkstemp makes it private; give it a normal file's mode
    return tmp


def _aside(tmp: Path) -> Path:
    """Where an earlier Zarr store waits while the new one (at ``tmp``) is renamed in."""
    return tmp.with_name(tmp.name.removesuffix(".tmp") + ".old")


def _replace_directory(tmp: Path, path: Path) -> None:
    # A directory cannot replace another in one rename: the earlier store is renamed
    # aside first, and removed (by _clean_up) only once the new one is in place.
    if path.exists():
        os.replace(path, _aside(tmp))
    os.replace(tmp, path)


def _clean_up(tmp: Path, path: Path) -> None:
    _remove(tmp)
    old = _aside(tmp)
    if old.exists():
        if path.exists():
            _remove(old)
        else:  # stopped between the two renames: put the earlier store back
            os.replace(old, path)


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            entry.unlink()


def _stop_zarr_writes(tmp: Path) -> None:
    """Stop what a failed or interrupted Zarr write left going, and remove what it wrote.

    Zarr writes chunks as tasks on its own event loop, in threads; when one fails
    (or this thread is interrupted) the others go on, and would write into the
    temporary store after it is removed. The queued ones are cancelled; the few
    already in a thread finish within moments, and the store is removed until it
    stays gone.
    """
    with contextlib.suppress(Exception):
        from zarr.core.sync import loop as zarr_loop

        running = zarr_loop[0]
        if running is not None and running.is_running():
            cancelled = threading.Event()

            def cancel() -> None:
                for task in asyncio.all_tasks(running):
                    task.cancel()
                cancelled.set()

            running.call_soon_threadsafe(cancel)
            cancelled.wait(timeout=5)
    deadline = time.monotonic() + 5
    while True:
        _remove(tmp)
        time.sleep(0.05)
        if not tmp.exists() or time.monotonic() > deadline:
            return


def _sync_file(path: Path) -> None:
    # Some file systems (NFS, quotas) report a full disk only here, not on write().
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_tree(folder: Path) -> None:
    for parent, _dirs, files in os.walk(folder):
        for name in files:
            _sync_file(Path(parent) / name)


def _is_library_write_error(exc: RuntimeError) -> bool:
    # netCDF4 raises RuntimeError("NetCDF: HDF error") and the like when the C library
    # fails; the OS's errno does not survive the trip.
    return str(exc).startswith(("NetCDF", "HDF"))


def _reason(exc: BaseException, tmp: Path | None) -> str:
    """The OS's reason for a failed write, in its own words ("no space left on device")."""
    if isinstance(exc, OSError) and exc.errno is not None and exc.errno > 0:
        return _strerror(exc.errno)
    # A library error hides the errno: write past the end of the temporary file (or
    # into the temporary store) ourselves, and let the OS say what is wrong.
    if tmp is not None and tmp.exists():
        probe = tmp / ".probe" if tmp.is_dir() else tmp
        try:
            with open(probe, "ab") as f:
                f.write(bytes(_PROBE_BYTES))
                f.flush()
                os.fsync(f.fileno())
        except OSError as probed:
            if probed.errno is not None and probed.errno > 0:
                return _strerror(probed.errno)
    return str(exc)


def _strerror(errno_: int) -> str:
    text = os.strerror(errno_)
    return text[:1].lower() + text[1:]


class _Terminated(BaseException):
    """Raised by a termination signal during a write, so that the write cleans up."""


class _Signals:
    """SIGINT, SIGTERM and SIGHUP received during one write."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.raised = False
        self.holding = False

    def handler(self, signum: int, _frame: object) -> None:
        if self.received is None:
            self.received = signum
        self._act()

    def _act(self) -> None:
        if self.received is not None and not self.raised and not self.holding:
            self.raised = True
            raise _Terminated(self.received)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """A signal received in this block acts when it ends."""
        self.holding = True
        try:
            yield
        finally:
            self.holding = False
        self._act()


def _ends_the_work(action: object) -> bool:
    """A signal action that stops the program: the default (which ends the process or,
    for SIGINT, raises KeyboardInterrupt), or a handler that says it does (the
    command line's, which raises ``Interrupted``)."""
    return (
        action is signal.SIG_DFL
        or action is signal.default_int_handler
        or getattr(action, "ends_the_work", False) is True
    )


@contextlib.contextmanager
def _termination_during_write() -> Iterator[_Signals]:
    """SIGINT, SIGTERM and SIGHUP stop a write cleanly: the cleanup runs, then they act.

    Only signals whose action stops the program (:func:`_ends_the_work`), and only
    in the main thread (where Python runs signal handlers), are taken over; a
    handler that lets the program go on is left alone, as is an ignored signal.
    After the cleanup the signal is raised again with its action restored, so the
    program stops as it would have, minus the temporary file.
    """
    signals = _Signals()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGINT", "SIGTERM", "SIGHUP"):
            signum = getattr(signal, name, None)
            if signum is not None and _ends_the_work(signal.getsignal(signum)):
                previous[signum] = signal.signal(signum, signals.handler)
    try:
        yield signals
    except _Terminated:
        pass
    finally:
        for signum, action in previous.items():
            signal.signal(signum, action)
    if signals.received is not None:
        signal.raise_signal(signals.received)
        raise SystemExit(128 + signals.received)  # not reached while the action is the default


def remove_stale_temporaries(path: str | Path) -> None:
    """Remove what killed writers (SIGKILL, power loss) left beside ``path``.

    Only this module's own names are touched, and only those whose writing process
    is gone and which have not changed for :data:`STALE_AFTER_S` seconds, so a
    concurrent writer's work in progress is never harmed. An earlier Zarr store
    that a killed writer had renamed aside, with nothing at ``path``, is put back.
    """
    path = Path(path)
    pattern = re.compile(rf"\.{re.escape(path.name)}\.(\d+)\.[A-Za-z0-9_]+\.(tmp|old)")
    prefix = f".{path.name}."
    try:
        entries = [entry for entry in os.scandir(path.parent) if entry.name.startswith(prefix)]
    except OSError:
        return
    now = time.time()
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match is None:
            continue
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        if age < STALE_AFTER_S or _process_exists(int(match[1])):
            continue
        stale = Path(entry.path)
        if match[2] == "old" and not path.exists():
            with contextlib.suppress(OSError):
                os.replace(stale, path)
            continue
        _remove(stale)


def _process_exists(pid: int) -> bool:
    if pid == os.getpid() or os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process, for one
        return True
    return True


def open_result(path: str | Path) -> xr.Dataset:
    """Read a result (or partial result) written by :func:`write_dataset`, into memory."""
    path = Path(path)
    if not path.exists():
        raise JevonsError(f"{path}: no such file")
    if path.suffix.lower() not in FORMATS:
        raise JevonsError(f"{path}: not a result; results are .nc (NetCDF) or .zarr (Zarr)")
    try:
        if output_format(path) == "zarr":
            return xr.open_zarr(path).load()
        with xr.open_dataset(path, engine="netcdf4") as ds:
            return ds.load()
    except (OSError, ValueError, KeyError) as exc:
        raise JevonsError(f"{path}: cannot read it as a jevons result ({exc})") from None


def write_text(text: str, path: str | Path) -> Path:
    """Write ``text`` to ``path`` atomically (temp file + rename): a reader sees the old
    file or the whole new one, never half of it."""
    return write_file(lambda tmp: tmp.write_text(text, encoding="utf-8"), path)


def check_file_target(path: str | Path) -> Path:
    """Fail before any work if a plain file cannot be written at ``path``."""
    path = Path(path)
    _refuse_special_file(path)
    if path.is_dir():
        raise JevonsError(f"output {path} is a directory; give a file name")
    if not path.parent.is_dir():
        raise JevonsError(f"output folder {path.parent} does not exist (or is not a folder)")
    if not os.access(path.parent, os.W_OK):
        raise JevonsError(f"output folder {path.parent} is not writable")
    return path


def write_file(write: Callable[[Path], object], path: str | Path) -> Path:
    """Let ``write`` fill a temporary file beside ``path``, then rename it into place.

    As for :func:`write_dataset`: a reader sees the old file or the whole new one,
    never half of it; a failed write raises :class:`JevonsError` naming the OS's
    reason, and a failed or interrupted one (SIGINT, SIGTERM, SIGHUP) removes its
    temporary file and leaves any earlier file at ``path`` as it was.
    """
    path = check_file_target(path)
    remove_stale_temporaries(path)
    with _termination_during_write() as signals:
        tmp: Path | None = None
        try:
            with signals.held():  # the name is known before a signal can act
                tmp = _make_temporary(path, directory=False)
            write(tmp)
            _sync_file(tmp)
            os.replace(tmp, path)
        except OSError as exc:
            raise JevonsError(f"cannot write {path}: {_reason(exc, tmp)}") from None
        finally:
            if tmp is not None:
                with signals.held():  # not cut short by a signal
                    _remove(tmp)
    return path
