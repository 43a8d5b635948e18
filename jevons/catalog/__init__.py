"""The catalog: data only, each entry with its source.

* ``hardware.toml``: serving profiles, a model on a GPU system with its measured
  benchmark points;
* ``gpus.toml``: GPU specifications (HBM, bandwidth, dense FLOP/s), $/GPU-hour, power;
* ``models.toml``: model specifications (parameters, layers, KV-cache bytes);
* ``roofline.toml``: the measurements the roofline estimate's defaults rest on.

:mod:`jevons.supply` validates and interprets them.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from typing import Any

TABLES = ("hardware", "gpus", "models", "roofline")


@functools.cache
def table(name: str) -> dict[str, Any]:
    """The parsed TOML file ``<name>.toml`` of the catalog."""
    if name not in TABLES:
        raise KeyError(name)
    text = resources.files(__name__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)
