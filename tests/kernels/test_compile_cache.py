"""The compiled kernels' cache folder: the user's cache, else the temporary folder."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

CODE = """
from numba import njit
from numba.core import config
import jevons.kernels.compile_cache

@njit(cache=True)
def twice(x):
    return 2 * x

assert twice(21) == 42
print(config.CACHE_DIR)
"""


def cache_folder_with(tmp_path: Path, cache_home: Path) -> Path:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(XDG_CACHE_HOME=str(cache_home), TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir(exist_ok=True)
    script = tmp_path / "cached.py"  # numba caches functions of files only
    script.write_text(CODE)
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return Path(done.stdout.strip())


@pytest.mark.slow
def test_cache_goes_to_the_users_cache_folder(tmp_path):
    folder = cache_folder_with(tmp_path, tmp_path / "cache")
    assert folder.is_relative_to(tmp_path / "cache" / "jevons" / "numba")
    assert any(folder.rglob("*.nbi"))  # the cached function's index was written there


@pytest.mark.slow
def test_an_unwritable_cache_home_falls_back_to_the_temporary_folder(tmp_path):
    """A cache home that cannot hold a folder (here a file, as a read-only home is for a
    non-root user) must not stop a run: numba refuses to compile with nowhere to cache."""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    folder = cache_folder_with(tmp_path, blocked)
    assert folder.is_relative_to(tmp_path / "tmp")
    assert any(folder.rglob("*.nbi"))
