"""Where compiled kernels are cached on disk; imported by every compiled module.

Numba's on-disk cache notices when a compiled function's own file changes, but
not when a function it calls, in another file, does. The compiled kernels are
therefore cached in a folder named after a hash of this package's source, so
changed kernels never run stale machine code. ``NUMBA_CACHE_DIR``, when set,
is respected as is.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from numba.core import config


def _pin_compile_cache() -> None:
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    digest = hashlib.sha256()
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.read_bytes())
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    config.CACHE_DIR = str(base / "jevons" / "numba" / digest.hexdigest()[:16])


_pin_compile_cache()
