"""Roofline estimates for catalog pairs, with efficiencies drawn from measurements.

* Prefill efficiency: the share of dense FLOP/s a production prefill reaches,
  from the measurement in ``catalog/roofline.toml`` (DeepSeek's H800 fleet).
* Decode memory efficiency: the share of HBM bandwidth decode reaches, fitted
  (least squares in log throughput) to every measured point of the catalog
  that states an interactivity. ``jevons hardware --check`` shows the fit's error
  on each point.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from scipy.optimize import minimize_scalar

from jevons.catalog import table
from jevons.supply import roofline
from jevons.supply.points import BenchmarkPoint, throughput_of
from jevons.supply.specs import gpu, model

# Unreachable points count as this error in log throughput in the fit.
UNREACHABLE_LOG_ERROR = math.log(1e3)
EFFICIENCY_SEARCH = (0.01, 1.0)


def prefill_peak(gpu_key: str, model_key: str, precision: str | None = None) -> float:
    """Prefill tokens/s per GPU of ``model_key`` on ``gpu_key`` at full compute efficiency."""
    weights = model(model_key)
    flops = gpu(gpu_key).flops(precision or weights.weight_precision)
    return roofline.prefill_rate(flops, weights.active_params_b * 1e9, 1.0)


@dataclass(frozen=True)
class Pair:
    """A model at a precision on a GPU type: its prefill peak and decode roofline."""

    gpu: str
    model: str
    precision: str
    prefill_peak: float  # tokens/s per GPU at full efficiency
    decode: roofline.DecodeRoofline


def pair(gpu_key: str, model_key: str, precision: str | None = None,
         gpus_per_replica: int | None = None) -> Pair:  # fmt: skip
    """The roofline of ``model_key`` on ``gpu_key``; raises ``ValueError`` for unknown keys
    or a model that does not fit."""
    spec, weights = gpu(gpu_key), model(model_key)
    precision = precision or weights.weight_precision
    total = weights.total_params_b * 1e9
    active = weights.active_params_b * 1e9
    per_value = roofline.BYTES_PER_VALUE[precision]
    memory = spec.memory_gb * 1e9
    gpus = gpus_per_replica or roofline.replica_gpus(total * per_value, memory, spec.scale_up_gpus)
    if total * per_value >= gpus * memory * roofline.USABLE_MEMORY_SHARE:
        raise ValueError(
            f"model '{model_key}' at {precision} ({total * per_value / 1e9:,.0f} GB of weights)"
            f" does not fit gpus_per_replica = {gpus} x gpu '{gpu_key}'"
            f" ({spec.memory_gb:g} GB each)"
        )
    flops = spec.flops(precision)
    return Pair(
        gpu=gpu_key,
        model=model_key,
        precision=precision,
        prefill_peak=prefill_peak(gpu_key, model_key, precision),
        decode=roofline.DecodeRoofline(
            gpus=gpus,
            bandwidth=spec.memory_bandwidth_tb_s * 1e12,
            memory=memory,
            flops=flops,
            weight_bytes=total * per_value,
            active_weight_bytes=active * per_value,
            active_parameters=active,
            kv_bytes_per_token=weights.kv_bytes_per_token,
        ),
    )


@functools.cache
def prefill_efficiency() -> float:
    """Share of dense FLOP/s reached in prefill, from the catalog's prefill measurement."""
    entry = table("roofline")["prefill"]
    measured = entry["tokens_per_s_per_node"] / entry["gpus_per_node"]
    peak = prefill_peak(entry["gpu"], entry["model"], entry["precision"])
    return measured / peak


def decode_context(input_tokens: float, output_tokens: float) -> float:
    """Mean KV-cache length while decoding a request [tokens]: the prompt plus half the
    output, as the output grows from none to all of it."""
    return input_tokens + output_tokens / 2.0


def estimated_throughput(point: BenchmarkPoint, gpu_key: str, decode_efficiency: float) -> float:
    """The roofline's tokens/s per GPU for ``point``'s model, shape and interactivity on
    ``gpu_key``, in the point's token convention; 0 where it cannot reach the point."""
    estimate = pair(gpu_key, point.model, point.precision)
    prefill = prefill_peak(gpu_key, point.model, point.precision) * prefill_efficiency()
    decode = estimate.decode.decode_rate(
        point.interactivity,
        decode_context(point.input_tokens, point.output_tokens),
        decode_efficiency,
        prefill_efficiency(),
    )
    if decode <= 0.0:
        return 0.0
    return throughput_of(
        prefill, decode, point.token_convention, point.input_tokens, point.output_tokens
    )


def measured_points() -> list[tuple[str, str, BenchmarkPoint]]:
    """(profile key, gpu key, point) for every catalog point that states an interactivity."""
    found = []
    for key, entry in table("hardware").items():
        for raw in entry.get("points", []):
            point = BenchmarkPoint.model_validate(raw)
            if point.interactivity is not None:
                found.append((key, entry["gpu"], point))
    return found


@functools.cache
def fitted_decode_efficiency() -> float:
    """Share of HBM bandwidth decode reaches, fitted to the catalog's measured points."""
    points = measured_points()

    def misfit(efficiency: float) -> float:
        total = 0.0
        for _, gpu_key, point in points:
            estimate = estimated_throughput(point, gpu_key, efficiency)
            error = (
                math.log(estimate / point.tokens_per_s_per_gpu)
                if estimate > 0
                else UNREACHABLE_LOG_ERROR
            )
            total += error * error
        return total

    best = minimize_scalar(misfit, bounds=EFFICIENCY_SEARCH, method="bounded",
                           options={"xatol": 1e-6})  # fmt: skip
    return float(best.x)
