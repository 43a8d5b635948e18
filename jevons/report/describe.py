"""A scenario on the back of a napkin: each demand layer at the medians of its inputs.

Every uncertain input is set to its median, the quantile at 0.5
(:func:`~jevons.engine.preparation.input_draws.median_inputs`), and the per-step
shocks to their mean of 1 (user volatility and step noise at 0, no Poisson
count noise). At one step of the horizon the demand is then built up one layer
at a time, users x sessions x requests x tokens, then reasoning, agent loops,
prefix-cache hits, the calendar's busiest hour, bursts and target utilisation,
each with its running value and its multiplier over the layer before.

Formulas have one home: every running value is a function of
:mod:`jevons.kernels.layers`, the functions the model itself runs, called with
the layers not yet applied switched off (one call per request, no thinking, no
cache hits, a flat day, no burst, full utilisation). The model proper runs too:
the NumPy reference (:func:`jevons.kernels.reference.simulate`) steps one
trajectory at those medians through the whole horizon, which gives the users at
the step (growth and saturation), picks the step, and gives the figures the
chain must end on, which the tests hold it to. A short Monte Carlo run of the
scenario itself gives the simulated medians (P50) beside them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from jevons.engine.execution.run import run_scenario
from jevons.engine.execution.settings import RunSettings
from jevons.engine.preparation.input_draws import median_inputs
from jevons.engine.preparation.plan import build_plan
from jevons.engine.scenario.schema import Scenario
from jevons.errors import JevonsError
from jevons.kernels import layers, reference
from jevons.kernels.constants import HOURS_PER_DAY
from jevons.kernels.contract import ModelPlan, TrajectoryInputs, surge_path
from jevons.kernels.philox import seed_key
from jevons.kernels.variables import VARIABLES

DEFAULT_TRAJECTORIES = 2_000
STEP_CHOICES = ("peak", "start", "end")
# The per-step shocks are mean-one; the napkin takes them at their mean.
NOISE_INPUTS = ("users.volatility", "variability.step_noise")

# Outputs compared at the chosen step, then over the horizon (by hardware where they have it).
STEP_OUTPUTS = (
    "users", "requests", "llm_calls", "input_tokens", "output_tokens", "thinking_tokens",
    "gpu_hours", "peak_gpus", "cost_per_mtok", "cost_per_mtok_all",
)  # fmt: skip
HORIZON_OUTPUTS = ("max_peak_gpus", "horizon_cost_per_mtok", "horizon_cost_per_mtok_all")


@dataclass(frozen=True)
class Layer:
    """One layer of the chain at the medians.

    ``reads`` lists what the layer multiplies by: (scenario key, or a quantity the
    model derives from keys, and its value at the medians). ``value`` is the running
    value after the layer, in ``units``; ``multiplier`` is ``value`` over the
    previous layer's (None for the first layer; nan where the previous is 0).
    """

    name: str
    reads: tuple[tuple[str, float], ...]
    value: float
    units: str
    multiplier: float | None


@dataclass(frozen=True)
class Comparison:
    """An output at the medians beside its simulated median (P50) over trajectories.

    ``scope`` "step": at the described step; "horizon": over the whole horizon.
    ``simulated_p50`` is None where no run was asked for.
    """

    variable: str
    units: str
    hardware: str | None
    scope: str
    at_medians: float
    simulated_p50: float | None


@dataclass(frozen=True)
class Description:
    """The napkin of a scenario at one step: the demand chain (shared by every hardware
    profile), its continuation into GPUs per profile, and the outputs compared."""

    scenario: str
    step: int
    time: dt.datetime
    step_hours: int
    why: str  # how the step was chosen, in words
    demand: tuple[Layer, ...]
    capacity: dict[str, tuple[Layer, ...]]
    comparisons: tuple[Comparison, ...]
    # The medians of the mean-one shocks' log-sds, taken at 0 by the chain, and whether
    # request counts carry Poisson noise, which the chain leaves out too.
    noise_medians: dict[str, float]
    count_noise: bool
    trajectories: int
    backend: str | None


def describe(
    scenario: Scenario,
    *,
    trajectories: int = DEFAULT_TRAJECTORIES,
    backend: str = "auto",
    at: str = "peak",
) -> Description:
    """The napkin of ``scenario`` at the step ``at``, next to a short run's medians.

    ``at``: "peak" (the step where the medians' peak GPUs on the first profile are
    largest: the step that sizes the fleet), "start", "end", or a date (YYYY-MM-DD)
    inside the horizon. ``trajectories`` 0 skips the run.
    """
    plan = build_plan(scenario)
    drawn = median_inputs(scenario)
    inputs = _quiet(drawn)
    steps, totals = _run_at_medians(scenario, plan, inputs)
    t, why = _choose_step(plan, steps["peak_gpus"][:, 0], at)
    demand, requests_day, requests_step = _demand_chain(plan, inputs, steps, t)
    capacity = {
        hw: _capacity_chain(plan, inputs, h, t, demand[-1].value, requests_day, requests_step)
        for h, hw in enumerate(plan.hardware)
    }
    simulated, backend_name = None, None
    if trajectories > 0:
        simulated = _short_run(scenario, trajectories, backend)
        backend_name = str(simulated.attrs.get("backend", backend))
    return Description(
        scenario=scenario.name,
        step=t,
        time=plan.calendar.step_start[t].astype(dt.datetime),
        step_hours=plan.step_hours,
        why=why,
        demand=demand,
        capacity=capacity,
        comparisons=_comparisons(plan, steps, totals, t, simulated),
        noise_medians={path: float(drawn[path][0]) for path in NOISE_INPUTS},
        count_noise=plan.count_noise,
        trajectories=trajectories,
        backend=backend_name,
    )


# -- the model at the medians -----------------------------------------------------------


def _quiet(inputs: TrajectoryInputs) -> TrajectoryInputs:
    """The inputs with the per-step shocks at their mean of 1 (log-sd 0)."""
    values = dict(inputs.values)
    for path in NOISE_INPUTS:
        values[path] = np.zeros_like(values[path])
    return replace(inputs, values=values)


def _run_at_medians(
    scenario: Scenario, plan: ModelPlan, inputs: TrajectoryInputs
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The NumPy reference on the one trajectory at the medians, without count noise:
    ({variable: (steps, *lead dims)}, {horizon variable: (*lead dims)})."""
    store: dict[str, list[np.ndarray]] = {}

    def on_window(t0: int, values: dict[str, np.ndarray]) -> None:
        for name, array in values.items():
            store.setdefault(name, []).append(np.asarray(array)[..., 0])

    totals = reference.simulate(
        replace(plan, count_noise=False),
        inputs,
        np.zeros(1, dtype=np.uint64),
        seed_key(scenario.simulation.seed),
        on_window,
    )
    steps = {name: np.concatenate(arrays, axis=0) for name, arrays in store.items()}
    return steps, {name: np.asarray(v)[..., 0] for name, v in totals.items()}


