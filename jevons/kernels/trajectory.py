"""The model for one trajectory over a window of steps: the scalar form.

This is :func:`jevons.kernels.reference.simulate` written one trajectory at a
time, so that a CPU thread or a GPU thread keeps the trajectory's state in
registers and draws its random numbers as it goes. Formulas made of arithmetic
alone are :mod:`jevons.kernels.layers`' own functions, compiled here; the
others have a scalar twin below under the same name as in ``layers``.
``tests/kernels/test_kernels.py`` holds the two forms to float tolerance on
every shipped scenario.

Argument arrays follow :mod:`jevons.kernels.layout`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

import jevons.kernels.compile_cache  # noqa: F401  (before any @njit with cache=True)
from jevons.kernels import layers
from jevons.kernels.constants import (
    MW_SECONDS_PER_KWH,
    PER_MILLION,
    POISSON_EXACT_BELOW,
    POISSON_MAX_TERMS,
)
from jevons.kernels.layout import (
    C_SLOT,
    DEMAND_ROW,
    DEMAND_TOTAL_ROW,
    FLEET_ROW,
    FLEET_TOTAL_ROW,
    HW_ROW,
    P_ROW,
    P_SURGE0,
    SUPPLY_ROW,
    SUPPLY_TOTAL_ROW,
)
from jevons.kernels.scalar_rng import (
    CENTRAL_HALF_WIDTH,
    KERNEL_OPTIONS,
    MASK32,
    normal,
    normal_central,
    normal_ppf,
    normal_tail_of_grid_uniform,
    step_words,
    uniform,
)


def _compiled(formula):
    """A ``layers`` formula of plain arithmetic, compiled for one trajectory's scalars."""
    return njit(inline="always", **KERNEL_OPTIONS)(formula)


expected_requests = _compiled(layers.expected_requests)
peak_hour_requests = _compiled(layers.peak_hour_requests)
decoded_tokens = _compiled(layers.decoded_tokens)
processed_tokens = _compiled(layers.processed_tokens)
llm_calls = _compiled(layers.llm_calls)
input_tokens = _compiled(layers.input_tokens)
output_tokens = _compiled(layers.output_tokens)
thinking_tokens = _compiled(layers.thinking_tokens)
cached_tokens = _compiled(layers.cached_tokens)
prefill_tokens = _compiled(layers.prefill_tokens)
prefill_gpu_seconds = _compiled(layers.prefill_gpu_seconds)
decode_gpu_seconds = _compiled(layers.decode_gpu_seconds)
gpu_seconds = _compiled(layers.gpu_seconds)
gpu_hours_of = _compiled(layers.gpu_hours)
peak_gpus_of = _compiled(layers.peak_gpus)
energy_kwh = _compiled(layers.energy_kwh)
all_in_price = _compiled(layers.all_in_price)
cost_of = _compiled(layers.cost)
work_gpu_hours = _compiled(layers.work_gpu_hours)
fleet_utilization = _compiled(layers.fleet_utilization)
shortfall = _compiled(layers.shortfall)
target_breach = _compiled(layers.target_breach)
revenue_of = _compiled(layers.revenue)
gross_margin_of = _compiled(layers.gross_margin)

