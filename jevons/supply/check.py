"""The roofline against every measured point: how far the estimate lands from the data."""

from __future__ import annotations

import math
from dataclasses import dataclass

from jevons.supply import estimate


@dataclass(frozen=True)
class CheckRow:
    profile: str
    gpu: str
    model: str
    precision: str
    input_tokens: float
    output_tokens: float
    interactivity: float  # tokens/s per user
    measured: float  # tokens/s per GPU, in the point's token convention
    estimated: float  # the roofline's, same convention; 0 where it cannot reach the point
    assumed: tuple[str, ...]  # fields of the point its source does not state

    @property
    def error(self) -> float:
        """estimated / measured - 1; -1 where the roofline cannot reach the point."""
        return self.estimated / self.measured - 1.0


def check_rows(decode_efficiency: float | None = None) -> list[CheckRow]:
    """One row per catalog point with an interactivity, at the fitted efficiency unless
    ``decode_efficiency`` is given."""
    efficiency = decode_efficiency or estimate.fitted_decode_efficiency()
    return [
        CheckRow(
            profile=key,
            gpu=gpu,
            model=point.model,
            precision=point.precision,
            input_tokens=point.input_tokens,
            output_tokens=point.output_tokens,
            interactivity=point.interactivity,
            measured=point.tokens_per_s_per_gpu,
            estimated=estimate.estimated_throughput(point, gpu, efficiency),
            assumed=tuple(sorted(point.assumed)),
        )
        for key, gpu, point in estimate.measured_points()
    ]


def log_error_summary(rows: list[CheckRow]) -> tuple[float, float]:
    """(median, largest) of |log(estimated / measured)| over reachable points, as factors
    (1.0 = exact)."""
    errors = sorted(abs(math.log(r.estimated / r.measured)) for r in rows if r.estimated > 0)
    if not errors:
        return math.nan, math.nan
    middle = len(errors) // 2
    median = errors[middle] if len(errors) % 2 else 0.5 * (errors[middle - 1] + errors[middle])
    return math.exp(median), math.exp(errors[-1])
