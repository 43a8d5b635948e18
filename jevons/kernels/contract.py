"""The kernel contract: what the model reads, as plain numbers and arrays.

The engine turns a scenario into a :class:`ModelPlan` (calendar tables, exact
per-call moments, one row per hardware profile) and per-trajectory
:class:`TrajectoryInputs`; every backend (the NumPy reference, the CPU and the
CUDA kernels) reads only these. Nothing here knows about scenarios, pydantic
or SciPy, so the kernels import nothing above them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from jevons.kernels.constants import HOURS_PER_MONTH, HOURS_PER_YEAR

# Key paths of the per-trajectory inputs, in the order they are reported and packed.
PARAMETER_PATHS = (
    "users.initial",
    "users.growth_per_month",
    "users.volatility",
    "users.saturation",
    "usage.sessions_per_user_per_day",
    "usage.requests_per_session",
    "usage.input_tokens_per_request",
    "usage.output_tokens_per_call",
    "reasoning.share",
    "agents.context_growth_per_call",
    "cache.hit_rate",
    "cache.drift_per_month",
    "variability.step_noise",
    "variability.burst_factor",
    "supply.price_decline_per_year",
    "monetization.price_per_mtok",
    "monetization.markup",
    "monetization.elasticity",
)


# Units of each per-trajectory input, as its scenario key states it.
PARAMETER_UNITS = {
    "users.initial": "users",
    "users.growth_per_month": "1/month",
    "users.volatility": "1/sqrt(month)",
    "users.saturation": "users",
    "usage.sessions_per_user_per_day": "sessions/user/day",
    "usage.requests_per_session": "requests/session",
    "usage.input_tokens_per_request": "tokens/request",
    "usage.output_tokens_per_call": "tokens/call",
    "reasoning.share": "1",
    "agents.context_growth_per_call": "tokens/call",
    "cache.hit_rate": "1",
    "cache.drift_per_month": "1/month",
    "variability.step_noise": "1",
    "variability.burst_factor": "1",
    "supply.price_decline_per_year": "1/year",
    "monetization.price_per_mtok": "USD per million output tokens",
    "monetization.markup": "1",
    "monetization.elasticity": "1",
}
SURGE_MULTIPLIER_UNITS = "1"


def surge_path(name: str) -> str:
    """Key path of a surge's multiplier, which names its random stream."""
    return f"variability.surges.{name}.multiplier"


# Per-trajectory figures of each hardware profile, drawn from supply.uncertainty.<profile>:
# the price and power replace the profile's, the factors multiply its decode and prefill rates.
HARDWARE_FIELDS = (
    "cost_per_gpu_hour", "power_kw", "throughput_factor", "prefill_factor",
    "decode_efficiency", "prefill_efficiency",
)  # fmt: skip
HARDWARE_UNITS = {
    "cost_per_gpu_hour": "USD/GPU-hour",
    "power_kw": "kW",
    "throughput_factor": "1",
    "prefill_factor": "1",
    "decode_efficiency": "1",
    "prefill_efficiency": "1",
}


def hardware_path(profile: str, field: str) -> str:
    """Key path of one profile's uncertain figure, which names its random stream."""
    return f"supply.uncertainty.{profile}.{field}"


@dataclass(frozen=True)
class CalendarTables:
    """Per-step tables of the hour-of-day, weekday and surge calendar.

    A step covers ``step_hours`` hours, each with a calendar weight ``w`` (hour
    of day x weekday, averaging 1 over a week). Surge multipliers are drawn per
    trajectory, so the hours of a step are grouped by the set of surges active
    in them: every hour of a group is scaled by the same product of
    multipliers ``S_g``. A daily or hourly step is one group; a weekly step has
    at most seven (surges start and end on whole days). With these tables the
    surged hourly profile ``w_c S_g(c)`` of any trajectory is known exactly
    without visiting its hours:

    * volume factor ``sum_g S_g group_mean_weight[t, g]`` (mean surged weight),
    * busiest hour ``max_g S_g group_peak_weight[t, g]``,
    * a fixed fleet's unserved work: ``level_weight[t, g, :]`` lists the group's
      distinct weights, largest first, and ``level_hours`` how many hours have
      each.

    Padding past ``group_count`` and ``level_count`` is zero.
    """

    step_hours: int
    step_start: np.ndarray  # (steps,) datetime64[h]
    group_count: np.ndarray  # (steps,) int64
    group_surges: np.ndarray  # (steps, groups, surges) 1.0 where the surge is active
    group_mean_weight: np.ndarray  # (steps, groups) sum of the group's weights / step_hours
    group_peak_weight: np.ndarray  # (steps, groups) largest weight in the group
    level_count: np.ndarray  # (steps, groups) int64
    level_weight: np.ndarray  # (steps, groups, levels) distinct weights, descending
    level_hours: np.ndarray  # (steps, groups, levels) hours at each weight [h]

    @property
    def steps(self) -> int:
        return len(self.step_start)


