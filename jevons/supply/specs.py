"""GPU and model specifications from the catalog, validated."""

from __future__ import annotations

import functools
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from jevons.catalog import table
from jevons.supply.points import PRECISIONS, Precision

MAX_COST_PER_GPU_HOUR = 1e4  # $/GPU-hour
MAX_POWER_KW = 1e3  # per GPU, all in


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    key: str = Field(min_length=1)
    name: str = ""
    source: str = ""
    notes: str = ""


class GpuSpec(_Spec):
    """One GPU of a serving system, with the system's price and all-in power per GPU."""

    memory_gb: float = Field(gt=0, le=1e5)  # HBM per GPU [GB = 1e9 bytes]
    memory_bandwidth_tb_s: float = Field(gt=0, le=1e3)  # [TB/s = 1e12 bytes/s]
    dense_tflops: dict[Precision, float]  # dense tensor peak per precision [TFLOP/s]
    cost_per_gpu_hour: float = Field(gt=0, le=MAX_COST_PER_GPU_HOUR)
    power_kw: float = Field(gt=0, le=MAX_POWER_KW)
    scale_up_gpus: int = Field(default=8, ge=1, le=1024)  # GPUs in one NVLink/xGMI domain

    @model_validator(mode="after")
    def _positive_flops(self) -> Self:
        if not self.dense_tflops or any(not 0 < v <= 1e6 for v in self.dense_tflops.values()):
            raise ValueError("dense_tflops needs positive figures, e.g. { fp8 = 1979.0 }")
        return self

    def flops(self, precision: str) -> float:
        """Dense FLOP/s per GPU at ``precision``, or at the narrowest wider one it has."""
        for wider in PRECISIONS[PRECISIONS.index(precision) :: -1]:
            if wider in self.dense_tflops:
                return self.dense_tflops[wider] * 1e12
        raise ValueError(f"gpu '{self.key}' gives no dense_tflops at {precision} or wider")


class ModelSpec(_Spec):
    """A model's size and KV-cache footprint."""

    total_params_b: float = Field(gt=0, le=1e5)  # [billions]
    active_params_b: float = Field(gt=0, le=1e5)  # per token [billions]
    layers: int = Field(ge=1, le=10_000)
    kv_bytes_per_token: float = Field(gt=0, le=1e9)  # all layers, at kv_precision [bytes]
    kv_precision: Precision = "bf16"
    weight_precision: Precision = "bf16"

    @model_validator(mode="after")
    def _active_within_total(self) -> Self:
        if self.active_params_b > self.total_params_b:
            raise ValueError("active_params_b cannot exceed total_params_b")
        return self


def _validated(cls, name: str) -> dict:
    return {key: cls.model_validate({"key": key, **entry}) for key, entry in table(name).items()}


@functools.cache
def gpus() -> dict[str, GpuSpec]:
    return _validated(GpuSpec, "gpus")


@functools.cache
def models() -> dict[str, ModelSpec]:
    return _validated(ModelSpec, "models")


def gpu(key: str) -> GpuSpec:
    if key not in gpus():
        raise ValueError(f"unknown gpu '{key}'; the catalog has: {', '.join(gpus())}")
    return gpus()[key]


def model(key: str) -> ModelSpec:
    if key not in models():
        raise ValueError(f"unknown model '{key}'; the catalog has: {', '.join(models())}")
    return models()[key]
