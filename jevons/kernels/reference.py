"""The NumPy reference model: vectorised over trajectories, stepping through time.

One pass per step computes every layer for every trajectory from the
per-trajectory inputs and that step's Philox block:

* word 0 -> normal shock to user growth
* word 1 -> normal step noise on demand
* word 2 -> uniform for the Poisson count of requests
* word 3 -> reserved

The fused CPU and GPU kernels implement the same arithmetic on the same words.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from jevons.engine.calendar import unserved_share
from jevons.engine.plan import ModelPlan
from jevons.engine.sampling import TrajectoryInputs
from jevons.kernels import layers
from jevons.kernels.philox import step_block
from jevons.kernels.transforms import normal_from_word, uniform_from_word

# on_block(first step, {name: array (steps in block, *lead dims, trajectories)})
BlockSink = Callable[[int, dict[str, np.ndarray]], None]


def simulate(
    plan: ModelPlan,
    inputs: TrajectoryInputs,
    trajectories: np.ndarray,
    key: tuple[int, int],
    on_block: BlockSink,
) -> dict[str, np.ndarray]:
    """Run the model over the horizon; report each step to ``on_block`` as a block of one.

    Returns the per-trajectory horizon totals.
    """
    n = len(trajectories)
    cal = plan.calendar
    months = plan.months_per_step
    util = plan.target_utilization
    prefill_rate = plan.prefill_rate[:, None]
    decode_rate = plan.decode_rate[:, None]
    price = plan.cost_per_gpu_hour[:, None]
    power = plan.power_kw[:, None]
    fleet = np.asarray(plan.fleet_sizes, dtype=np.float64)[:, None, None]
    n_hw = len(plan.hardware)

    users = inputs["users.initial"].copy()
    # A market is never smaller than the users already in it.
    saturation = np.maximum(inputs["users.saturation"], users)
    totals = {
        name: np.zeros(n)
        for name in (
            "total_requests",
            "total_llm_calls",
            "total_input_tokens",
            "total_output_tokens",
            "total_thinking_tokens",
        )
    }
    for name in ("total_gpu_hours", "total_cost", "total_energy_kwh", "max_peak_gpus"):
        totals[name] = np.zeros((n_hw, n))
    unserved_total = np.zeros((len(fleet), n_hw, n))
    any_short = np.zeros((len(fleet), n_hw, n), dtype=bool)

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
        coverage = cal.surge_coverage[:, t][:, None]
        multiplier = inputs.surge_multipliers
        surge_mean = np.prod(1.0 + coverage * (multiplier - 1.0), axis=0)
        partial = np.where(coverage > 0, np.maximum(multiplier, 1.0), 1.0)
        surge_peak = np.prod(np.where(coverage >= 1, multiplier, partial), axis=0)

        noise = layers.step_noise(inputs["variability.step_noise"], normal_from_word(words[1]))
        mean_requests = layers.expected_requests(
            users,
            inputs["usage.sessions_per_user_per_day"],
            inputs["usage.requests_per_session"],
            plan.step_hours,
            cal.mean_factor[t],
            surge_mean,
            noise,
        )
        if plan.count_noise:
            requests = layers.poisson_counts(mean_requests, uniform_from_word(words[2]))
        else:
            requests = mean_requests
        with np.errstate(invalid="ignore", divide="ignore"):
            peak_share = np.where(surge_mean > 0, cal.peak_share[t] * surge_peak / surge_mean, 0.0)
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
            cost_per_mtok = np.where(output > 0, cost / output * 1e6, np.nan)
            tokens_per_mw = np.where(
                energy > 0, (output + thinking) * 1000.0 / (energy * 3600.0), np.nan
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
            "cost": cost,
            "energy_kwh": energy,
            "cost_per_mtok": cost_per_mtok,
            "tokens_per_mw": tokens_per_mw,
        }
        if len(fleet):
            mean_need = gpu_hours / plan.step_hours  # GPUs busy on average, at target utilisation
            m = cal.excess_count[t]
            unserved = unserved_share(
                mean_need[None] / fleet, cal.excess_knots[t, :m], cal.excess_values[t, :m]
            )
            short = peak_gpus[None] > fleet
            values["utilization"] = mean_need[None] * util * (1.0 - unserved) / fleet
            values["unserved_tokens"] = unserved * output[None]
            values["shortfall_probability"] = short.astype(np.float64)
            unserved_total += values["unserved_tokens"]
            any_short |= short
        on_block(t, {name: array[None] for name, array in values.items()})

        totals["total_requests"] += requests
        totals["total_llm_calls"] += calls
        totals["total_input_tokens"] += inputs_tok
        totals["total_output_tokens"] += output
        totals["total_thinking_tokens"] += thinking
        totals["total_gpu_hours"] += gpu_hours
        totals["total_cost"] += cost
        totals["total_energy_kwh"] += energy
        np.maximum(totals["max_peak_gpus"], peak_gpus, out=totals["max_peak_gpus"])

    return derived_totals(plan, totals, unserved_total, any_short)


def derived_totals(
    plan: ModelPlan,
    totals: dict[str, np.ndarray],
    unserved_total: np.ndarray,
    any_short: np.ndarray,
) -> dict[str, np.ndarray]:
    """Add the horizon variables that follow from the running totals."""
    price = plan.cost_per_gpu_hour[:, None]
    power = plan.power_kw[:, None]
    fleet = np.asarray(plan.fleet_sizes, dtype=np.float64)[:, None, None]
    out = totals["total_output_tokens"]
    totals["total_tokens"] = totals["total_input_tokens"] + out + totals["total_thinking_tokens"]
    with np.errstate(invalid="ignore", divide="ignore"):
        totals["horizon_cost_per_mtok"] = np.where(
            out > 0, totals["total_cost"] / out * 1e6, np.nan
        )
        if len(fleet):
            hours = plan.steps * plan.step_hours
            fleet_cost = fleet * hours * (price + power * plan.energy_price_per_kwh)
            served = out[None, None] - unserved_total
            totals["total_unserved_tokens"] = unserved_total
            totals["fleet_cost_per_mtok"] = np.where(served > 0, fleet_cost / served * 1e6, np.nan)
            totals["any_shortfall_probability"] = any_short.astype(np.float64)
    return totals
