"""Variables that are another's statistics scaled by a constant, and the summary type."""

from __future__ import annotations

import numpy as np

from jevons.engine.summaries.exact import ExactSummary
from jevons.engine.summaries.sketched import SketchSummary

Summary = ExactSummary | SketchSummary


def add_scaled_variables(summary: Summary, all_in_price: np.ndarray, power: np.ndarray) -> None:
    """Per-step cost and energy from gpu_hours' statistics, per hardware profile.

    Per step, ``energy = gpu_hours x power`` and ``cost = gpu_hours x (price +
    power x energy price)``, constants per profile: scaling by a positive
    constant commutes with every quantile, the mean and the sketch, so the
    kernels neither write nor reduce these two rows.
    """
    for name, factor in (("cost", all_in_price), ("energy_kwh", power)):
        per_hardware = np.asarray(factor, dtype=np.float64)[:, None]  # (hardware, steps)
        summary.step_means[name] = summary.step_means["gpu_hours"] * per_hardware
        summary.step_stats[name] = summary.step_stats["gpu_hours"] * per_hardware
