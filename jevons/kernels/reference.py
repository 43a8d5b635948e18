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

import numpy as np

from jevons.kernels import layers
from jevons.kernels.array_api import Array, device, namespace
from jevons.kernels.contract import ModelPlan, TrajectoryInputs, WindowSink
from jevons.kernels.philox import step_block
from jevons.kernels.variates import normal_from_word, uniform_from_word

DEMAND_TOTALS = (
    "total_requests",
    "total_llm_calls",
    "total_input_tokens",
    "total_output_tokens",
    "total_thinking_tokens",
)
SUPPLY_TOTALS = (
    "total_gpu_hours",
    "total_cost",
    "total_energy_kwh",
    "max_peak_gpus",
    "max_peak_prefill_gpus",
    "max_peak_decode_gpus",
)
MONETIZATION_TOTALS = ("total_revenue", "total_gross_margin")


def opening_price_per_mtok(plan: ModelPlan, inputs: TrajectoryInputs) -> Array:
    """Each trajectory's price at the horizon's start [USD per million output tokens],
    (hardware, trajectories): its drawn ``monetization.price_per_mtok`` on every profile,
    or each profile's nominal cost per million output tokens
    (``ModelPlan.nominal_cost_per_output_mtok``) at its drawn ``monetization.markup``;
    0 without [monetization]."""
    drawn = inputs.hardware["cost_per_gpu_hour"]
    xp = namespace(drawn)
    if plan.pricing == "price":
        return xp.broadcast_to(inputs["monetization.price_per_mtok"][None, :], drawn.shape) * 1.0
    if plan.pricing == "markup":
        cost = xp.asarray(plan.nominal_cost_per_output_mtok, device=device(drawn))
        return layers.markup_price_per_mtok(cost[:, None], inputs["monetization.markup"])
    return xp.zeros_like(drawn)