# Rows and slots, from the layout (module-level ints compile to constants).
_GROWTH = P_ROW["users.growth_per_month"]
_VOL = P_ROW["users.volatility"]
_SESSIONS = P_ROW["usage.sessions_per_user_per_day"]
_REQUESTS = P_ROW["usage.requests_per_session"]
_INPUT = P_ROW["usage.input_tokens_per_request"]
_OUTPUT = P_ROW["usage.output_tokens_per_call"]
_SHARE = P_ROW["reasoning.share"]
_CONTEXT = P_ROW["agents.context_growth_per_call"]
_HIT = P_ROW["cache.hit_rate"]
_DRIFT = P_ROW["cache.drift_per_month"]
_NOISE = P_ROW["variability.step_noise"]
_BURST = P_ROW["variability.burst_factor"]
_DECLINE = P_ROW["supply.price_decline_per_year"]
_ELASTICITY = P_ROW["monetization.elasticity"]
_SURGE0 = P_SURGE0
_C_MONTHS = C_SLOT["months_per_step"]
_C_STEP_HOURS = C_SLOT["step_hours"]
_C_CALLS = C_SLOT["calls_per_request"]
_C_PAIRS = C_SLOT["call_pairs_per_request"]
_C_THINKING = C_SLOT["thinking_per_reasoning_call"]
_C_UTIL = C_SLOT["target_utilization"]
_C_COUNT_NOISE = C_SLOT["count_noise"]
_C_PRICE_FOLLOWS_COST = C_SLOT["price_follows_cost"]
_HW_PREFILL = HW_ROW["prefill_seconds_per_token"]
_HW_DECODE = HW_ROW["decode_seconds_per_token"]
_HW_POWER = HW_ROW["power_kw"]
_HW_PRICE = HW_ROW["cost_per_gpu_hour"]
_HW_ENERGY = HW_ROW["energy_cost_per_gpu_hour"]
_HW_OPENING_PRICE = HW_ROW["price_per_output_mtok"]
_D_USERS = DEMAND_ROW["users"]
_D_REQUESTS = DEMAND_ROW["requests"]
_D_PEAK_REQUESTS = DEMAND_ROW["peak_hour_requests"]
_D_CALLS = DEMAND_ROW["llm_calls"]
_D_INPUT = DEMAND_ROW["input_tokens"]
_D_CACHED = DEMAND_ROW["cached_input_tokens"]
_D_PREFILL = DEMAND_ROW["prefill_tokens"]
_D_OUTPUT = DEMAND_ROW["output_tokens"]
_D_THINKING = DEMAND_ROW["thinking_tokens"]
_D_HIT = DEMAND_ROW["cache_hit_rate"]
_S_GPU_HOURS = SUPPLY_ROW["gpu_hours"]
_S_PEAK_GPUS = SUPPLY_ROW["peak_gpus"]
_S_PEAK_PREFILL = SUPPLY_ROW["peak_prefill_gpus"]
_S_PEAK_DECODE = SUPPLY_ROW["peak_decode_gpus"]
_S_COST = SUPPLY_ROW["cost"]
_S_ENERGY = SUPPLY_ROW["energy_kwh"]
_S_COST_PER_MTOK = SUPPLY_ROW["cost_per_mtok"]
_S_COST_PER_MTOK_ALL = SUPPLY_ROW["cost_per_mtok_all"]
_S_TOKENS_PER_MW = SUPPLY_ROW["tokens_per_mw"]
_S_REVENUE = SUPPLY_ROW["revenue"]
_S_GROSS_MARGIN = SUPPLY_ROW["gross_margin"]
_F_UTILIZATION = FLEET_ROW["utilization"]
_F_UNSERVED = FLEET_ROW["unserved_tokens"]
_F_SHORTFALL = FLEET_ROW["shortfall_probability"]
_F_BREACH = FLEET_ROW["target_breach_probability"]
_DT_REQUESTS = DEMAND_TOTAL_ROW["total_requests"]
_DT_CALLS = DEMAND_TOTAL_ROW["total_llm_calls"]
_DT_INPUT = DEMAND_TOTAL_ROW["total_input_tokens"]
_DT_OUTPUT = DEMAND_TOTAL_ROW["total_output_tokens"]
_DT_THINKING = DEMAND_TOTAL_ROW["total_thinking_tokens"]
_ST_GPU_HOURS = SUPPLY_TOTAL_ROW["total_gpu_hours"]
_ST_COST = SUPPLY_TOTAL_ROW["total_cost"]
_ST_ENERGY = SUPPLY_TOTAL_ROW["total_energy_kwh"]
_ST_MAX_PEAK = SUPPLY_TOTAL_ROW["max_peak_gpus"]
_ST_MAX_PEAK_PREFILL = SUPPLY_TOTAL_ROW["max_peak_prefill_gpus"]
_ST_MAX_PEAK_DECODE = SUPPLY_TOTAL_ROW["max_peak_decode_gpus"]
_ST_REVENUE = SUPPLY_TOTAL_ROW["total_revenue"]
_ST_GROSS_MARGIN = SUPPLY_TOTAL_ROW["total_gross_margin"]
_FT_UNSERVED = FLEET_TOTAL_ROW["total_unserved_tokens"]
_FT_SHORT = FLEET_TOTAL_ROW["any_shortfall"]
_FT_BREACH = FLEET_TOTAL_ROW["any_target_breach"]


