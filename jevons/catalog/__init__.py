"""Hardware profiles: $/GPU-hour, prefill and decode throughput, power.

The catalog lives in ``hardware.toml`` beside this module; every entry names
its source. A scenario names catalog entries, overrides some of their figures
(``{ base = "h200-hgx", cost_per_gpu_hour = 1.10 }``), or gives a whole profile
inline (``{ key = "my-gpu", ... }``).
"""

from __future__ import annotations

import functools
import itertools
import math
import tomllib
from importlib import resources
from typing import Any, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# Documented ranges of a profile's figures (README, "Bad input"): wide enough for any GPU,
# narrow enough that no cost or GPU count overflows float64.
MAX_COST_PER_GPU_HOUR = 1e4  # $/GPU-hour
MIN_TOKENS_PER_S = 1e-3  # per GPU, prefill or decode
MAX_TOKENS_PER_S = 1e9
MAX_POWER_KW = 1e3  # per GPU, all in
MAX_INTERACTIVITY = 1e6  # tokens/s per user


class HardwareProfile(BaseModel):
    """Throughput, price and power of one GPU serving one model."""

    # inf and nan are no one's figure; finite-ness is checked before any bound
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    key: str = Field(min_length=1)
    name: str = ""
    model: str = ""
    cost_per_gpu_hour: float = Field(gt=0, le=MAX_COST_PER_GPU_HOUR)
    decode_tokens_per_s: float = Field(ge=MIN_TOKENS_PER_S, le=MAX_TOKENS_PER_S)
    prefill_tokens_per_s: float = Field(ge=MIN_TOKENS_PER_S, le=MAX_TOKENS_PER_S)
    power_kw: float = Field(gt=0, le=MAX_POWER_KW)
    interactivity: float | None = Field(default=None, gt=0, le=MAX_INTERACTIVITY)
    decode_curve: list[tuple[float, float]] | None = None
    source: str = ""
    notes: str = ""

    @model_validator(mode="after")
    def _check_curve(self) -> Self:
        if self.decode_curve is not None:
            xs = [p[0] for p in self.decode_curve]
            if len(xs) < 2 or any(b <= a for a, b in itertools.pairwise(xs)):
                raise ValueError("decode_curve needs two or more points with rising interactivity")
            if any(x <= 0 or y <= 0 for x, y in self.decode_curve):
                raise ValueError("decode_curve points must be positive")
            if any(
                x > MAX_INTERACTIVITY or not MIN_TOKENS_PER_S <= y <= MAX_TOKENS_PER_S
                for x, y in self.decode_curve
            ):
                raise ValueError(
                    f"decode_curve points must have interactivity at most {MAX_INTERACTIVITY:g}"
                    f" and rates from {MIN_TOKENS_PER_S:g} to {MAX_TOKENS_PER_S:g} tokens/s"
                )
        return self

    def decode_rate(self, interactivity: float | None) -> float:
        """Decode tokens/s per GPU, at ``interactivity`` tokens/s per user if given.

        Between points of ``decode_curve`` the rate is interpolated linearly in
        log-log space (throughput-interactivity frontiers are close to power laws).
        """
        if interactivity is None:
            return self.decode_tokens_per_s
        if self.decode_curve is None:
            if self.interactivity is not None and math.isclose(interactivity, self.interactivity):
                return self.decode_tokens_per_s
            raise ValueError(
                f"hardware '{self.key}' has no decode_curve (throughput vs interactivity), so it"
                " cannot be evaluated at supply.interactivity; remove that key or add a curve"
            )
        xs = np.log([p[0] for p in self.decode_curve])
        ys = np.log([p[1] for p in self.decode_curve])
        x = math.log(interactivity)
        if not xs[0] <= x <= xs[-1]:
            lo, hi = self.decode_curve[0][0], self.decode_curve[-1][0]
            raise ValueError(
                f"supply.interactivity {interactivity:g} lies outside hardware '{self.key}''s"
                f" decode_curve range [{lo:g}, {hi:g}] tokens/s per user"
            )
        return float(np.exp(np.interp(x, xs, ys)))


@functools.cache
def catalog() -> dict[str, HardwareProfile]:
    """All catalog profiles by key, in file order."""
    text = resources.files(__name__).joinpath("hardware.toml").read_text(encoding="utf-8")
    table = tomllib.loads(text)
    return {
        key: HardwareProfile.model_validate({"key": key, **entry}) for key, entry in table.items()
    }


def _resolve_one(item: Any) -> Any:
    entries = catalog()
    if isinstance(item, str):
        if item not in entries:
            raise ValueError(f"unknown hardware '{item}'; the catalog has: {', '.join(entries)}")
        return entries[item]
    if isinstance(item, dict) and "base" in item:
        base = item["base"]
        if not isinstance(base, str):
            raise ValueError(
                f"base must be a catalog key (a string), got {type(base).__name__} {base!r}"
            )
        if base not in entries:
            raise ValueError(
                f"unknown hardware base '{base}'; the catalog has: {', '.join(entries)}"
            )
        merged = entries[base].model_dump()
        overrides = {k: v for k, v in item.items() if k != "base"}
        merged.update(overrides)
        if "key" not in overrides:
            merged["key"] = base + "-custom"
        try:
            return HardwareProfile.model_validate(merged)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ValueError(f"{where}: {first['msg']}" if where else first["msg"]) from None
    return item


def resolve_hardware(value: Any) -> Any:
    """Turn catalog names (or a list of names and tables) into profiles for validation."""
    items = value if isinstance(value, list) else [value]
    return [_resolve_one(item) for item in items]
