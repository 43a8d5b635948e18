"""The version, importable from any module without the package's library API."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("jevons")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
