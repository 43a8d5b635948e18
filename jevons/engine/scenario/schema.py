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
from typing import Annotated, Any, Literal, Self

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from jevons.engine.scenario.correlation_matrix import (
    PAIR_SEPARATOR,
    PSD_TOLERANCE,
    Pairs,
    correlation_matrix,
    smallest_eigenvalue,
    suggest_spearman,
)
from jevons.engine.scenario.distributions import Distribution, Fixed
from jevons.kernels.constants import HOURS_PER_MONTH
from jevons.kernels.contract import HARDWARE_FIELDS, PARAMETER_PATHS, hardware_path, surge_path
from jevons.kernels.layers import input_tokens
from jevons.kernels.variables import EXCEEDANCE_OF
from jevons.supply.estimate import decode_context
from jevons.supply.points import MAX_INTERACTIVITY, MAX_TTFT_S
from jevons.supply.profiles import HardwareProfile, resolve_hardware
from jevons.supply.specs import MAX_COST_PER_GPU_HOUR, MAX_POWER_KW

STEP_HOURS = {"1h": 1, "1D": 24, "7D": 168}


def _within(
    low: float,
    high: float,
    meaning: str,
    strict_low: bool = False,
    *,
    largest: float = math.inf,
    unit: str = "",
):
    """A field's range, checked twice.

    Its domain [``low``, ``high``] (``low`` itself excluded if ``strict_low``) is
    checked on the distribution's support: a negative token count or a probability
    above 1 is wrong at any odds, so an unbounded normal there is refused. Its
    magnitude, at most ``largest``, the physically meaningful range (README,
    "Bad input"), is checked on every value a draw can take, from the quantile at
    the smallest uniform drawn to that at the largest (2^-24 and 1 - 2^-24): a
    lognormal number of users is fine as long as no draw exceeds 1e12.
    """

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
        first, last = dist.draw_range()
        if not (math.isfinite(first) and math.isfinite(last)):
            raise ValueError(
                f"this {dist.dist} distribution's draws are not finite in float64 (its"
                f" quantiles at 2^-24 and 1 - 2^-24 come out {first:g} and {last:g});"
                " check its parameters"
            )
        if strict_low and first <= low:
            raise ValueError(
                f"must be {meaning}, but this {dist.dist} distribution draws down to {first:g}"
                " (its quantile at 2^-24, the smallest uniform drawn); narrow it"
            )
        if last > largest:
            if isinstance(dist, Fixed):
                raise ValueError(f"must be at most {largest:g}{unit}, got {dist.value:g}")
            raise ValueError(
                f"must be at most {largest:g}{unit}, but this {dist.dist} distribution draws up"
                f" to {last:g} (its quantile at 1 - 2^-24, the largest uniform drawn); narrow it"
            )
        return dist

    return AfterValidator(check)


# Documented ranges (README, "Bad input"): what a scenario can mean physically, and what
# keeps every output finite in float64 at any combination of them.
MAX_USERS = 1e12
MAX_GROWN_USERS = 1e15  # users grown over the horizon without a saturation cap
MAX_PER_DAY = 1e4  # sessions per user per day, requests per session
MAX_TOKENS = 1e8  # tokens per request or call, context appended per call
MAX_GROWTH = 10.0  # +1000% a month
MAX_LOG_SD = 5.0  # volatility, step noise
MAX_SURGE = 1e3
MAX_CALLS = 1_000_000
MAX_FLEET = 1_000_000_000
MAX_ENERGY_PRICE = 1e3  # $/kWh
MAX_RATE_FACTOR = 1e3  # a drawn multiple of a profile's decode or prefill rate


def _non_negative(largest: float, unit: str = ""):
    return _within(0.0, math.inf, "non-negative", largest=largest, unit=unit)


def _positive(largest: float, unit: str = ""):
    return _within(0.0, math.inf, "positive", strict_low=True, largest=largest, unit=unit)


UserCount = Annotated[Distribution, _positive(MAX_USERS, " users")]
PerDay = Annotated[Distribution, _non_negative(MAX_PER_DAY)]
Tokens = Annotated[Distribution, _non_negative(MAX_TOKENS, " tokens")]
LogSd = Annotated[Distribution, _non_negative(MAX_LOG_SD)]
Probability = Annotated[Distribution, _within(0.0, 1.0, "a probability in [0, 1]")]
GrowthRate = Annotated[
    Distribution,
    _within(-1.0, math.inf, "greater than -1 (-100%)", strict_low=True, largest=MAX_GROWTH),
]
# The model clips the drifted hit rate to [0, 1], so any finite drift is harmless.
AnyReal = Annotated[Distribution, _within(-math.inf, math.inf, "a number")]
SurgeMultiplier = Annotated[Distribution, _non_negative(MAX_SURGE)]
# The busiest window's rate over its hour's mean rate: a window's peak is never below its mean.
BurstFactor = Annotated[
    Distribution,
    _within(1.0, math.inf, "at least 1 (a peak rate over the hour's mean)", largest=MAX_SURGE),
]
# thinking tokens and calls per request are not drawn: their moments are (see Reasoning, Agents)
NonNegative = Annotated[Distribution, _within(0.0, math.inf, "non-negative")]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# The output's time axis is datetime64[ns], which holds 1677-09-21 .. 2262-04-11; a
# horizon is kept inside these whole dates so that no step time wraps around.
EARLIEST_START = dt.date(1678, 1, 1)
LATEST_END = dt.date(2262, 1, 1)
_TIME_AXIS = "the output's time axis (datetime64[ns])"