def _choose_step(plan: ModelPlan, peak_gpus: np.ndarray, at: str) -> tuple[int, str]:
    """The step to describe and why it was chosen."""
    starts = plan.calendar.step_start
    if at == "peak":
        return int(np.argmax(peak_gpus)), (
            f"the step with the largest peak GPUs at the medians, on {plan.hardware[0]}"
        )
    if at == "start":
        return 0, "the horizon's first step"
    if at == "end":
        return plan.steps - 1, "the horizon's last step"
    try:
        day = np.datetime64(dt.date.fromisoformat(at), "h")
    except ValueError:
        raise JevonsError(
            f"--at: give {', '.join(STEP_CHOICES)} or a date (YYYY-MM-DD), got {at!r}"
        ) from None
    t = int(np.searchsorted(starts, day, side="right")) - 1
    end = starts[-1] + np.timedelta64(plan.step_hours, "h")
    if t < 0 or day >= end:
        last_day = end - np.timedelta64(1, "h")  # the end is the midnight after the last step
        raise JevonsError(
            f"--at: {at} lies outside the horizon, {starts[0].astype(dt.datetime):%Y-%m-%d}"
            f" to {last_day.astype(dt.datetime):%Y-%m-%d}"
        )
    return t, f"the step that holds {at}"


# -- the chain --------------------------------------------------------------------------