@dataclass(frozen=True)
class ModelPlan:
    """A scenario reduced to the numbers the model needs, computed once on the host."""

    steps: int
    step_hours: int
    calendar: CalendarTables
    # Agentic loop: E[C] and E[C(C-1)] of calls C per request, held to 1..max_calls [calls].
    calls_per_request: float
    call_pairs_per_request: float
    # E[min(X, budget)] of thinking tokens X per reasoning call [tokens].
    thinking_per_reasoning_call: float
    target_utilization: float  # [0-1]
    hardware: tuple[str, ...]
    prefill_rate: np.ndarray  # (hardware,) [tokens/s per GPU]
    decode_rate: np.ndarray  # (hardware,) [tokens/s per GPU]
    power_kw: np.ndarray  # (hardware,) [kW per GPU]
    # $/GPU-hour plus the energy of that hour at the energy price [USD per GPU-hour].
    all_in_cost_per_gpu_hour: np.ndarray
    # The nominal figures above; the model reads each trajectory's own
    # (TrajectoryInputs.hardware), which are these unless supply.uncertainty draws them.
    cost_per_gpu_hour: np.ndarray  # (hardware,) $/GPU-hour alone [USD per GPU-hour]
    energy_price_per_kwh: float  # [USD per kWh]
    fleet_sizes: tuple[int, ...]  # empty for an elastic fleet [GPUs]
    surge_names: tuple[str, ...]
    count_noise: bool
    # Where no supply figure is drawn and the price does not decline, every trajectory's
    # cost and energy are its gpu_hours times a constant per profile: (all-in $/GPU-hour,
    # kW per GPU). The summaries then scale gpu_hours' statistics instead of reducing
    # those rows. None where any figure varies.
    fixed_cost_factors: tuple[np.ndarray, np.ndarray] | None = None
    # [monetization]: "price" (a drawn price per million output tokens, fixed over time),
    # "markup" (a price that follows cost) or None (no revenue, demand as priced).
    pricing: str | None = None
    # Under "markup": each profile's nominal cost per million output tokens at the
    # scenario's mean request shape, the price a markup of 0 charges at the start
    # [USD per million output tokens], (hardware,).
    nominal_cost_per_output_mtok: np.ndarray | None = None

    @property
    def monetized(self) -> bool:
        return self.pricing is not None

    @property
    def months_per_step(self) -> float:
        return self.step_hours / HOURS_PER_MONTH

    @property
    def step_years(self) -> np.ndarray:
        """(steps,) years from the horizon's start to each step's start [year]."""
        return np.arange(self.steps) * (self.step_hours / HOURS_PER_YEAR)


@dataclass(frozen=True)
class TrajectoryInputs:
    """Per-trajectory draws: ``values[path]`` is an array over trajectories, ``hardware[field]``
    one row per hardware profile.

    ``users.saturation`` holds the cap in force: never below ``users.initial``
    (:func:`jevons.kernels.layers.market_cap`), +inf for no cap.
    """

    values: dict[str, Any]
    surge_multipliers: Any  # (surges, trajectories)
    hardware: dict[str, Any]  # HARDWARE_FIELDS -> (hardware, trajectories)

    def __getitem__(self, path: str) -> Any:
        return self.values[path]


# on_window(first step, {name: array (steps in the window, *lead dims, trajectories)})
WindowSink = Callable[[int, dict[str, Any]], None]
