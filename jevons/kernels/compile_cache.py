"""Where compiled kernels are cached on disk; imported by every compiled module.

Numba's on-disk cache notices when a compiled function's own file changes, but
not when a function it calls, in another file, does. The compiled kernels are
therefore cached in a folder named after a hash of this package's source, so
changed kernels never run stale machine code. ``NUMBA_CACHE_DIR``, when set,
is respected as is. Where the user's cache folder cannot be written (a read-only
home on a batch node), the cache goes to the temporary folder instead: numba
refuses to compile a cached function with nowhere to write it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from numba.core import config


def _pin_compile_cache() -> None:
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    digest = hashlib.sha256()
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.read_bytes())
    name = Path("jevons", "numba", digest.hexdigest()[:16])
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    for base in (home, Path(tempfile.gettempdir(), f"jevons-cache-{os.getuid()}")):
        folder = base / name
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK | os.X_OK):
            config.CACHE_DIR = str(folder)
            return


_pin_compile_cache()