class Horizon(_Section):
    start: dt.date = Field(
        description="First day of the horizon: the first step starts at its midnight"
    )
    step: Literal["1h", "1D", "7D"] = Field(
        default="1D", description='Length of a step: "1h" (an hour), "1D" (a day) or "7D" (a week)'
    )
    steps: int = Field(ge=1, le=200_000, description="Number of steps in the horizon [steps]")

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
    trajectories: int = Field(
        default=10_000,
        ge=1,
        le=2**40,
        description="Demand trajectories to simulate (-n overrides it) [trajectories]",
    )
    seed: int = Field(
        default=0,
        ge=0,
        lt=2**64,
        description="Key of the random streams: a seed gives the same numbers on every backend"
        " (--seed overrides it)",
    )
    quantiles: list[float] = Field(
        default=[0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99],
        description="Quantile levels reported over the trajectories, each strictly between 0"
        " and 1 [1]",
    )
    # exact: every trajectory of a step at once; sketch: any number of chunks,
    # quantiles within relative_accuracy; auto: exact up to EXACT_LIMIT trajectories.
    summary: Literal["auto", "exact", "sketch"] = Field(
        default="auto",
        description='How percentiles are taken: "exact" (every trajectory of a step at once),'
        ' "sketch" (mergeable sketches, within relative_accuracy) or "auto" (exact up to'
        " 1,000,000 trajectories)",
    )
    # Below 1e-4 a sketch keeps 2^13 or more buckets an octave per row: memory, not accuracy,
    # becomes the limit (jevons.engine.execution.memory checks the rest before a run).
    relative_accuracy: float = Field(
        default=0.005,
        ge=1e-4,
        le=0.05,
        description="Bound on the relative error of every sketched quantile and tail mean [1]",
    )
    sampling: Literal["mc", "lhs", "sobol"] = Field(
        default="mc",
        description='How the per-trajectory inputs cover their ranges: "mc" (plain Monte'
        ' Carlo), "lhs" (Latin hypercube) or "sobol" (scrambled Sobol\' points)',
    )  # jevons.engine.preparation.sampling
    reserve_period: Literal["month", "quarter"] = Field(
        default="month", description='The periods of reserve_gpus: calendar "month" or "quarter"'
    )

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
    initial: UserCount = Field(description="Active users at the horizon's start [users]")
    growth_per_month: GrowthRate = Field(
        default_factory=lambda: Fixed(value=0.0),
        description="Geometric growth rate of users, above -1 (-100%) [1/month]",
    )
    volatility: LogSd = Field(
        default_factory=lambda: Fixed(value=0.0),
        description="Log-sd of the users' random walk [1/sqrt(month)]",
    )
    saturation: UserCount | None = Field(
        default=None,
        description="Cap on users: growth slows as users near it; none: no cap [users]",
    )

    @field_validator("saturation")
    @classmethod
    def _cap_above_initial(cls, saturation, info: ValidationInfo):
        """A cap below the users already there is a mistake: refused when the medians say so.

        Where a trajectory's draws still cross (overlapping distributions), the cap in
        force is its initial users (``jevons.kernels.layers.market_cap``).
        """
        initial = info.data.get("initial")
        if saturation is None or initial is None:
            return saturation
        cap, users = (float(d.ppf(np.array([0.5]))[0]) for d in (saturation, initial))
        if cap < users:
            raise ValueError(
                f"a cap on users must not be below users.initial, but its median {cap:g} is"
                f" below the initial users' median {users:g}"
            )
        return saturation


class Usage(_Section):
    sessions_per_user_per_day: PerDay = Field(
        description="Sessions each active user starts a day [sessions/user/day]"
    )
    requests_per_session: PerDay = Field(
        description="Requests (user turns) per session [requests/session]"
    )
    input_tokens_per_request: Tokens = Field(
        description="Input tokens of a request's first LLM call: its prompt [tokens/request]"
    )
    output_tokens_per_call: Tokens = Field(
        description="Visible output tokens of each LLM call [tokens/call]"
    )


