"""The time grid and its calendar: hour-of-day, weekday and surge windows.

Each model step covers ``step_hours`` hourly cells. Capacity is sized by the
busiest cell (the peak hour), demand volume by the mean over the cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jevons.engine.scenario import Horizon, Variability

_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday; Monday is 0


@dataclass(frozen=True)
class Calendar:
    """Deterministic calendar factors per step (arrays of length ``steps``).

    ``mean_factor``: mean hourly weight over the step (1.0 averaged over a week).
    ``peak_share``: share of the step's requests that fall in its busiest hour.
    ``surge_coverage``: (surges, steps) fraction of the step's hours inside each surge.
    ``step_start``: start of each step (datetime64[h]).
    ``excess_knots``, ``excess_values``, ``excess_count``: per step, the distinct
    relative hourly weights p (ascending, padded with the last) and the mean
    excess ``mean_c max(p_c - p, 0)`` at each; see :func:`unserved_share`.
    """

    step_hours: int
    step_start: np.ndarray
    mean_factor: np.ndarray
    peak_share: np.ndarray
    surge_coverage: np.ndarray
    excess_knots: np.ndarray
    excess_values: np.ndarray
    excess_count: np.ndarray

    @property
    def steps(self) -> int:
        return len(self.step_start)


def build_calendar(horizon: Horizon, variability: Variability) -> Calendar:
    hours_per_step = horizon.step_hours
    start = np.datetime64(horizon.start_time, "h")
    cells = start + np.arange(horizon.steps * hours_per_step).astype("timedelta64[h]")
    hour_index = cells.astype(np.int64)
    hour_of_day = hour_index % 24
    weekday = (hour_index // 24 + _EPOCH_WEEKDAY) % 7
    weights = (
        np.asarray(variability.hour_weights)[hour_of_day]
        * np.asarray(variability.weekday_weights)[weekday]
    ).reshape(horizon.steps, hours_per_step)

    mean_factor = weights.mean(axis=1)
    peak = weights.max(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        peak_share = np.where(mean_factor > 0, peak / (mean_factor * hours_per_step), 0.0)
        profile = np.where(mean_factor[:, None] > 0, weights / mean_factor[:, None], 0.0)

    days = cells.astype("datetime64[D]")
    coverage = np.zeros((len(variability.surges), horizon.steps))
    for k, surge in enumerate(variability.surges):
        inside = (days >= np.datetime64(surge.start)) & (days <= np.datetime64(surge.end))
        coverage[k] = inside.reshape(horizon.steps, hours_per_step).mean(axis=1)

    knots, values, count = excess_table(profile)
    return Calendar(
        step_hours=hours_per_step,
        step_start=cells[::hours_per_step],
        mean_factor=mean_factor,
        peak_share=peak_share,
        surge_coverage=coverage,
        excess_knots=knots,
        excess_values=values,
        excess_count=count,
    )


def excess_table(profile: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Knots and values of the mean-excess function of each step's hourly profile."""
    steps, cells = profile.shape
    knots = np.empty((steps, cells))
    values = np.empty((steps, cells))
    count = np.empty(steps, dtype=np.int64)
    for t in range(steps):
        distinct = np.unique(profile[t])
        m = len(distinct)
        knots[t, :m] = distinct
        knots[t, m:] = distinct[-1]
        values[t, :m] = np.maximum(profile[t][None, :] - distinct[:, None], 0.0).mean(axis=1)
        values[t, m:] = values[t, m - 1]
        count[t] = m
    return knots, values, count


def unserved_share(need_ratio: np.ndarray, knots: np.ndarray, excess: np.ndarray) -> np.ndarray:
    """Share of a step's work a fixed fleet cannot serve.

    ``need_ratio`` = mean GPUs needed / fleet size, and the step's hourly weights
    relative to its mean are p_c. The hours above the fleet lose
    ``mean_c max(r p_c - 1, 0) / r = E(1 / r)`` with ``E(x) = mean_c max(p_c - x, 0)``,
    which is piecewise linear between the knots (the distinct p_c), is
    ``1 - x`` below the lowest and 0 above the highest.
    """
    from jevons.kernels.layers import unserved_share as on_any_arrays

    return on_any_arrays(need_ratio, knots, excess)
