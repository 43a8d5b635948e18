"""The compiled-code cache is sound because the kernels are the bottom layer.

``lint-imports`` (the layers contract in ``pyproject.toml``, run by CI) keeps the
kernels from importing anything above them. So every input the kernels compile
against lives in ``jevons/kernels``, and the cache's folder, named after a hash
of every file there (``compile_cache``), changes whenever one of them does.
"""

import subprocess
import sys
from pathlib import Path

import jevons.kernels

KERNELS = Path(jevons.kernels.__file__).parent


def test_the_compile_cache_key_covers_every_kernel_file(tmp_path, monkeypatch):
    from numba.core import config

    from jevons.kernels import compile_cache

    copy = tmp_path / "kernels"
    copy.mkdir()
    for path in KERNELS.glob("*.py"):
        (copy / path.name).write_text(path.read_text())
    monkeypatch.setattr(compile_cache, "__file__", str(copy / "compile_cache.py"))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(config, "CACHE_DIR", config.CACHE_DIR)  # restored afterwards

    def key():
        compile_cache._pin_compile_cache()
        return config.CACHE_DIR

    first = key()
    assert key() == first
    for path in sorted(copy.glob("*.py")):  # a change anywhere, e.g. reordered parameters
        original = path.read_text()
        path.write_text(original + "\n# changed\n")
        assert key() != first, path.name
        path.write_text(original)
    assert key() == first


def test_the_reference_model_loads_neither_pydantic_nor_scipy():
    code = (
        "import sys, jevons.kernels.reference, jevons.kernels.layout;"
        "print(sorted(m for m in ('pydantic', 'scipy', 'numba') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