@njit(**KERNEL_OPTIONS)
def clip(x, low, high):
    """``min(max(x, low), high)`` as plain comparisons (numba's min/max carry NaN checks)."""
    y = low if x < low else x
    return high if y > high else y


@njit(**KERNEL_OPTIONS)
def poisson_count(mean, u, z):
    """Poisson draw from uniform ``u`` (and ``z``, its normal quantile).

    Scalar twin of :func:`layers.poisson_counts`: CDF inversion below a mean
    of ``POISSON_EXACT_BELOW``; above, the normal approximation with continuity
    correction.
    """
    if mean >= POISSON_EXACT_BELOW:
        count = math.floor(mean + math.sqrt(mean) * z + 0.5)
        return count if count > 0.0 else 0.0
    k = 0.0
    term = math.exp(-mean)
    cdf = term
    n = 1
    while u > cdf and n < POISSON_MAX_TERMS:
        k = float(n)
        term = term * mean / n
        cdf = cdf + term
        n += 1
    return k


@njit(**KERNEL_OPTIONS)
def users_next(users, log_growth_per_step, convexity, shock_scale, saturation, z):
    """Scalar twin of :func:`layers.users_next` [users], with the trajectory's constants
    hoisted: ``log_growth_per_step`` = log(1 + g) months, ``convexity`` = sigma^2 months / 2,
    ``shock_scale`` = sigma sqrt(months)."""
    room = clip(1.0 - users / saturation, 0.0, 1.0)
    grown = users * math.exp(log_growth_per_step * room - convexity + shock_scale * z)
    return grown if grown < saturation else saturation


@njit(**KERNEL_OPTIONS)
def step_noise(log_sd, z):
    """Scalar twin of :func:`layers.step_noise` [-]."""
    return math.exp(log_sd * z - 0.5 * log_sd * log_sd) if log_sd > 0.0 else 1.0


@njit(**KERNEL_OPTIONS)
def price_decline_factor(log_keep_per_year, years):
    """Scalar twin of :func:`layers.price_decline_factor` [-], with the trajectory's
    ``log_keep_per_year`` = log(1 - d) hoisted."""
    return math.exp(log_keep_per_year * years)


@njit(**KERNEL_OPTIONS)
def demand_factor(log_rate, years):
    """Scalar twin of :func:`layers.demand_factor` [-]; no exp where demand holds still."""
    return math.exp(log_rate * years) if log_rate != 0.0 else 1.0


@njit(**KERNEL_OPTIONS)
def cache_hit_rate(initial, drift_per_month, months_elapsed):
    """Scalar twin of :func:`layers.cache_hit_rate` [0-1]."""
    return clip(initial + drift_per_month * months_elapsed, 0.0, 1.0)


@njit(**KERNEL_OPTIONS)
def peak_hour_share(volume, busiest_weight, step_hours):
    """Scalar twin of :func:`layers.peak_hour_share` [-]."""
    return busiest_weight / (volume * step_hours) if volume > 0.0 else 0.0


@njit(**KERNEL_OPTIONS)
def cost_per_mtok(cost, tokens):
    """Scalar twin of :func:`layers.cost_per_mtok` [USD per million tokens]."""
    return cost / tokens * PER_MILLION if tokens > 0.0 else np.nan


@njit(**KERNEL_OPTIONS)
def tokens_per_mw(decoded, energy):
    """Scalar twin of :func:`layers.tokens_per_mw` [tokens/s per MW]."""
    return decoded / (energy * MW_SECONDS_PER_KWH) if energy > 0.0 else np.nan


@njit(**KERNEL_OPTIONS)
def work_gpus_per_weight(work, step_hours, volume):
    """Scalar twin of :func:`layers.work_gpus_per_weight` [GPUs]."""
    return work / (step_hours * volume) if volume > 0.0 else 0.0


@njit(**KERNEL_OPTIONS)
def unserved_output_tokens(unserved, work, output):
    """Scalar twin of :func:`layers.unserved_output_tokens` [tokens]."""
    return output * (unserved / work) if unserved > 0.0 else 0.0


DRAW_ROWS = 6  # uniforms u0, u1, u2, then their normal quantiles z0, z1, z2
_U_SHOCK, _U_NOISE, _U_COUNT = 0, 1, 2  # words 0, 1, 2: users shock, step noise, count
_Z_OFFSET = 3  # row of u's normal quantile = row of u + _Z_OFFSET
DRAW_LANES = 32  # trajectories drawn together: long enough loops for the SIMD units