def simulate(
    plan: ModelPlan,
    inputs: TrajectoryInputs,
    trajectories: Array,
    key: tuple[int, int],
    on_window: WindowSink,
) -> dict[str, Array]:
    """Run the model over the horizon; report each step to ``on_window`` as a window of one.

    ``inputs`` and ``trajectories`` are arrays of one namespace on one device;
    every array reported and returned is too. Returns the per-trajectory
    horizon totals.
    """
    xp = namespace(
        trajectories, inputs.surge_multipliers, *inputs.values.values(), *inputs.hardware.values()
    )
    home = device(trajectories)

    def here(host: np.ndarray) -> Array:
        return xp.asarray(host, device=home)

    n = trajectories.shape[0]
    cal = plan.calendar
    months = plan.months_per_step
    hours = plan.step_hours
    util = plan.target_utilization
    # Each trajectory's hardware figures, (hardware, trajectories).
    drawn = inputs.hardware
    prefill_cost = layers.seconds_per_token(  # GPU-s per token
        here(plan.prefill_rate)[:, None], drawn["prefill_factor"]
    )
    decode_cost = layers.seconds_per_token(
        here(plan.decode_rate)[:, None], drawn["throughput_factor"]
    )
    power = drawn["power_kw"]
    gpu_price = drawn["cost_per_gpu_hour"]
    energy_cost = layers.energy_cost_per_gpu_hour(power, plan.energy_price_per_kwh)
    step_years = plan.step_years
    opening_price = opening_price_per_mtok(plan, inputs)
    # Only a price that follows cost moves, and so moves demand.
    price_elasticity = inputs["monetization.elasticity"]
    demand_log_rate = layers.price_response_log_rate(
        price_elasticity if plan.pricing == "markup" else xp.zeros_like(price_elasticity),
        inputs["supply.price_decline_per_year"],
    )
    fleet = xp.asarray(plan.fleet_sizes, dtype=xp.float64, device=home)[:, None, None]
    n_hw = len(plan.hardware)
    n_fleet = len(plan.fleet_sizes)

    users = xp.asarray(inputs["users.initial"], copy=True)
    saturation = inputs["users.saturation"]  # the cap in force (see draw_inputs)
    totals = {name: xp.zeros(n, dtype=xp.float64, device=home) for name in DEMAND_TOTALS}
    for name in SUPPLY_TOTALS + (MONETIZATION_TOTALS if plan.monetized else ()):
        totals[name] = xp.zeros((n_hw, n), dtype=xp.float64, device=home)
    unserved_total = xp.zeros((n_fleet, n_hw, n), dtype=xp.float64, device=home)
    any_short = xp.zeros((n_fleet, n_hw, n), dtype=xp.bool, device=home)
    any_breach = xp.zeros((n_fleet, n_hw, n), dtype=xp.bool, device=home)

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
        groups = int(cal.group_count[t])
        levels = int(cal.level_count[t, :groups].max())
        surge_factors = layers.group_surge_factors(
            inputs.surge_multipliers, here(cal.group_surges[t, :groups])
        )
        volume = layers.volume_factor(surge_factors, here(cal.group_mean_weight[t, :groups]))
        busiest = layers.busiest_hour_weight(surge_factors, here(cal.group_peak_weight[t, :groups]))
        peak_share = layers.peak_hour_share(volume, busiest, hours)

        noise = layers.step_noise(inputs["variability.step_noise"], normal_from_word(words[1]))
        mean_requests = layers.expected_requests(
            users,
            inputs["usage.sessions_per_user_per_day"],
            inputs["usage.requests_per_session"],
            hours,
            volume,
            noise,
        ) * layers.demand_factor(demand_log_rate, float(step_years[t]))
        if plan.count_noise:
            requests = layers.poisson_counts(mean_requests, uniform_from_word(words[2]))
        else:
            requests = mean_requests
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
        cached = layers.cached_tokens(inputs_tok, hit)
        prefill = layers.prefill_tokens(inputs_tok, cached)
        decoded = layers.decoded_tokens(output, thinking)

        prefill_work = layers.prefill_gpu_seconds(prefill, prefill_cost)
        decode_work = layers.decode_gpu_seconds(decoded, decode_cost)
        gpu_hours = layers.gpu_hours(layers.gpu_seconds(prefill_work, decode_work), util)
        burst = inputs["variability.burst_factor"]
        peak_gpus = layers.peak_gpus(gpu_hours, peak_share, burst)
        # Disaggregated serving sizes the two pools apart, at the same busiest hour.
        peak_prefill = layers.peak_gpus(layers.gpu_hours(prefill_work, util), peak_share, burst)
        peak_decode = layers.peak_gpus(layers.gpu_hours(decode_work, util), peak_share, burst)
        energy = layers.energy_kwh(gpu_hours, power)
        price_factor = layers.price_decline_factor(
            inputs["supply.price_decline_per_year"], float(step_years[t])
        )
        cost = layers.cost(gpu_hours, layers.all_in_price(gpu_price, price_factor, energy_cost))

        values = {
            "users": users,
            "requests": requests,
            "peak_hour_requests": layers.peak_hour_requests(requests, peak_share),
            "llm_calls": calls,
            "input_tokens": inputs_tok,
            "cached_input_tokens": cached,
            "prefill_tokens": prefill,
            "output_tokens": output,
            "thinking_tokens": thinking,
            "cache_hit_rate": hit,
            "gpu_hours": gpu_hours,
            "peak_gpus": peak_gpus,
            "peak_prefill_gpus": peak_prefill,
            "peak_decode_gpus": peak_decode,
            "cost": cost,
            "energy_kwh": energy,
            "cost_per_mtok": layers.cost_per_mtok(cost, output),
            "cost_per_mtok_all": layers.cost_per_mtok(
                cost, layers.processed_tokens(inputs_tok, output, thinking)
            ),
            "tokens_per_mw": layers.tokens_per_mw(decoded, energy),
        }
        if plan.monetized:
            revenue = layers.revenue(
                output, opening_price, price_factor if plan.pricing == "markup" else 1.0
            )
            values["revenue"] = revenue
            values["gross_margin"] = layers.gross_margin(revenue, cost)
            totals["total_revenue"] += revenue
            totals["total_gross_margin"] += values["gross_margin"]
        if n_fleet:
            work = layers.work_gpu_hours(gpu_hours, util)
            unserved = layers.unserved_gpu_hours(
                layers.work_gpus_per_weight(work, hours, volume)[None, ...],
                surge_factors[:, None, None, :],
                cal.level_weight[t, :groups, :levels],
                cal.level_hours[t, :groups, :levels],
                fleet,
            )
            short = layers.shortfall(unserved)
            breach = layers.target_breach(peak_gpus[None, ...], fleet)
            values["utilization"] = layers.fleet_utilization(
                work[None, ...], unserved, fleet, hours
            )
            values["unserved_tokens"] = layers.unserved_output_tokens(
                unserved, work[None, ...], output
            )
            values["shortfall_probability"] = xp.astype(short, xp.float64)
            values["target_breach_probability"] = xp.astype(breach, xp.float64)
            unserved_total += values["unserved_tokens"]
            any_short |= short
            any_breach |= breach
        on_window(t, {name: array[None, ...] for name, array in values.items()})

        totals["total_requests"] += requests
        totals["total_llm_calls"] += calls
        totals["total_input_tokens"] += inputs_tok
        totals["total_output_tokens"] += output
        totals["total_thinking_tokens"] += thinking
        totals["total_gpu_hours"] += gpu_hours
        totals["total_cost"] += cost
        totals["total_energy_kwh"] += energy
        totals["max_peak_gpus"] = xp.maximum(totals["max_peak_gpus"], peak_gpus)
        totals["max_peak_prefill_gpus"] = xp.maximum(totals["max_peak_prefill_gpus"], peak_prefill)
        totals["max_peak_decode_gpus"] = xp.maximum(totals["max_peak_decode_gpus"], peak_decode)

    return derived_totals(
        plan, totals, gpu_price, energy_cost, unserved_total, any_short, any_breach
    )