class Reasoning(_Section):
    share: Probability = Field(
        default_factory=lambda: Fixed(value=0.0),
        description="Share of LLM calls that reason (think before answering) [1]",
    )
    # budget first, so that thinking_tokens' check sees it
    budget: float | None = Field(
        default=None,
        ge=0,
        description="Most thinking tokens a reasoning call decodes: thinking = min(X, budget);"
        " none: no limit [tokens/call]",
    )
    thinking_tokens: NonNegative = Field(
        default_factory=lambda: Fixed(value=0.0),
        description="Thinking tokens X a reasoning call would decode without a budget, decoded"
        " but never shown; a spread over calls, whose mean E[min(X, budget)] is used [tokens/call]",
    )

    @field_validator("thinking_tokens")
    @classmethod
    def _mean_in_range(cls, dist, info: ValidationInfo):
        """Thinking tokens are not drawn but averaged (per reasoning call), so the range
        applies to what the model uses: E[min(X, budget)] <= MAX_TOKENS."""
        if "budget" not in info.data:
            return dist  # the budget itself is wrong, and reported
        try:
            mean = dist.capped_mean(info.data["budget"])
        except (ArithmeticError, ValueError):
            mean = math.nan  # float64 cannot hold it
        if not mean <= MAX_TOKENS:
            raise ValueError(
                f"the mean thinking tokens per reasoning call, E[min(X, budget)], must be at"
                f" most {MAX_TOKENS:g} tokens, got {mean:g}; narrow it or set reasoning.budget"
            )
        return dist

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

    calls_per_request: NonNegative = Field(
        default_factory=lambda: Fixed(value=1.0),
        description="LLM calls per request (an agent loop): a whole number, or a count"
        " distribution (poisson, negative_binomial, empirical) over requests held to"
        " 1..max_calls, whose moments are used [calls/request]",
    )
    max_calls: int = Field(
        default=1000, ge=1, le=MAX_CALLS, description="Most LLM calls one request makes [calls]"
    )
    context_growth_per_call: Tokens = Field(
        default_factory=lambda: Fixed(value=0.0),
        description="Tokens each further call of a request appends to its context (tool"
        " results, earlier turns) [tokens/call]",
    )

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
    hit_rate: Probability = Field(
        default_factory=lambda: Fixed(value=0.0),
        description="Share of input tokens served from the KV/prefix cache (not prefilled) at"
        " the horizon's start [1]",
    )
    drift_per_month: AnyReal = Field(
        default_factory=lambda: Fixed(value=0.0),
        description="Change of the hit rate a month; the drifted rate is held to 0..1 [1/month]",
    )


class Surge(_Section):
    name: str = Field(description="Name of the surge, unique; it names the multiplier's draws")
    start: dt.date = Field(description="First day of the surge")
    end: dt.date = Field(description="Last day of the surge, included")
    multiplier: SurgeMultiplier = Field(
        description="Demand multiplier on the surge's days, drawn once per trajectory [1]"
    )

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
        if any(v < 0 for v in values) or max(values) <= 0:
            raise ValueError("weights must be non-negative with a positive sum")
        # by the largest first, so that no sum overflows: equal weights of any size are ones
        top = max(values)
        scaled = [v / top for v in values]
        mean = math.fsum(scaled) / n
        return [v / mean for v in scaled]

    return AfterValidator(check)