@njit(**KERNEL_OPTIONS)
def fill_draws(first, t0, nsteps, k0, k1, draws):
    """A window's random numbers for trajectories ``first .. first + DRAW_LANES - 1``.

    ``draws[row, k, lane]`` gets the numbers the step loop would draw one at a
    time (word 0: users shock, word 1: step noise, word 2: request count).
    Drawn across lanes, Philox and both branches of the inverse normal run on
    SIMD units: each lane computes the central and the tail formula and keeps
    the one that applies, cheaper than a scalar branch for the 15% in the tails.
    """
    for k in range(nsteps):
        for lane in range(DRAW_LANES):
            w0, w1, w2, _ = step_words(first + lane, t0 + k, k0, k1)
            draws[_U_SHOCK, k, lane] = uniform(w0)
            draws[_U_NOISE, k, lane] = uniform(w1)
            draws[_U_COUNT, k, lane] = uniform(w2)
    for row in range(_Z_OFFSET):
        for k in range(nsteps):
            for lane in range(DRAW_LANES):
                u = draws[row, k, lane]
                central = normal_central(u)
                tail = normal_tail_of_grid_uniform(u)
                in_tail = abs(u - 0.5) > CENTRAL_HALF_WIDTH
                draws[_Z_OFFSET + row, k, lane] = tail if in_tail else central