def derived_totals(
    plan: ModelPlan,
    totals: dict[str, Array],
    cost_per_gpu_hour: Array,
    energy_cost_per_gpu_hour: Array,
    unserved_total: Array,
    any_short: Array,
    any_breach: Array,
) -> dict[str, Array]:
    """Add the horizon variables that follow from the running totals (in their namespace).

    ``cost_per_gpu_hour`` and ``energy_cost_per_gpu_hour`` [USD per GPU-hour] are each
    trajectory's, (hardware, trajectories): a fixed fleet pays them undeclined.
    """
    out = totals["total_output_tokens"]
    xp = namespace(out, unserved_total, any_short)
    home = device(out)
    fleet = xp.asarray(plan.fleet_sizes, dtype=xp.float64, device=home)[:, None, None]
    totals["total_tokens"] = layers.processed_tokens(
        totals["total_input_tokens"], out, totals["total_thinking_tokens"]
    )
    totals["horizon_cost_per_mtok"] = layers.cost_per_mtok(totals["total_cost"], out)
    totals["horizon_cost_per_mtok_all"] = layers.cost_per_mtok(
        totals["total_cost"], totals["total_tokens"][None, ...]
    )
    if plan.monetized:
        totals["loss_probability"] = xp.astype(
            layers.loss(totals["total_gross_margin"]), xp.float64
        )
    if plan.fleet_sizes:
        price = layers.all_in_price(cost_per_gpu_hour, 1.0, energy_cost_per_gpu_hour)
        cost = layers.fleet_cost(fleet, plan.steps * plan.step_hours, price)
        served = out[None, None, ...] - unserved_total
        totals["total_unserved_tokens"] = unserved_total
        totals["fleet_cost_per_mtok"] = layers.cost_per_mtok(cost, served)
        totals["any_shortfall_probability"] = xp.astype(any_short, xp.float64)
        totals["any_target_breach_probability"] = xp.astype(any_breach, xp.float64)
    return totals
