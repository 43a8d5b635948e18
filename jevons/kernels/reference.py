"""The NumPy reference model: vectorised over trajectories, stepping through time.

One pass per step computes every layer for every trajectory from the
per-trajectory inputs and that step's Philox block:

* word 0 -> normal shock to user growth
* word 1 -> normal step noise on demand
* word 2 -> uniform for the Poisson count of requests
* word 3 -> reserved

The fused CPU and GPU kernels implement the same arithmetic on the same words.

The model is written against the Python array API standard: given CuPy arrays
(inputs and trajectory indices) it runs on the GPU, unchanged; given NumPy
arrays it is the NumPy reference. The plan's arrays (hardware rates, calendar
tables) are copied once to the inputs' device; the calendar's per-step factors
are read on the host as Python floats, so no step waits on a device.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from jevons.engine.plan import ModelPlan
from jevons.engine.sampling import TrajectoryInputs
from jevons.kernels import layers
from jevons.kernels.array_api import Array, device, namespace
from jevons.kernels.philox import step_block
from jevons.kernels.transforms import normal_from_word, uniform_from_word

# on_block(first step, {name: array (steps in block, *lead dims, trajectories)})
BlockSink = Callable[[int, dict[str, Array]], None]


def simulate(
    plan: ModelPlan,
    inputs: TrajectoryInputs,
    trajectories: Array,
    key: tuple[int, int],
    on_block: BlockSink,
) -> dict[str, Array]:
    """Run the model over the horizon; report each step to ``on_block`` as a block of one.

    ``inputs`` and ``trajectories`` are arrays of one namespace on one device;
    every array reported and returned is too. Returns the per-trajectory
    horizon totals.
    """
    xp = namespace(trajectories, inputs.surge_multipliers, *inputs.values.values())
    home = device(trajectories)

    def here(host: np.ndarray) -> Array:
        return xp.asarray(host, device=home)

    n = trajectories.shape[0]
    cal = plan.calendar
    months = plan.months_per_step
    util = plan.target_utilization
    prefill_rate = here(plan.prefill_rate)[:, None]
    decode_rate = here(plan.decode_rate)[:, None]
    price = here(plan.cost_per_gpu_hour)[:, None]
    power = here(plan.power_kw)[:, None]
    fleet = xp.asarray(plan.fleet_sizes, dtype=xp.float64, device=home)[:, None, None]
    surge_coverage = here(cal.surge_coverage)
    excess_knots = here(cal.excess_knots)
    excess_values = here(cal.excess_values)
    n_hw = len(plan.hardware)
    n_fleet = len(plan.fleet_sizes)

    users = xp.asarray(inputs["users.initial"], copy=True)
    # A market is never smaller than the users already in it.
    saturation = xp.maximum(inputs["users.saturation"], users)
    totals = {
        name: xp.zeros(n, dtype=xp.float64, device=home)
        for name in (
            "total_requests",
            "total_llm_calls",
            "total_input_tokens",
            "total_output_tokens",
            "total_thinking_tokens",
        )
    }
    for name in ("total_gpu_hours", "total_cost", "total_energy_kwh", "max_peak_gpus"):
        totals[name] = xp.zeros((n_hw, n), dtype=xp.float64, device=home)
    unserved_total = xp.zeros((n_fleet, n_hw, n), dtype=xp.float64, device=home)
    any_short = xp.zeros((n_fleet, n_hw, n), dtype=xp.bool, device=home)

    for t in range(plan.steps):
        words = step_block(trajectories, t, key)
        if t > 0:
            users = layers.users_next(
                users,
                inputs["users.growth_per_month"],
                inputs["users.volatility"],
                saturation,
                months,
                normal_from_word(words[0]),
            )
        # Surges: the mean over the step scales by coverage. The peak hour takes the full
        # multiplier when the surge covers the step; when it covers part, the busiest hour
        # may lie outside it, so a lull (multiplier < 1) does not lower the peak.
        coverage = surge_coverage[:, t][:, None]
        multiplier = inputs.surge_multipliers
        surge_mean = xp.prod(1.0 + coverage * (multiplier - 1.0), axis=0)
        partial = xp.where(coverage > 0, xp.maximum(multiplier, 1.0), 1.0)
        surge_peak = xp.prod(xp.where(coverage >= 1, multiplier, partial), axis=0)

        noise = layers.step_noise(inputs["variability.step_noise"], normal_from_word(words[1]))
        mean_requests = layers.expected_requests(
            users,
            inputs["usage.sessions_per_user_per_day"],
            inputs["usage.requests_per_session"],
            plan.step_hours,
            float(cal.mean_factor[t]),
            surge_mean,
            noise,
        )
        if plan.count_noise:
            requests = layers.poisson_counts(mean_requests, uniform_from_word(words[2]))
        else:
            requests = mean_requests
        with np.errstate(invalid="ignore", divide="ignore"):  # where() drops the 0/0
            peak_share = xp.where(
                surge_mean > 0, float(cal.peak_share[t]) * surge_peak / surge_mean, 0.0
            )
        calls = layers.llm_calls(requests, plan.calls_per_request)
        inputs_tok = layers.input_tokens(
            requests,
            inputs["usage.input_tokens_per_request"],
            inputs["agents.context_growth_per_call"],
            plan.calls_per_request,
            plan.call_pairs_per_request,
        )
        output = layers.output_tokens(calls, inputs["usage.output_tokens_per_call"])
        thinking = layers.thinking_tokens(
            calls, inputs["reasoning.share"], plan.thinking_per_reasoning_call
        )
        hit = layers.cache_hit_rate(
            inputs["cache.hit_rate"], inputs["cache.drift_per_month"], t * months
        )
        cached = hit * inputs_tok
        prefill = inputs_tok - cached

        work = layers.gpu_seconds(prefill, output + thinking, prefill_rate, decode_rate)
        gpu_hours = work / layers.SECONDS_PER_HOUR / util
        peak_gpus = gpu_hours * peak_share
        energy = gpu_hours * power
        cost = gpu_hours * price + energy * plan.energy_price_per_kwh
        with np.errstate(invalid="ignore", divide="ignore"):
            cost_per_mtok = xp.where(output > 0, cost / output * 1e6, xp.nan)
            tokens_per_mw = xp.where(
                energy > 0, (output + thinking) * 1000.0 / (energy * 3600.0), xp.nan
            )

        values = {
            "users": users,
            "requests": requests,
            "peak_hour_requests": requests * peak_share,
            "llm_calls": calls,
            "input_tokens": inputs_tok,
            "cached_input_tokens": cached,
            "prefill_tokens": prefill,
            "output_tokens": output,
            "thinking_tokens": thinking,
            "cache_hit_rate": hit,
            "gpu_hours": gpu_hours,
            "peak_gpus": peak_gpus,
            # cost and energy_kwh are gpu_hours times per-hardware constants: the
            # summary scales gpu_hours' percentiles (engine.summary.add_scaled_variables)
            "cost_per_mtok": cost_per_mtok,
            "tokens_per_mw": tokens_per_mw,
        }
        if n_fleet:
            mean_need = gpu_hours / plan.step_hours  # GPUs busy on average, at target utilisation
            m = int(cal.excess_count[t])
            unserved = layers.unserved_share(
                mean_need[None, ...] / fleet, excess_knots[t, :m], excess_values[t, :m]
            )
            short = peak_gpus[None, ...] > fleet
            values["utilization"] = mean_need[None, ...] * util * (1.0 - unserved) / fleet
            values["unserved_tokens"] = unserved * output[None, ...]
            values["shortfall_probability"] = xp.astype(short, xp.float64)
            unserved_total += values["unserved_tokens"]
            any_short |= short
        on_block(t, {name: array[None, ...] for name, array in values.items()})

        totals["total_requests"] += requests
        totals["total_llm_calls"] += calls
        totals["total_input_tokens"] += inputs_tok
        totals["total_output_tokens"] += output
        totals["total_thinking_tokens"] += thinking
        totals["total_gpu_hours"] += gpu_hours
        totals["total_cost"] += cost
        totals["total_energy_kwh"] += energy
        totals["max_peak_gpus"] = xp.maximum(totals["max_peak_gpus"], peak_gpus)

    return derived_totals(plan, totals, unserved_total, any_short)


def derived_totals(
    plan: ModelPlan,
    totals: dict[str, Array],
    unserved_total: Array,
    any_short: Array,
) -> dict[str, Array]:
    """Add the horizon variables that follow from the running totals (in their namespace)."""
    out = totals["total_output_tokens"]
    xp = namespace(out, unserved_total, any_short)
    home = device(out)
    price = xp.asarray(plan.cost_per_gpu_hour, device=home)[:, None]
    power = xp.asarray(plan.power_kw, device=home)[:, None]
    fleet = xp.asarray(plan.fleet_sizes, dtype=xp.float64, device=home)[:, None, None]
    totals["total_tokens"] = totals["total_input_tokens"] + out + totals["total_thinking_tokens"]
    with np.errstate(invalid="ignore", divide="ignore"):
        totals["horizon_cost_per_mtok"] = xp.where(
            out > 0, totals["total_cost"] / out * 1e6, xp.nan
        )
        if plan.fleet_sizes:
            hours = plan.steps * plan.step_hours
            fleet_cost = fleet * hours * (price + power * plan.energy_price_per_kwh)
            served = out[None, None, ...] - unserved_total
            totals["total_unserved_tokens"] = unserved_total
            totals["fleet_cost_per_mtok"] = xp.where(served > 0, fleet_cost / served * 1e6, xp.nan)
            totals["any_shortfall_probability"] = xp.astype(any_short, xp.float64)
    return totals
