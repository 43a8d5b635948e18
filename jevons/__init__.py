"""jevons: Monte Carlo forecasts of LLM token demand, GPU capacity and cost per token."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("jevons")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
