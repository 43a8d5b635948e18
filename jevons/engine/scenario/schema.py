"""The scenario schema: every layer of the demand model, validated at load time.

A scenario is a TOML file (see ``scenarios/``); ``load_scenario`` in
``jevons.engine.scenario.loading`` reads one. Uncertain inputs are
:data:`~jevons.engine.scenario.distributions.Distribution` values: drawn once per
trajectory (epistemic: "what is the true growth rate?"). Two inputs describe a
spread *within* a trajectory instead (aleatory, per LLM call):
``reasoning.thinking_tokens`` and ``agents.calls_per_request``; the model uses
their exact clipped moments.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from jevons.catalog import HardwareProfile, resolve_hardware
from jevons.engine.scenario.distributions import Distribution, Fixed

STEP_HOURS = {"1h": 1, "1D": 24, "7D": 168}


def _within(low: float, high: float, meaning: str, strict_low: bool = False):
    def check(dist):
        lo, hi = dist.support()
        # A strict bound excludes the value itself, which a continuous draw has zero
        # chance of hitting; a fixed value or a count can hit it.
        hits_low = (
            strict_low
            and lo <= low
            and (isinstance(dist, Fixed) or dist.discrete or dist.dist == "empirical")
        )
        if lo < low or hi > high or hits_low:
            if isinstance(dist, Fixed):
                raise ValueError(f"must be {meaning}, got {dist.value}")
            raise ValueError(
                f"must be {meaning}, but this {dist.dist} distribution reaches [{lo:g}, {hi:g}];"
                " narrow or truncate it (normal takes low/high)"
            )
        return dist

    return AfterValidator(check)


NonNegative = Annotated[Distribution, _within(0.0, math.inf, "non-negative")]
Positive = Annotated[Distribution, _within(0.0, math.inf, "positive", strict_low=True)]
Probability = Annotated[Distribution, _within(0.0, 1.0, "a probability in [0, 1]")]
GrowthRate = Annotated[
    Distribution, _within(-1.0, math.inf, "greater than -1 (-100%)", strict_low=True)
]
AnyReal = Distribution


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# The output's time axis is datetime64[ns], which holds 1677-09-21 .. 2262-04-11; a
# horizon is kept inside these whole dates so that no step time wraps around.
EARLIEST_START = dt.date(1678, 1, 1)
LATEST_END = dt.date(2262, 1, 1)
_TIME_AXIS = "the output's time axis (datetime64[ns])"


class Horizon(_Section):
    start: dt.date
    step: Literal["1h", "1D", "7D"] = "1D"
    steps: int = Field(ge=1, le=200_000)

    @field_validator("start")
    @classmethod
    def _start_on_the_time_axis(cls, start: dt.date) -> dt.date:
        if not EARLIEST_START <= start < LATEST_END:
            raise ValueError(
                f"must lie from {EARLIEST_START} to before {LATEST_END}, the dates {_TIME_AXIS}"
                f" holds, got {start}"
            )
        return start

    @field_validator("steps")
    @classmethod
    def _end_on_the_time_axis(cls, steps: int, info: ValidationInfo) -> int:
        start, step = info.data.get("start"), info.data.get("step")
        if start is None or step is None:
            return steps  # already reported
        room = (LATEST_END - start).days * 24 // STEP_HOURS[step]
        if steps > room:
            raise ValueError(
                f"{steps} steps of {step} from {start} run past {LATEST_END}, the last date"
                f" {_TIME_AXIS} holds; at most {room} steps fit from that start"
            )
        return steps

    @property
    def step_hours(self) -> int:
        return STEP_HOURS[self.step]

    @property
    def end(self) -> dt.datetime:
        return self.start_time + dt.timedelta(hours=self.step_hours * self.steps)

    @property
    def start_time(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time())


class Simulation(_Section):
    trajectories: int = Field(default=10_000, ge=1, le=2**40)
    seed: int = Field(default=0, ge=0, lt=2**64)
    quantiles: list[float] = Field(default=[0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99])
    # exact: every trajectory of a step at once; sketch: any number of chunks,
    # quantiles within relative_accuracy; auto: exact up to EXACT_LIMIT trajectories.
    summary: Literal["auto", "exact", "sketch"] = "auto"
    relative_accuracy: float = Field(default=0.005, gt=0.0, le=0.05)

    @field_validator("quantiles")
    @classmethod
    def _check_quantiles(cls, qs: list[float]) -> list[float]:
        if not qs:
            raise ValueError("needs at least one quantile")
        bad = [q for q in qs if not 0.0 < q < 1.0]
        if bad:
            raise ValueError(f"quantiles must lie strictly between 0 and 1, got {bad}")
        return sorted(set(qs))


class Users(_Section):
    initial: Positive
    growth_per_month: GrowthRate = Field(default_factory=lambda: Fixed(value=0.0))
    volatility: NonNegative = Field(default_factory=lambda: Fixed(value=0.0))
    saturation: Positive | None = None


class Usage(_Section):
    sessions_per_user_per_day: NonNegative
    requests_per_session: NonNegative
    input_tokens_per_request: NonNegative
    output_tokens_per_call: NonNegative


class Reasoning(_Section):
    share: Probability = Field(default_factory=lambda: Fixed(value=0.0))
    thinking_tokens: NonNegative = Field(default_factory=lambda: Fixed(value=0.0))
    budget: float | None = Field(default=None, ge=0)

    def thinking_per_reasoning_call(self) -> float:
        """Mean thinking tokens of one reasoning call: E[min(X, budget)], in tokens.

        X is ``thinking_tokens`` (non-negative), the tokens a call would think
        without a budget; a call stops at ``budget``. No budget gives E[X], a
        budget of 0 gives 0. Exact, by each family's closed form
        (``capped_mean``).
        """
        return self.thinking_tokens.capped_mean(self.budget)


class Agents(_Section):
    """Calls to the model per request.

    A request makes at least one call: a fixed ``calls_per_request`` below 1 is
    refused. A count distribution with mass at 0 (a Poisson, say) is accepted,
    and each of its draws is held to 1..``max_calls``, so a 0 counts as one call.
    """

    calls_per_request: NonNegative = Field(default_factory=lambda: Fixed(value=1.0))
    max_calls: int = Field(default=1000, ge=1)
    context_growth_per_call: NonNegative = Field(default_factory=lambda: Fixed(value=0.0))

    @field_validator("calls_per_request")
    @classmethod
    def _integer_calls(cls, dist):
        if isinstance(dist, Fixed) and dist.value < 1:
            raise ValueError(
                f"must be at least 1 (a request makes at least one call), got {dist.value:g}"
            )
        if isinstance(dist, Fixed) and dist.value != int(dist.value):
            raise ValueError(f"a call count must be a whole number, got {dist.value}")
        if not (dist.discrete or isinstance(dist, Fixed) or dist.dist == "empirical"):
            raise ValueError(
                f"a call count needs a count distribution (poisson, negative_binomial, empirical), "
                f"got {dist.dist}"
            )
        return dist

    def calls_moments(self) -> tuple[float, float]:
        """(E[C], E[C(C-1)]) for the calls C of one request, held to 1..max_calls."""
        dist = self.calls_per_request
        return dist.clipped_mean(1, self.max_calls), dist.clipped_falling_moment(1, self.max_calls)


class Cache(_Section):
    hit_rate: Probability = Field(default_factory=lambda: Fixed(value=0.0))
    drift_per_month: AnyReal = Field(default_factory=lambda: Fixed(value=0.0))


class Surge(_Section):
    name: str
    start: dt.date
    end: dt.date
    multiplier: NonNegative

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.end < self.start:
            raise ValueError(
                f"surge '{self.name}' ends ({self.end}) before it starts ({self.start})"
            )
        return self


def _weights(n: int, what: str):
    def check(values: list[float]) -> list[float]:
        if len(values) != n:
            raise ValueError(f"needs {n} {what} weights, got {len(values)}")
        if any(v < 0 for v in values) or sum(values) <= 0:
            raise ValueError("weights must be non-negative with a positive sum")
        mean = sum(values) / n
        return [v / mean for v in values]

    return AfterValidator(check)


class Variability(_Section):
    hour_weights: Annotated[list[float], _weights(24, "hour-of-day")] = Field(default=[1.0] * 24)
    weekday_weights: Annotated[list[float], _weights(7, "weekday (Monday first)")] = Field(
        default=[1.0] * 7
    )
    surges: list[Surge] = Field(default_factory=list)
    step_noise: NonNegative = Field(default_factory=lambda: Fixed(value=0.0))
    # Poisson noise on each step's request count; off only for zero-variance checks.
    count_noise: bool = True

    @field_validator("surges")
    @classmethod
    def _unique_names(cls, surges: list[Surge]) -> list[Surge]:
        names = [s.name for s in surges]
        if len(names) != len(set(names)):
            raise ValueError(f"surge names must be unique, got {names}")
        return surges


class Supply(_Section):
    hardware: list[HardwareProfile] = Field(min_length=1)
    target_utilization: float = Field(default=0.7, gt=0, le=1)
    interactivity: float | None = Field(default=None, gt=0)
    energy_price_per_kwh: float = Field(default=0.0, ge=0)

    @field_validator("hardware", mode="before")
    @classmethod
    def _resolve(cls, value):
        return resolve_hardware(value)

    @field_validator("interactivity")
    @classmethod
    def _every_profile_has_a_rate_there(cls, value: float | None, info: ValidationInfo):
        for profile in info.data.get("hardware", []):
            profile.decode_rate(value)  # raises with the reason when it cannot
        return value

    @field_validator("hardware")
    @classmethod
    def _unique(cls, profiles: list[HardwareProfile]) -> list[HardwareProfile]:
        names = [p.key for p in profiles]
        if len(names) != len(set(names)):
            raise ValueError(f"hardware names must be unique, got {names}")
        return profiles


class ElasticFleet(_Section):
    policy: Literal["elastic"] = "elastic"


class FixedFleet(_Section):
    policy: Literal["fixed"]
    sizes: list[Annotated[int, Field(ge=1)]] = Field(min_length=1)

    @field_validator("sizes")
    @classmethod
    def _sorted(cls, sizes: list[int]) -> list[int]:
        return sorted(set(sizes))


class Scenario(_Section):
    name: str = "scenario"
    description: str = ""
    horizon: Horizon
    simulation: Simulation = Field(default_factory=Simulation)
    users: Users
    usage: Usage
    reasoning: Reasoning = Field(default_factory=Reasoning)
    agents: Agents = Field(default_factory=Agents)
    cache: Cache = Field(default_factory=Cache)
    variability: Variability = Field(default_factory=Variability)
    supply: Supply
    fleet: Annotated[ElasticFleet | FixedFleet, Field(discriminator="policy")] = Field(
        default_factory=ElasticFleet
    )

    @model_validator(mode="after")
    def _surges_inside_horizon(self) -> Self:
        end = self.horizon.end  # exclusive
        for surge in self.variability.surges:
            if surge.end < self.horizon.start or dt.datetime.combine(surge.start, dt.time()) >= end:
                raise ValueError(
                    f"variability.surges '{surge.name}' ({surge.start}..{surge.end}) lies outside"
                    f" the horizon {self.horizon.start_time:%Y-%m-%d %H:%M}..{end:%Y-%m-%d %H:%M}"
                )
        return self
