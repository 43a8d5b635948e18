"""Reserve plans: each trajectory's busiest hour within each calendar period.

The fleet to reserve for a period must cover the period's busiest hour, so a
trajectory's need in a period is its largest ``peak_gpus`` over the period's
steps. Those per-trajectory maxima are horizon values with lead dims
(hardware, period): summarised like any other (quantiles exact or sketched,
merged across chunks, shards and workers), their q-quantile is the fleet that
covers the period's busiest hour with probability at least q.

A step belongs to the period in which it starts: a weekly step that straddles a
month's end counts towards the month of its first day.
"""

from __future__ import annotations

import numpy as np

from jevons.kernels.array_api import to_numpy

MONTHS_PER_PERIOD = {"month": 1, "quarter": 3}


def step_periods(step_start: np.ndarray, period: str) -> tuple[np.ndarray, np.ndarray]:
    """Each step's period and each period's start.

    ``step_start`` holds the steps' start times (datetime64, ascending); ``period``
    is ``"month"`` or ``"quarter"`` (calendar quarters: January, April, July,
    October). Returns ``(index, starts)``: int64 (steps,) period of each step,
    counted from the horizon's first, and datetime64[ns] (periods,) the calendar
    start of each period (the first and last may be covered only in part).
    """
    span = MONTHS_PER_PERIOD[period]
    # months since 1970-01, which is a January: // 3 counts calendar quarters
    months = np.asarray(step_start).astype("datetime64[M]").astype(np.int64)
    numbers, index = np.unique(months // span, return_inverse=True)
    starts = (numbers * span).astype("datetime64[M]").astype("datetime64[ns]")
    return index.astype(np.int64).reshape(-1), starts



class PeriodMaxima:
    """One chunk's running maxima of ``peak_gpus`` per (hardware, period, trajectory)."""

    def __init__(self, step_period: np.ndarray, periods: int):
        self.step_period = step_period
        self.periods = periods
        self.maxima: np.ndarray | None = None

    def add_window(self, t0: int, peak_gpus) -> None:
        """Fold in steps ``t0 ..`` of ``peak_gpus`` (window steps, hardware, trajectories)."""
        window = np.asarray(to_numpy(peak_gpus), dtype=np.float64)
        count = window.shape[0]
        if self.maxima is None:
            # every period holds at least one step, so -inf never survives a full horizon
            self.maxima = np.full((window.shape[1], self.periods, window.shape[2]), -np.inf)
        labels = self.step_period[t0 : t0 + count]
        # steps are in time order: each period's steps in the window are one run
        firsts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
        window_maxima = np.maximum.reduceat(window, firsts, axis=0)  # (runs, hw, n)
        for run, p in enumerate(labels[firsts]):
            np.maximum(self.maxima[:, p, :], window_maxima[run], out=self.maxima[:, p, :])

    def values(self) -> np.ndarray:
        """(hardware, period, trajectories) maxima [GPUs]."""
        if self.maxima is None:
            raise ValueError("no steps were added")
        return self.maxima