@njit(**KERNEL_OPTIONS)
def trajectory_window(
    i, first_trajectory, t0, nsteps, k0, k1, params, hardware, users_state,
    consts, step_years, group_count, group_surges, group_mean_weight, group_peak_weight,
    level_count, level_weight, level_hours, fleet,
    demand_out, supply_out, fleet_out, demand_totals, supply_totals, fleet_totals, draws, lane,
):  # fmt: skip
    """Advance trajectory ``i`` (of this chunk) through steps ``t0 .. t0 + nsteps - 1``.

    Writes each step's values to ``*_out[row, k, ..., i]``, adds to the running
    totals, and leaves the trajectory's users in ``users_state[:, i]``.
    ``draws[:, :, lane]`` holds the window's random numbers from :func:`fill_draws`,
    or ``draws`` has no columns, and then each step draws its own (one GPU thread keeps
    them in registers that way).
    """
    trajectory = first_trajectory + i
    months = consts[_C_MONTHS]
    step_hours = consts[_C_STEP_HOURS]
    calls_per_request = consts[_C_CALLS]
    call_pairs = consts[_C_PAIRS]
    thinking_per_call = consts[_C_THINKING]
    util = consts[_C_UTIL]
    count_noise = consts[_C_COUNT_NOISE] > 0.0
    n_hw = hardware.shape[1]  # (HARDWARE, profiles, trajectories)
    n_fleet = fleet.shape[0]
    n_surges = group_surges.shape[2]

    growth = params[_GROWTH, i]
    vol = params[_VOL, i]
    sessions = params[_SESSIONS, i]
    requests_per_session = params[_REQUESTS, i]
    input_per_request = params[_INPUT, i]
    output_per_call = params[_OUTPUT, i]
    share = params[_SHARE, i]
    context_growth = params[_CONTEXT, i]
    hit0 = params[_HIT, i]
    drift = params[_DRIFT, i]
    noise_sd = params[_NOISE, i]
    burst = params[_BURST, i]
    log_keep_per_year = math.log1p(-params[_DECLINE, i])
    # Scalar twin of layers.price_response_log_rate: only a price that follows cost moves.
    follows_cost = consts[_C_PRICE_FOLLOWS_COST] > 0.0
    demand_log_rate = -params[_ELASTICITY, i] * log_keep_per_year if follows_cost else 0.0
    users = users_state[0, i]
    saturation = users_state[1, i]
    # Per-trajectory constants, out of the step loop.
    log_growth_per_step = math.log1p(growth) * months
    convexity = 0.5 * vol**2 * months
    shock_scale = vol * math.sqrt(months)
    predrawn = draws.shape[1] > 0
    total_requests = 0.0
    total_calls = 0.0
    total_input = 0.0
    total_output = 0.0
    total_thinking = 0.0

    for k in range(nsteps):
        t = t0 + k
        if predrawn:
            z0 = draws[_Z_OFFSET + _U_SHOCK, k, lane]
            z1 = draws[_Z_OFFSET + _U_NOISE, k, lane]
            u2 = draws[_U_COUNT, k, lane]
        else:
            # The keys hold 32 bits, so the masks change nothing; but carried through the
            # loop they keep numba-cuda from expanding all 20 round keys into registers
            # once, before it: 46 registers fewer a GPU thread (docs/gpu.md).
            k0 = k0 & MASK32
            k1 = k1 & MASK32
            w0, w1, w2, _ = step_words(trajectory, t, k0, k1)
            z0 = normal(w0) if t > 0 else 0.0
            z1 = normal(w1) if noise_sd > 0.0 else 0.0
            u2 = uniform(w2)
        if t > 0:
            users = users_next(users, log_growth_per_step, convexity, shock_scale, saturation, z0)

        # Scalar twins of layers.group_surge_factors, volume_factor and busiest_hour_weight,
        # written out: a compiled helper cannot take array rows under the CUDA simulator.
        volume = 0.0
        busiest = 0.0
        for g in range(group_count[t]):
            factor = 1.0
            for s in range(n_surges):
                if group_surges[t, g, s] > 0.0:
                    factor *= params[_SURGE0 + s, i]
            volume += factor * group_mean_weight[t, g]
            weight = factor * group_peak_weight[t, g]
            if weight > busiest:
                busiest = weight
        peak = peak_hour_share(volume, busiest, step_hours)

        noise = step_noise(noise_sd, z1)
        mean_requests = expected_requests(
            users, sessions, requests_per_session, step_hours, volume, noise
        ) * demand_factor(demand_log_rate, step_years[t])
        if count_noise:
            if predrawn:
                z2 = draws[_Z_OFFSET + _U_COUNT, k, lane]
            else:
                z2 = normal_ppf(u2) if mean_requests >= POISSON_EXACT_BELOW else 0.0
            requests = poisson_count(mean_requests, u2, z2)
        else:
            requests = mean_requests
        calls = llm_calls(requests, calls_per_request)
        input_tok = input_tokens(
            requests, input_per_request, context_growth, calls_per_request, call_pairs
        )
        output = output_tokens(calls, output_per_call)
        thinking = thinking_tokens(calls, share, thinking_per_call)
        hit = cache_hit_rate(hit0, drift, t * months)
        cached = cached_tokens(input_tok, hit)
        prefill = prefill_tokens(input_tok, cached)
        decoded = decoded_tokens(output, thinking)
        processed = processed_tokens(input_tok, output, thinking)
        # exp(0 x years) is exactly 1: skip the exp where the price holds still
        price_factor = (
            price_decline_factor(log_keep_per_year, step_years[t])
            if log_keep_per_year != 0.0
            else 1.0
        )

        demand_out[_D_USERS, k, i] = users
        demand_out[_D_REQUESTS, k, i] = requests
        demand_out[_D_PEAK_REQUESTS, k, i] = peak_hour_requests(requests, peak)
        demand_out[_D_CALLS, k, i] = calls
        demand_out[_D_INPUT, k, i] = input_tok
        demand_out[_D_CACHED, k, i] = cached
        demand_out[_D_PREFILL, k, i] = prefill
        demand_out[_D_OUTPUT, k, i] = output
        demand_out[_D_THINKING, k, i] = thinking
        demand_out[_D_HIT, k, i] = hit
        total_requests += requests
        total_calls += calls
        total_input += input_tok
        total_output += output
        total_thinking += thinking

        for h in range(n_hw):
            prefill_work = prefill_gpu_seconds(prefill, hardware[_HW_PREFILL, h, i])
            decode_work = decode_gpu_seconds(decoded, hardware[_HW_DECODE, h, i])
            gpu_hours = gpu_hours_of(gpu_seconds(prefill_work, decode_work), util)
            peak_gpus = peak_gpus_of(gpu_hours, peak, burst)
            peak_prefill = peak_gpus_of(gpu_hours_of(prefill_work, util), peak, burst)
            peak_decode = peak_gpus_of(gpu_hours_of(decode_work, util), peak, burst)
            energy = energy_kwh(gpu_hours, hardware[_HW_POWER, h, i])
            price = all_in_price(
                hardware[_HW_PRICE, h, i], price_factor, hardware[_HW_ENERGY, h, i]
            )
            cost = cost_of(gpu_hours, price)
            supply_out[_S_GPU_HOURS, k, h, i] = gpu_hours
            supply_out[_S_PEAK_GPUS, k, h, i] = peak_gpus
            supply_out[_S_PEAK_PREFILL, k, h, i] = peak_prefill
            supply_out[_S_PEAK_DECODE, k, h, i] = peak_decode
            supply_out[_S_COST, k, h, i] = cost
            supply_out[_S_ENERGY, k, h, i] = energy
            supply_out[_S_COST_PER_MTOK, k, h, i] = cost_per_mtok(cost, output)
            supply_out[_S_COST_PER_MTOK_ALL, k, h, i] = cost_per_mtok(cost, processed)
            supply_out[_S_TOKENS_PER_MW, k, h, i] = tokens_per_mw(decoded, energy)
            revenue = revenue_of(
                output, hardware[_HW_OPENING_PRICE, h, i], price_factor if follows_cost else 1.0
            )
            margin = gross_margin_of(revenue, cost)
            supply_out[_S_REVENUE, k, h, i] = revenue
            supply_out[_S_GROSS_MARGIN, k, h, i] = margin
            supply_totals[_ST_REVENUE, h, i] += revenue
            supply_totals[_ST_GROSS_MARGIN, h, i] += margin
            supply_totals[_ST_GPU_HOURS, h, i] += gpu_hours
            supply_totals[_ST_COST, h, i] += cost
            supply_totals[_ST_ENERGY, h, i] += energy
            if peak_gpus > supply_totals[_ST_MAX_PEAK, h, i]:
                supply_totals[_ST_MAX_PEAK, h, i] = peak_gpus
            if peak_prefill > supply_totals[_ST_MAX_PEAK_PREFILL, h, i]:
                supply_totals[_ST_MAX_PEAK_PREFILL, h, i] = peak_prefill
            if peak_decode > supply_totals[_ST_MAX_PEAK_DECODE, h, i]:
                supply_totals[_ST_MAX_PEAK_DECODE, h, i] = peak_decode

            if n_fleet == 0:
                continue
            work = work_gpu_hours(gpu_hours, util)
            per_weight = work_gpus_per_weight(work, step_hours, volume)
            for f in range(n_fleet):
                size = fleet[f]
                # Scalar twin of layers.unserved_gpu_hours: work above the fleet, hour by
                # hour. Levels run from the heaviest hours down, so the first level the
                # fleet covers ends a group.
                unserved = 0.0
                for g in range(group_count[t]):
                    scaled = per_weight
                    for s in range(n_surges):
                        if group_surges[t, g, s] > 0.0:
                            scaled *= params[_SURGE0 + s, i]
                    for level in range(level_count[t, g]):
                        need = scaled * level_weight[t, g, level]
                        if need <= size:
                            break
                        unserved += level_hours[t, g, level] * (need - size)
                lost_tokens = unserved_output_tokens(unserved, work, output)
                short = 1.0 if shortfall(unserved) else 0.0
                breach = 1.0 if target_breach(peak_gpus, size) else 0.0
                fleet_out[_F_UTILIZATION, k, f, h, i] = fleet_utilization(
                    work, unserved, size, step_hours
                )
                fleet_out[_F_UNSERVED, k, f, h, i] = lost_tokens
                fleet_out[_F_SHORTFALL, k, f, h, i] = short
                fleet_out[_F_BREACH, k, f, h, i] = breach
                fleet_totals[_FT_UNSERVED, f, h, i] += lost_tokens
                if short > fleet_totals[_FT_SHORT, f, h, i]:
                    fleet_totals[_FT_SHORT, f, h, i] = short
                if breach > fleet_totals[_FT_BREACH, f, h, i]:
                    fleet_totals[_FT_BREACH, f, h, i] = breach

    users_state[0, i] = users
    demand_totals[_DT_REQUESTS, i] += total_requests
    demand_totals[_DT_CALLS, i] += total_calls
    demand_totals[_DT_INPUT, i] += total_input
    demand_totals[_DT_OUTPUT, i] += total_output
    demand_totals[_DT_THINKING, i] += total_thinking
