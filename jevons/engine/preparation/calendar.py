"""The time grid and its calendar tables: hour-of-day, weekday and surge windows.

Each model step covers ``step_hours`` hours. Every hour has a calendar weight
(hour-of-day weight x weekday weight) and a set of active surges; see
:class:`jevons.kernels.contract.CalendarTables` for what the tables hold and
how the model reads them.
"""

from __future__ import annotations

import numpy as np

from jevons.engine.scenario.schema import Horizon, Variability
from jevons.kernels.contract import CalendarTables

_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday; Monday is 0


def hourly_calendar(
    horizon: Horizon, variability: Variability
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every hour of the horizon: its start, calendar weight and active surges.

    Returns ``(hours, weights, active)``: datetime64[h] (steps * step_hours,),
    weights (steps * step_hours,) and a bool (surges, steps * step_hours) mask.
    A surge covers whole days, from its ``start`` to its ``end`` inclusive.
    """
    start = np.datetime64(horizon.start_time, "h")
    hours = start + np.arange(horizon.steps * horizon.step_hours).astype("timedelta64[h]")
    hour_index = hours.astype(np.int64)
    weekday = (hour_index // 24 + _EPOCH_WEEKDAY) % 7
    weights = (
        np.asarray(variability.hour_weights)[hour_index % 24]
        * np.asarray(variability.weekday_weights)[weekday]
    )
    days = hours.astype("datetime64[D]")
    active = np.zeros((len(variability.surges), len(hours)), dtype=bool)
    for k, surge in enumerate(variability.surges):
        active[k] = (days >= np.datetime64(surge.start)) & (days <= np.datetime64(surge.end))
    return hours, weights, active


def build_calendar(horizon: Horizon, variability: Variability) -> CalendarTables:
    hours, weights, active = hourly_calendar(horizon, variability)
    step_hours, steps = horizon.step_hours, horizon.steps
    weights = weights.reshape(steps, step_hours)
    # Each distinct set of active surges gets an integer id; its row of `sets` says which.
    n_surges = active.shape[0]
    if n_surges:
        sets, set_id = np.unique(active.T, axis=0, return_inverse=True)
    else:
        sets, set_id = np.zeros((1, 0), dtype=bool), np.zeros(len(hours), dtype=np.int64)
    set_id = set_id.reshape(steps, step_hours)
    sets = sets.astype(np.float64)

    if step_hours == 1:  # an hour is its own group and level: no per-step work
        ones = np.ones((steps, 1))
        return CalendarTables(
            step_hours=1,
            step_start=hours,
            group_count=np.ones(steps, dtype=np.int64),
            group_surges=sets[set_id[:, 0]][:, None, :],
            group_mean_weight=weights.copy(),
            group_peak_weight=weights.copy(),
            level_count=np.ones((steps, 1), dtype=np.int64),
            level_weight=weights[:, :, None].copy(),
            level_hours=ones[:, :, None],
        )
    groups = [_groups_of_step(weights[t], set_id[t], sets) for t in range(steps)]
    n_groups = max(len(g) for g in groups)
    n_levels = max(len(levels) for step in groups for (_, _, levels) in step)
    group_count = np.zeros(steps, dtype=np.int64)
    group_surges = np.zeros((steps, n_groups, n_surges))
    group_mean_weight = np.zeros((steps, n_groups))
    group_peak_weight = np.zeros((steps, n_groups))
    level_count = np.zeros((steps, n_groups), dtype=np.int64)
    level_weight = np.zeros((steps, n_groups, n_levels))
    level_hours = np.zeros((steps, n_groups, n_levels))
    for t, step in enumerate(groups):
        group_count[t] = len(step)
        for g, (members, hour_weights, levels) in enumerate(step):
            group_surges[t, g] = members
            group_mean_weight[t, g] = hour_weights.sum() / step_hours
            group_peak_weight[t, g] = hour_weights.max()
            level_count[t, g] = len(levels)
            level_weight[t, g, : len(levels)] = [w for w, _ in levels]
            level_hours[t, g, : len(levels)] = [h for _, h in levels]
    return CalendarTables(
        step_hours=step_hours,
        step_start=hours[::step_hours],
        group_count=group_count,
        group_surges=group_surges,
        group_mean_weight=group_mean_weight,
        group_peak_weight=group_peak_weight,
        level_count=level_count,
        level_weight=level_weight,
        level_hours=level_hours,
    )


def _groups_of_step(
    weights: np.ndarray, set_id: np.ndarray, sets: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray, list[tuple[float, int]]]]:
    """(surge membership, hourly weights, [(distinct weight, hours)] descending) per group."""
    out = []
    for ident in np.unique(set_id):
        hour_weights = weights[set_id == ident]
        distinct, counts = np.unique(hour_weights, return_counts=True)
        levels = [(float(w), int(c)) for w, c in zip(distinct[::-1], counts[::-1], strict=True)]
        out.append((sets[ident], hour_weights, levels))
    return out