def _scalar(value) -> float:
    """The one trajectory's value of a model quantity, as a number."""
    return float(np.asarray(value).reshape(-1)[0])


class _Chain:
    def __init__(self, previous: float | None = None):
        self.layers: list[Layer] = []
        self._previous = previous

    def add(self, name: str, reads: Sequence[tuple[str, float]], value, units: str) -> float:
        value = _scalar(value)
        previous = self.layers[-1].value if self.layers else self._previous
        multiplier = None
        if previous is not None:
            multiplier = value / previous if previous != 0 else float("nan")
        self.layers.append(
            Layer(name, tuple((key, _scalar(x)) for key, x in reads), value, units, multiplier)
        )
        return value


def _token_parts(
    plan: ModelPlan, m: dict[str, np.ndarray], requests, *, reasoning: bool, agents: bool
) -> tuple[float, float, float]:
    """(input, visible output, thinking) tokens of ``requests``, with or without the
    reasoning layer and the agent loop (without: one call per request, nothing appended)."""
    calls_per_request = plan.calls_per_request if agents else 1.0
    pairs = plan.call_pairs_per_request if agents else 0.0
    calls = layers.llm_calls(requests, calls_per_request)
    prompt = layers.input_tokens(
        requests,
        m["usage.input_tokens_per_request"],
        m["agents.context_growth_per_call"],
        calls_per_request,
        pairs,
    )
    output = layers.output_tokens(calls, m["usage.output_tokens_per_call"])
    share = m["reasoning.share"] if reasoning else 0.0
    thinking = layers.thinking_tokens(calls, share, plan.thinking_per_reasoning_call)
    return prompt, output, thinking


def _demand_factor(plan: ModelPlan, m: dict[str, np.ndarray], t: int) -> float:
    """Demand's answer to a price that follows cost (1 unless priced at a markup)."""
    if plan.pricing != "markup":
        return 1.0
    rate = layers.price_response_log_rate(
        m["monetization.elasticity"], m["supply.price_decline_per_year"]
    )
    return _scalar(layers.demand_factor(rate, float(plan.step_years[t])))


def _calendar(plan: ModelPlan, inputs: TrajectoryInputs, t: int) -> tuple[float, float, float]:
    """(volume factor, busiest hour's weight, peak-hour share) of step ``t`` at the medians."""
    cal = plan.calendar
    groups = int(cal.group_count[t])
    surge_factors = layers.group_surge_factors(
        inputs.surge_multipliers, cal.group_surges[t, :groups]
    )
    volume = layers.volume_factor(surge_factors, cal.group_mean_weight[t, :groups])
    busiest = layers.busiest_hour_weight(surge_factors, cal.group_peak_weight[t, :groups])
    share = layers.peak_hour_share(volume, busiest, plan.step_hours)
    return _scalar(volume), _scalar(busiest), _scalar(share)