class Variability(_Section):
    hour_weights: Annotated[list[float], _weights(24, "hour-of-day")] = Field(
        default=[1.0] * 24,
        description="24 relative weights of demand by hour of day, midnight first; scaled to"
        " mean 1 [1]",
    )
    weekday_weights: Annotated[list[float], _weights(7, "weekday (Monday first)")] = Field(
        default=[1.0] * 7,
        description="7 relative weights of demand by weekday, Monday first; scaled to mean 1 [1]",
    )
    surges: list[Surge] = Field(
        default_factory=list,
        description="Seasonal surges: date windows with an uncertain demand multiplier",
    )
    step_noise: LogSd = Field(
        default_factory=lambda: Fixed(value=0.0),
        description="Log-sd of the demand noise from step to step [1]",
    )
    # Peak GPUs (not GPU-hours, cost or a fixed fleet's hourly unserved work) are sized
    # for the busiest window inside the busiest hour: its rate / the hour's mean rate.
    burst_factor: BurstFactor = Field(
        default_factory=lambda: Fixed(value=1.0),
        description="Rate of the busiest window inside the busiest hour over the hour's mean"
        " rate, at least 1; it multiplies peak GPUs only [1]",
    )
    # Poisson noise on each step's request count; off only for zero-variance checks.
    count_noise: bool = Field(
        default=True,
        description="Poisson noise on each step's request count; false only for zero-variance"
        " checks",
    )
    # The weights as given: normalising is not idempotent to the last bit, so a dumped
    # scenario carries these, and validates back to the same normalised weights.
    _given_weights: dict[str, list[float]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _remember_given_weights(cls, data: Any, handler) -> Variability:
        variability = handler(data)
        if isinstance(data, dict):
            variability._given_weights = {
                name: [float(v) for v in data[name]]
                for name in ("hour_weights", "weekday_weights")
                if isinstance(data.get(name), list)
            }
        return variability

    @field_serializer("hour_weights", "weekday_weights")
    def _as_given(self, weights: list[float], info) -> list[float]:
        return self._given_weights.get(info.field_name, weights)

    @field_validator("surges")
    @classmethod
    def _unique_names(cls, surges: list[Surge]) -> list[Surge]:
        names = [s.name for s in surges]
        if len(names) != len(set(names)):
            raise ValueError(f"surge names must be unique, got {names}")
        return surges


class Supply(_Section):
    hardware: list[HardwareProfile] = Field(
        min_length=1,
        description='The hardware profiles to cost: a catalog key ("h200-hgx"), a table, or a'
        " list of them; each becomes a label of the output's hardware dim",
    )
    target_utilization: float = Field(
        default=0.7,
        ge=0.01,
        le=1,
        description="Planning margin: the share of a GPU's capacity that is used [1]",
    )
    interactivity: float | None = Field(
        default=None,
        gt=0,
        le=MAX_INTERACTIVITY,
        description="Output tokens/s per user the product needs; none: each profile at its"
        " headline point [tokens/s per user]",
    )
    ttft_limit_s: float | None = Field(
        default=None,
        gt=0,
        le=MAX_TTFT_S,
        description="Longest time to first token the product accepts: points with a slower"
        " published TTFT are left out of the frontiers [s]",
    )
    energy_price_per_kwh: float = Field(
        default=0.0,
        ge=0,
        le=MAX_ENERGY_PRICE,
        description="Price of energy, added to the cost of each GPU-hour at the profile's"
        " power [USD/kWh]",
    )
    price_decline_per_year: PriceDecline = Field(
        default_factory=lambda: Fixed(value=0.0),
        description="Yearly decline d of the elastic $/GPU-hour: price x (1 - d)^years since"
        " the horizon's start; below 0 for a rise [1/year]",
    )
    uncertainty: dict[str, HardwareUncertainty] = Field(
        default_factory=dict,
        description="Figures of a profile drawn per trajectory: one table per profile key",
    )

    @field_validator("hardware", mode="before")
    @classmethod
    def _resolve(cls, value, info: ValidationInfo):
        return resolve_hardware(value, (info.context or {}).get("base_dir"))

    @field_validator("hardware")
    @classmethod
    def _unique(cls, profiles: list[HardwareProfile]) -> list[HardwareProfile]:
        names = [p.key for p in profiles]
        if len(names) != len(set(names)):
            raise ValueError(f"hardware names must be unique, got {names}")
        return profiles

    @field_validator("uncertainty")
    @classmethod
    def _names_a_profile(cls, tables: dict[str, HardwareUncertainty], info: ValidationInfo):
        if "hardware" not in info.data:
            return tables  # the profiles themselves are wrong, and reported
        names = [p.key for p in info.data["hardware"]]
        unknown = [key for key in tables if key not in names]
        if unknown:
            # reported at supply.uncertainty.<key>, the table that names no profile
            problem = PydanticCustomError(
                "value_error", "names no profile in supply.hardware ({names})", {"names": names}
            )
            raise ValidationError.from_exception_data(
                cls.__name__,
                [InitErrorDetails(type=problem, loc=(key,), input=key) for key in unknown],
            )
        return tables

    def uncertainty_of(self, profile: HardwareProfile) -> HardwareUncertainty:
        """The profile's drawn figures (its own price and power where none are drawn)."""
        return self.uncertainty.get(profile.key, HardwareUncertainty()).with_nominal(profile)


# A price falls at most 95% a year and rises at most 50%: (1 - d)^years stays finite and
# positive over any horizon the time axis holds.
PriceDecline = Annotated[Distribution, _within(-0.5, 0.95, "a fraction a year from -0.5 to 0.95")]
RateFactor = Annotated[Distribution, _positive(MAX_RATE_FACTOR)]
Efficiency = Annotated[Distribution, _within(1e-3, 1.0, "a share from 0.001 to 1")]


class HardwareUncertainty(_Section):
    """One profile's figures drawn per trajectory: a price and a power replace the
    profile's own, the factors multiply its decode and prefill rates."""

    cost_per_gpu_hour: Annotated[Distribution, _positive(MAX_COST_PER_GPU_HOUR)] | None = Field(
        default=None,
        description="Price of a GPU-hour, in place of the profile's; none: the profile's"
        " [USD/GPU-hour]",
    )
    power_kw: Annotated[Distribution, _positive(MAX_POWER_KW, " kW")] | None = Field(
        default=None,
        description="All-in power per GPU, in place of the profile's; none: the profile's [kW]",
    )
    throughput_factor: RateFactor = Field(
        default_factory=lambda: Fixed(value=1.0),
        description="Factor on the profile's decode rate [1]",
    )
    prefill_factor: RateFactor = Field(
        default_factory=lambda: Fixed(value=1.0),
        description="Factor on the profile's prefill rate [1]",
    )
    # A roofline estimate's efficiencies (shares of HBM bandwidth and of dense FLOP/s),
    # in place of the defaults fitted to the catalog's measurements.
    decode_efficiency: Efficiency | None = Field(
        default=None,
        description="Share of HBM bandwidth the roofline's decode reaches (a profile with no"
        " measured point only); none: the fitted default [1]",
    )
    prefill_efficiency: Efficiency | None = Field(
        default=None,
        description="Share of dense FLOP/s the roofline's prefill reaches (a profile with no"
        " measured point only); none: the default [1]",
    )

    def with_nominal(self, profile: HardwareProfile) -> HardwareUncertainty:
        """Every figure as a distribution: a profile's own price and power where not drawn,
        and a roofline estimate's default efficiencies (1 for other profiles, which have
        none and never read them)."""
        decode, prefill = profile.efficiencies() if profile.kind == "estimated" else (1.0, 1.0)
        nominal = {
            "cost_per_gpu_hour": profile.cost_per_gpu_hour,
            "power_kw": profile.power_kw,
            "decode_efficiency": decode,
            "prefill_efficiency": prefill,
        }
        return self.model_copy(
            update={
                field: Fixed(value=value) if getattr(self, field) is None else getattr(self, field)
                for field, value in nominal.items()
            }
        )


MAX_PRICE_PER_MTOK = 1e6  # USD per million output tokens
MAX_MARKUP = 1e3
MAX_ELASTICITY = 10.0


class Monetization(_Section):
    """What the product charges for its visible output tokens, and how demand answers.

    Either ``price_per_mtok``, a price per million output tokens fixed over the horizon,
    or ``markup``, a price at that markup over each profile's nominal cost per million
    output tokens that then follows the elastic $/GPU-hour
    (``supply.price_decline_per_year``). Requests scale by
    ``(price_t / price_0)^(-elasticity)``: only a price that follows cost moves demand.
    """

    price_per_mtok: Annotated[Distribution, _non_negative(MAX_PRICE_PER_MTOK)] | None = Field(
        default=None,
        description="Price of a million visible output tokens, held over the horizon; give it"
        " or markup [USD per million output tokens]",
    )
    markup: (
        Annotated[
            Distribution,
            _within(-1.0, math.inf, "at least -1 (a price of 0)", largest=MAX_MARKUP),
        ]
        | None
    ) = Field(
        default=None,
        description="Markup over each profile's nominal cost per output token: price = cost x"
        " (1 + markup), which then follows the elastic $/GPU-hour; give it or price_per_mtok [1]",
    )
    elasticity: Annotated[
        Distribution,
        _within(
            0.0,
            math.inf,
            "at least 0 (demand never rises with its own price)",
            largest=MAX_ELASTICITY,
        ),
    ] = Field(
        default_factory=lambda: Fixed(value=0.0),
        description="Price elasticity e of demand: requests scale by (price_t / price_0)^(-e) [1]",
    )

    @model_validator(mode="after")
    def _one_price(self) -> Self:
        if self.price_per_mtok is not None and self.markup is not None:
            raise ValueError("give price_per_mtok or markup, not both")
        if self.model_fields_set and self.pricing is None:
            raise ValueError("give price_per_mtok (USD per million output tokens) or markup")
        return self

    @property
    def pricing(self) -> str | None:
        """ "price", "markup", or None without a price (no [monetization] table)."""
        if self.price_per_mtok is not None:
            return "price"
        return "markup" if self.markup is not None else None


FLEET_POLICY = (
    'Fleet policy: "elastic" (pay for the GPU-hours used, the default) or "fixed" (fleets of'
    " the sizes given, bought for every hour)"
)


class ElasticFleet(_Section):
    policy: Literal["elastic"] = Field(default="elastic", description=FLEET_POLICY)


class FixedFleet(_Section):
    policy: Literal["fixed"] = Field(description=FLEET_POLICY)
    sizes: list[Annotated[int, Field(ge=1, le=MAX_FLEET)]] = Field(
        min_length=1,
        description="Fleet sizes to compare, each serving up to that many GPUs of work every"
        " hour; each becomes a label of the output's fleet_size dim [GPUs]",
    )

    @field_validator("sizes")
    @classmethod
    def _sorted(cls, sizes: list[int]) -> list[int]:
        return sorted(set(sizes))


def per_trajectory_inputs(sections: dict) -> dict[str, Distribution | None]:
    """Every per-trajectory input of validated ``sections`` (a scenario's, by section name)
    by key path, in the order the draws and the copula take them: the model's parameters,
    the surge multipliers, then each profile's figures. None: ``users.saturation`` unset."""
    inputs: dict[str, Distribution | None] = {}
    for path in PARAMETER_PATHS:
        section, key = path.split(".")
        inputs[path] = getattr(sections[section], key)
    for surge in sections["variability"].surges:
        inputs[surge_path(surge.name)] = surge.multiplier
    supply = sections["supply"]
    for profile in supply.hardware:
        uncertain = supply.uncertainty_of(profile)
        for field in HARDWARE_FIELDS:
            inputs[hardware_path(profile.key, field)] = getattr(uncertain, field)
    return inputs


def _pair_problems(problems: list[tuple[str, str]]) -> ValidationError:
    """One error per pair key, reported at ``correlations."a|b"``."""
    return ValidationError.from_exception_data(
        "correlations",
        [
            InitErrorDetails(
                type=PydanticCustomError("value_error", "{message}", {"message": message}),
                loc=(f'"{key}"',) if key else (),
                input=key,
            )
            for key, message in problems
        ],
    )


def _split_pair(key: str) -> tuple[str, str] | None:
    parts = [part.strip() for part in key.split(PAIR_SEPARATOR)]
    return (parts[0], parts[1]) if len(parts) == 2 and all(parts) else None


def correlated_inputs(
    table: dict[str, float], inputs: dict[str, Distribution | None]
) -> tuple[tuple[str, ...], Pairs]:
    """The inputs a valid [correlations] table names, in draw order, and its pairs in the
    order of the table, each pair's paths in draw order."""
    rank = {path: k for k, path in enumerate(inputs)}
    pairs = []
    for key, value in table.items():
        a, b = sorted(_split_pair(key), key=rank.__getitem__)
        pairs.append((a, b, float(value)))
    named = {path for a, b, _ in pairs for path in (a, b)}
    return tuple(sorted(named, key=rank.__getitem__)), tuple(pairs)


def _threshold_problem(value) -> str | None:
    """Why ``value`` is no threshold (a number of the variable's units, finite, at least 0)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be a number or a list of numbers, got {value!r}"
    if not math.isfinite(value):
        return f"must be finite, got {value}"
    if value < 0:
        return f"must be at least 0, got {value:g}"
    return None


class Risk(_Section):
    """Tail risk the user asks about: ``thresholds`` per horizon variable (one number or a
    list, in the variable's units), for ``<name>_exceedance_probability``,
    P(value > threshold)."""

    thresholds: dict[str, list[float]] = Field(
        default_factory=dict,
        description="Thresholds of total_cost [USD] and max_peak_gpus [GPUs], one number or a"
        " list each, for P(value > threshold) [units of the variable]",
    )

    @field_validator("thresholds", mode="before")
    @classmethod
    def _numbers_of_known_variables(cls, tables):
        if not isinstance(tables, dict):
            return tables  # pydantic reports the type
        problems, checked = [], {}
        for key, given in tables.items():
            if key not in EXCEEDANCE_OF:
                names = " and ".join(EXCEEDANCE_OF)
                problems.append(((key,), f"exceedance probabilities are computed for {names} only"))
                continue
            values = given if isinstance(given, list) else [given]
            for i, value in enumerate(values):
                reason = _threshold_problem(value)
                if reason is not None:
                    problems.append(((key, i) if isinstance(given, list) else (key,), reason))
            checked[key] = sorted({float(v) for v in values if _threshold_problem(v) is None})
        if problems:
            # each reported at risk.thresholds.<key>[i], the value itself
            raise ValidationError.from_exception_data(
                cls.__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError("value_error", reason), loc=loc, input=tables
                    )
                    for loc, reason in problems
                ],
            )
        return checked


class Scenario(_Section):
    name: str = Field(
        default="scenario", description="Name of the scenario, in summaries and results"
    )
    description: str = Field(default="", description="What the scenario models, in words")
    horizon: Horizon = Field(description="The planning horizon: its start and its steps")
    simulation: Simulation = Field(
        default_factory=Simulation,
        description="Trajectories, seed, reported quantiles and how they are taken",
    )
    users: Users = Field(description="Active users and their growth (base usage)")
    usage: Usage = Field(description="Sessions, requests and tokens (base usage)")
    reasoning: Reasoning = Field(
        default_factory=Reasoning, description="Calls that reason, and their thinking tokens"
    )
    agents: Agents = Field(
        default_factory=Agents,
        description="Agent loops: LLM calls per request and the context each adds",
    )
    cache: Cache = Field(default_factory=Cache, description="The KV/prefix cache hit rate")
    variability: Variability = Field(
        default_factory=Variability,
        description="Hour-of-day and weekday profiles, surges, noise and bursts: the peaks that"
        " size capacity",
    )
    supply: Supply = Field(
        description="The hardware that serves the product, its utilisation and its prices"
    )
    fleet: Annotated[ElasticFleet | FixedFleet, Field(discriminator="policy")] = Field(
        default_factory=ElasticFleet, description="Elastic capacity, or fixed fleets"
    )
    monetization: Monetization = Field(
        default_factory=Monetization,
        description="The product's price for its output tokens, and how demand answers it",
    )
    # "path_a|path_b" -> Spearman rank correlation of two per-trajectory inputs (a Gaussian
    # copula, jevons.engine.preparation.copula); last, so that its check sees every input.
    correlations: dict[str, float] = Field(
        default_factory=dict,
        description='Rank correlations of drawn inputs: "path_a|path_b" = Spearman\'s rho,'
        " from -1 to 1 [1]",
    )
    risk: Risk = Field(default_factory=Risk, description="Thresholds for exceedance probabilities")

    @field_validator("correlations", mode="before")
    @classmethod
    def _well_formed_pairs(cls, table: Any) -> Any:
        if not isinstance(table, dict):
            return table  # not a table: pydantic reports it
        problems, seen = [], {}
        for key, value in table.items():
            pair = _split_pair(str(key))
            if isinstance(value, dict):
                problems.append((key, 'quote the whole pair key: "a.b|c.d" = 0.5'))
            elif isinstance(value, bool) or not isinstance(value, int | float):
                problems.append((key, f"must be a number in [-1, 1], got {value!r}"))
            elif pair is None:
                problems.append(
                    (key, "a pair key is two input paths joined by '|', e.g."
                     ' "users.growth_per_month|reasoning.share"')
                )  # fmt: skip
            elif pair[0] == pair[1]:
                problems.append((key, f"pairs {pair[0]} with itself (always 1)"))
            elif frozenset(pair) in seen:
                problems.append((key, f'the same pair as "{seen[frozenset(pair)]}"'))
            elif not -1.0 <= value <= 1.0:
                problems.append((key, f"a rank correlation must lie in [-1, 1], got {value}"))
            if pair is not None:
                seen.setdefault(frozenset(pair), key)
        if problems:
            raise _pair_problems(problems)
        return table

    @field_validator("correlations")
    @classmethod
    def _drawn_inputs_jointly_possible(cls, table: dict[str, float], info: ValidationInfo):
        sections = (
            "users", "usage", "reasoning", "agents", "cache", "variability", "supply",
            "monetization",
        )  # fmt: skip
        if not table or any(name not in info.data for name in sections):
            return table  # nothing to check, or a section is wrong, and reported
        inputs = per_trajectory_inputs(info.data)
        drawn = [
            path for path, dist in inputs.items() if not (dist is None or isinstance(dist, Fixed))
        ]
        problems = []
        for key in table:
            for path in _split_pair(key):
                if path not in inputs:
                    problems.append(
                        (key, f"{path} is no per-trajectory input; drawn here: {', '.join(drawn)}")
                    )
                    break
                if path not in drawn:
                    problems.append(
                        (key, f"{path} is fixed, not drawn per trajectory; give it a"
                         " distribution or leave the pair out")
                    )  # fmt: skip
                    break
        if problems:
            raise _pair_problems(problems)
        order, pairs = correlated_inputs(table, inputs)
        lowest = smallest_eigenvalue(correlation_matrix(order, pairs))
        if lowest < -PSD_TOLERANCE:
            # keys as the table spells them, so that the suggestion can be pasted over it
            suggestion = ", ".join(
                f'"{key}" = {value:.3f}'
                for key, (_, _, value) in zip(table, suggest_spearman(order, pairs), strict=True)
            )
            named = ", ".join(f'"{key}"' for key in table)
            raise _pair_problems(
                [("", f"the pairs {named} cannot hold together (on the normal scale,"
                 f" 2 sin(pi rho_s / 6), their matrix has eigenvalue {lowest:.3g} < 0);"
                 f" the nearest valid values: {suggestion}")]
            )  # fmt: skip
        return table

    def correlated_pairs(self) -> tuple[tuple[str, ...], Pairs]:
        """(the correlated inputs in draw order, their pairs (a, b, Spearman)); empty without
        a [correlations] table."""
        return correlated_inputs(self.correlations, per_trajectory_inputs(dict(self)))

    def decode_context_tokens(self) -> float:
        """Mean KV-cache length while a call decodes [tokens]: its mean input (the
        request's prompt plus the agent loop's appended context) and half its decoded
        tokens (visible output and thinking), at the inputs' means."""
        calls, pairs = self.agents.calls_moments()
        prompt = (
            input_tokens(
                1.0,
                self.usage.input_tokens_per_request.mean(),
                self.agents.context_growth_per_call.mean(),
                calls,
                pairs,
            )
            / calls
        )
        decoded = self.usage.output_tokens_per_call.mean() + (
            self.reasoning.share.mean() * self.reasoning.thinking_per_reasoning_call()
        )
        return decode_context(prompt, decoded)

    def hardware_rates(self) -> list[tuple[float, float]]:
        """(prefill, output-only decode) tokens/s per GPU of each profile, at the
        scenario's interactivity and TTFT limit."""
        supply = self.supply
        context = self.decode_context_tokens()
        return [
            profile.rates(supply.interactivity, context, supply.ttft_limit_s)
            for profile in supply.hardware
        ]

    @model_validator(mode="after")
    def _every_profile_serves_the_requirement(self) -> Self:
        self.hardware_rates()  # raises, naming the profile, where one cannot
        supply = self.supply
        for profile in supply.hardware:
            uncertain = supply.uncertainty.get(profile.key)
            if uncertain is None:
                continue
            drawn = [
                field
                for field in ("decode_efficiency", "prefill_efficiency")
                if getattr(uncertain, field) is not None
            ]
            if drawn and profile.kind != "estimated":
                raise ValueError(
                    f"supply.uncertainty.{profile.key}.{drawn[0]}: only a roofline estimate"
                    " (a profile with no measured point) has efficiencies; use"
                    " throughput_factor or prefill_factor"
                )
            if drawn:
                # the rate rises with each efficiency: the lowest draws must still serve
                lowest = [
                    getattr(uncertain, field).draw_range()[0]
                    if getattr(uncertain, field) is not None
                    else nominal
                    for field, nominal in zip(
                        ("decode_efficiency", "prefill_efficiency"),
                        profile.efficiencies(),
                        strict=True,
                    )
                ]
                rate = profile.efficiency_decode_rate(
                    *lowest, supply.interactivity, self.decode_context_tokens()
                )
                if not rate > 0:
                    raise ValueError(
                        f"supply.uncertainty.{profile.key}: at the lowest drawn efficiencies"
                        f" (decode {lowest[0]:g}, prefill {lowest[1]:g}) the roofline cannot"
                        f" reach supply.interactivity {supply.interactivity:g}"
                    )
        return self

    @model_validator(mode="after")
    def _users_stay_in_range(self) -> Self:
        """Without a cap, users grown at the largest growth rate over the horizon stay at
        most MAX_GROWN_USERS (noise aside: it is a martingale, so it does not compound)."""
        users = self.users
        if users.saturation is not None:
            return self  # users never pass max(saturation, initial) <= MAX_USERS
        months = self.horizon.steps * self.horizon.step_hours / HOURS_PER_MONTH
        top = users.initial.draw_range()[1]
        growth = users.growth_per_month.draw_range()[1]
        log_grown = math.log(top) + months * math.log1p(growth)
        if log_grown > math.log(MAX_GROWN_USERS):
            grown = f"{math.exp(log_grown):.3g}" if log_grown < 700 else f"e^{log_grown:.4g}"
            raise ValueError(
                f"users.growth_per_month: {top:g} users growing {growth:g} a month for"
                f" {months:.4g} months reach {grown}, above {MAX_GROWN_USERS:g}; set"
                " users.saturation (a cap on users) or lower the growth"
            )
        return self

    def output_shares_per_output_token(self) -> tuple[float, float]:
        """(uncached input, decoded tokens) per visible output token at the inputs' means
        [tokens per output token]: the mean request shape a markup prices."""
        calls, pairs = self.agents.calls_moments()
        prompt = input_tokens(
            1.0,
            self.usage.input_tokens_per_request.mean(),
            self.agents.context_growth_per_call.mean(),
            calls,
            pairs,
        )
        output = calls * self.usage.output_tokens_per_call.mean()
        thinking = (
            calls * self.reasoning.share.mean() * self.reasoning.thinking_per_reasoning_call()
        )
        return (1.0 - self.cache.hit_rate.mean()) * prompt / output, (output + thinking) / output

    @model_validator(mode="after")
    def _markup_has_output_to_price(self) -> Self:
        if self.monetization.markup is not None and not (
            self.usage.output_tokens_per_call.mean() > 0
        ):
            raise ValueError(
                "monetization.markup: a markup prices visible output tokens, but"
                " usage.output_tokens_per_call has mean 0; give price_per_mtok instead"
            )
        return self

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
