"""The kernels are the bottom layer: they import nothing above them.

That also makes the compiled-code cache sound: its folder is named after a hash
of every file in ``jevons/kernels`` (``compile_cache``), so every input the
kernels compile against must live there.
"""

import ast
import subprocess
import sys
from pathlib import Path

import jevons.kernels

KERNELS = Path(jevons.kernels.__file__).parent


def jevons_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return {name for name in names if name == "jevons" or name.startswith("jevons.")}


def test_kernels_import_only_kernels():
    outside = {
        path.name: sorted(n for n in jevons_imports(path) if not n.startswith("jevons.kernels"))
        for path in KERNELS.glob("*.py")
    }
    assert {name: found for name, found in outside.items() if found} == {}


def test_kernels_never_name_the_engine():
    assert [p.name for p in KERNELS.glob("*.py") if "jevons.engine" in p.read_text()] == []


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