def _demand_chain(
    plan: ModelPlan, inputs: TrajectoryInputs, steps: dict[str, np.ndarray], t: int
) -> tuple[tuple[Layer, ...], float, float]:
    """Users to tokens a day (a flat day: calendar weight 1); also the requests of that
    day and of step ``t`` itself, which the capacity chains continue from."""
    m = inputs.values  # arrays of one trajectory, as the model's functions take them
    chain = _Chain()
    users = chain.add(
        "users",
        [(key, m[key]) for key in ("users.initial", "users.growth_per_month", "users.saturation")]
        + [("months elapsed", t * plan.months_per_step)],
        steps["users"][t],
        "users",
    )
    sessions_per_day, per_session = (
        m["usage.sessions_per_user_per_day"],
        m["usage.requests_per_session"],
    )
    # a session of one request counts the sessions
    chain.add(
        "sessions",
        [("usage.sessions_per_user_per_day", sessions_per_day)],
        layers.expected_requests(users, sessions_per_day, 1.0, HOURS_PER_DAY, 1.0, 1.0),
        "sessions/day",
    )
    requests = chain.add(
        "requests",
        [("usage.requests_per_session", per_session)],
        layers.expected_requests(users, sessions_per_day, per_session, HOURS_PER_DAY, 1.0, 1.0),
        "requests/day",
    )
    if plan.pricing == "markup":
        requests = chain.add(
            "price response",
            [(key, m[key]) for key in ("monetization.elasticity", "supply.price_decline_per_year")]
            + [("years elapsed", float(plan.step_years[t]))],
            requests * _demand_factor(plan, m, t),
            "requests/day",
        )
    chain.add(
        "tokens",
        [(k, m[k]) for k in ("usage.input_tokens_per_request", "usage.output_tokens_per_call")],
        layers.processed_tokens(*_token_parts(plan, m, requests, reasoning=False, agents=False)),
        "tokens/day",
    )
    chain.add(
        "reasoning",
        [
            ("reasoning.share", m["reasoning.share"]),
            (
                "E[min(reasoning.thinking_tokens, reasoning.budget)]",
                plan.thinking_per_reasoning_call,
            ),
        ],
        layers.processed_tokens(*_token_parts(plan, m, requests, reasoning=True, agents=False)),
        "tokens/day",
    )
    chain.add(
        "agent loops",
        [
            ("E[agents.calls_per_request]", plan.calls_per_request),
            ("E[C(C-1)] of the calls C per request", plan.call_pairs_per_request),
            ("agents.context_growth_per_call", m["agents.context_growth_per_call"]),
        ],
        layers.processed_tokens(*_token_parts(plan, m, requests, reasoning=True, agents=True)),
        "tokens/day",
    )
    # the step's own requests, as the model counts them (noise at 1)
    volume, _, _ = _calendar(plan, inputs, t)
    step_requests = layers.expected_requests(
        users, sessions_per_day, per_session, plan.step_hours, volume, 1.0
    ) * _demand_factor(plan, m, t)
    return tuple(chain.layers), requests, step_requests


def _capacity_chain(
    plan: ModelPlan,
    inputs: TrajectoryInputs,
    h: int,
    t: int,
    tokens_day: float,
    requests_day: float,
    requests_step: float,
) -> tuple[Layer, ...]:
    """Tokens a day to the peak GPUs of profile ``h`` at step ``t``."""
    m = inputs.values
    drawn = {field: v[h] for field, v in inputs.hardware.items()}
    prefill_cost = layers.seconds_per_token(float(plan.prefill_rate[h]), drawn["prefill_factor"])
    decode_cost = layers.seconds_per_token(float(plan.decode_rate[h]), drawn["throughput_factor"])
    hit = layers.cache_hit_rate(
        m["cache.hit_rate"], m["cache.drift_per_month"], t * plan.months_per_step
    )

    def work(requests, cache: bool) -> float:
        """GPU-seconds of ``requests`` with every demand layer, with or without cache hits."""
        prompt, output, thinking = _token_parts(plan, m, requests, reasoning=True, agents=True)
        prefill = layers.prefill_tokens(prompt, layers.cached_tokens(prompt, hit if cache else 0.0))
        return layers.gpu_seconds(
            layers.prefill_gpu_seconds(prefill, prefill_cost),
            layers.decode_gpu_seconds(layers.decoded_tokens(output, thinking), decode_cost),
        )

    volume, busiest, share = _calendar(plan, inputs, t)
    step_work = work(requests_step, cache=True)
    active = [
        (surge_path(name), float(inputs.surge_multipliers[k, 0]))
        for k, name in enumerate(plan.surge_names)
        if plan.calendar.group_surges[t, : int(plan.calendar.group_count[t]), k].any()
    ]
    burst = m["variability.burst_factor"]
    util = plan.target_utilization
    chain = _Chain(tokens_day)
    chain.add(
        "serving rate",
        [
            ("prefill tokens/s per GPU", 1.0 / _scalar(prefill_cost)),
            ("decode tokens/s per GPU", 1.0 / _scalar(decode_cost)),
        ],
        work(requests_day, cache=False),
        "GPU-s/day",
    )
    chain.add(
        "prefix cache",
        [(key, m[key]) for key in ("cache.hit_rate", "cache.drift_per_month")]
        + [("hit rate at the step", hit)],
        work(requests_day, cache=True),
        "GPU-s/day",
    )
    # GPUs busy in an hour: the GPU-hours of the day or step at that hour's share of them
    chain.add(
        "mean hour",
        [("hours per day", HOURS_PER_DAY)],
        layers.peak_gpus(
            layers.gpu_hours(work(requests_day, cache=True), 1.0), 1.0 / HOURS_PER_DAY, 1.0
        ),
        "busy GPUs",
    )
    chain.add(
        "calendar: weekday and surges",
        [("mean hourly weight of the step", volume), *active],
        layers.peak_gpus(layers.gpu_hours(step_work, 1.0), 1.0 / plan.step_hours, 1.0),
        "busy GPUs",
    )
    chain.add(
        "calendar peak",
        [("busiest hour's weight", busiest)],
        layers.peak_gpus(layers.gpu_hours(step_work, 1.0), share, 1.0),
        "busy GPUs",
    )
    chain.add(
        "burst",
        [("variability.burst_factor", burst)],
        layers.peak_gpus(layers.gpu_hours(step_work, 1.0), share, burst),
        "busy GPUs",
    )
    chain.add(
        "utilisation",
        [("supply.target_utilization", util)],
        layers.peak_gpus(layers.gpu_hours(step_work, util), share, burst),
        "peak GPUs",
    )
    return tuple(chain.layers)


# -- beside a short run ---------------------------------------------------------------


def _short_run(scenario: Scenario, trajectories: int, backend: str):
    """The scenario's own run, short, with its median as the one quantile."""
    median_only = scenario.model_copy(
        update={"simulation": scenario.simulation.model_copy(update={"quantiles": [0.5]})}
    )
    settings = RunSettings(trajectories=trajectories, backend=backend, summary="auto")
    return run_scenario(median_only, settings)


def _comparisons(
    plan: ModelPlan,
    steps: dict[str, np.ndarray],
    totals: dict[str, np.ndarray],
    t: int,
    simulated,
) -> tuple[Comparison, ...]:
    rows = []
    for scope, names in (("step", STEP_OUTPUTS), ("horizon", HORIZON_OUTPUTS)):
        for name in names:
            at_medians = steps[name][t] if scope == "step" else totals[name]
            by_hardware = "hardware" in VARIABLES[name].lead_dims
            for h, hw in enumerate(plan.hardware if by_hardware else [None]):
                p50 = None
                if simulated is not None:
                    values = simulated[name].sel(quantile=0.5)
                    if scope == "step":
                        values = values.isel(time=t)
                    if hw is not None:
                        values = values.sel(hardware=hw)
                    p50 = float(values)
                rows.append(
                    Comparison(
                        variable=name,
                        units=VARIABLES[name].units,
                        hardware=hw,
                        scope=scope,
                        at_medians=float(np.asarray(at_medians).reshape(-1)[h if hw else 0]),
                        simulated_p50=p50,
                    )
                )
    return tuple(rows)
