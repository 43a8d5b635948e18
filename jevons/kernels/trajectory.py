"""The model for one trajectory over a block of steps, as a compiled scalar loop.

This is :func:`jevons.kernels.reference.simulate` written one trajectory at a
time, so that a CPU thread or a GPU thread keeps the trajectory's state in
registers and draws its random numbers as it goes. The arithmetic follows the
reference operation by operation; ``tests/kernels/test_kernels.py`` holds the
two to float tolerance on every shipped scenario.

Argument arrays follow :mod:`jevons.kernels.layout`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

import jevons.kernels.compile_cache  # noqa: F401  (before any @njit with cache=True)
from jevons.kernels.layout import (
    C_CALLS,
    C_COUNT_NOISE,
    C_ENERGY_PRICE,
    C_MONTHS,
    C_PAIRS,
    C_STEP_HOURS,
    C_THINKING,
    C_UTIL,
    HW_INV_DECODE,
    HW_INV_PREFILL,
    HW_POWER,
    HW_PRICE,
    P_ROW,
    P_SURGE0,
)
from jevons.kernels.scalar_rng import (
    CENTRAL_HALF_WIDTH,
    KERNEL_OPTIONS,
    normal,
    normal_central,
    normal_ppf,
    normal_tail_of_grid_uniform,
    step_words,
    uniform,
)

POISSON_EXACT_BELOW = 64.0
POISSON_MAX_TERMS = 256
SECONDS_PER_HOUR = 3600.0

# Parameter rows (PARAMETER_PATHS order; see layout.P_ROW).
# Parameter rows, from the layout (module-level ints compile to constants).
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
_SURGE0 = P_SURGE0


@njit(**KERNEL_OPTIONS)
def clip(x, low, high):
    """``min(max(x, low), high)`` as plain comparisons (numba's min/max carry NaN checks)."""
    y = low if x < low else x
    return high if y > high else y


@njit(**KERNEL_OPTIONS)
def poisson_count(mean, u, z):
    """Poisson draw from uniform ``u`` (and ``z``, its normal quantile).

    CDF inversion below a mean of 64; above, the normal approximation with
    continuity correction.
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


DRAW_ROWS = 6  # uniforms u0, u1, u2, then their normal quantiles z0, z1, z2
DRAW_LANES = 32  # trajectories drawn together: long enough loops for the SIMD units


@njit(**KERNEL_OPTIONS)
def fill_draws(first, t0, nsteps, k0, k1, draws):
    """A block's random numbers for trajectories ``first .. first + DRAW_LANES - 1``.

    ``draws[row, k, lane]`` gets the numbers the step loop would draw one at a
    time (word 0: users shock, word 1: step noise, word 2: request count).
    Drawn across lanes, Philox and both branches of the inverse normal run on
    SIMD units: each lane computes the central and the tail formula and keeps
    the one that applies, cheaper than a scalar branch for the 15% in the tails.
    """
    for k in range(nsteps):
        for lane in range(DRAW_LANES):
            w0, w1, w2, _ = step_words(first + lane, t0 + k, k0, k1)
            draws[0, k, lane] = uniform(w0)
            draws[1, k, lane] = uniform(w1)
            draws[2, k, lane] = uniform(w2)
    for row in range(3):
        for k in range(nsteps):
            for lane in range(DRAW_LANES):
                u = draws[row, k, lane]
                central = normal_central(u)
                tail = normal_tail_of_grid_uniform(u)
                draws[3 + row, k, lane] = tail if abs(u - 0.5) > CENTRAL_HALF_WIDTH else central


@njit(**KERNEL_OPTIONS)
def trajectory_block(
    i, first_trajectory, t0, nsteps, k0, k1,
    params, users_state, consts, hardware,
    mean_factor, peak_share, coverage, knots, excess, knot_count, fleet,
    demand_out, supply_out, fleet_out, demand_totals, supply_totals, fleet_totals, draws, lane,
):  # fmt: skip
    """Advance trajectory ``i`` (of this chunk) through steps ``t0 .. t0 + nsteps - 1``.

    Writes each step's values to ``*_out[row, k, ..., i]``, adds to the running
    totals, and leaves the trajectory's users in ``users_state[:, i]``.
    ``draws[:, :, lane]`` holds the block's random numbers from :func:`fill_draws`,
    or ``draws`` has no columns, and then each step draws its own (one GPU thread keeps them in
    registers that way).
    """
    trajectory = first_trajectory + i
    months = consts[C_MONTHS]
    step_hours = consts[C_STEP_HOURS]
    calls_per_request = consts[C_CALLS]
    call_pairs = consts[C_PAIRS]
    thinking_per_call = consts[C_THINKING]
    util = consts[C_UTIL]
    energy_price = consts[C_ENERGY_PRICE]
    count_noise = consts[C_COUNT_NOISE] > 0.0
    n_hw = hardware.shape[1]
    n_fleet = fleet.shape[0]
    n_surges = coverage.shape[0]

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
    users = users_state[0, i]
    saturation = users_state[1, i]
    # Per-trajectory constants, out of the step loop.
    log_growth_per_step = math.log1p(growth) * months
    convexity = 0.5 * vol**2 * months
    shock_scale = vol * math.sqrt(months)
    noise_convexity = 0.5 * noise_sd**2
    requests_per_user = sessions * requests_per_session * (step_hours / 24.0)
    hours_per_work = 1.0 / (SECONDS_PER_HOUR * util)
    predrawn = draws.shape[1] > 0
    total_requests = 0.0
    total_calls = 0.0
    total_input = 0.0
    total_output = 0.0
    total_thinking = 0.0

    for k in range(nsteps):
        t = t0 + k
        if predrawn:
            z0 = draws[3, k, lane]
            z1 = draws[4, k, lane]
            u2 = draws[2, k, lane]
        else:
            w0, w1, w2, _ = step_words(trajectory, t, k0, k1)
            z0 = normal(w0) if t > 0 else 0.0
            z1 = normal(w1) if noise_sd > 0.0 else 0.0
            u2 = uniform(w2)
        if t > 0:
            room = clip(1.0 - users / saturation, 0.0, 1.0)
            step_drift = log_growth_per_step * room - convexity
            grown = users * math.exp(step_drift + shock_scale * z0)
            users = grown if grown < saturation else saturation

        surge_mean = 1.0
        surge_peak = 1.0
        for s in range(n_surges):
            c = coverage[s, t]
            m = params[_SURGE0 + s, i]
            surge_mean *= 1.0 + c * (m - 1.0)
            if c >= 1.0:
                surge_peak *= m
            elif c > 0.0 and m > 1.0:
                surge_peak *= m

        noise = math.exp(noise_sd * z1 - noise_convexity) if noise_sd > 0.0 else 1.0
        mean_requests = users * requests_per_user * mean_factor[t] * surge_mean * noise
        if count_noise:
            if predrawn:
                z2 = draws[5, k, lane]
            else:
                z2 = normal_ppf(u2) if mean_requests >= POISSON_EXACT_BELOW else 0.0
            requests = poisson_count(mean_requests, u2, z2)
        else:
            requests = mean_requests
        peak = peak_share[t] * surge_peak / surge_mean if surge_mean > 0.0 else 0.0
        calls = requests * calls_per_request
        per_request = input_per_request * calls_per_request + context_growth * call_pairs / 2.0
        input_tokens = requests * per_request
        output = calls * output_per_call
        thinking = calls * share * thinking_per_call
        hit = clip(hit0 + drift * (t * months), 0.0, 1.0)
        cached = hit * input_tokens
        prefill = input_tokens - cached

        demand_out[0, k, i] = users
        demand_out[1, k, i] = requests
        demand_out[2, k, i] = requests * peak
        demand_out[3, k, i] = calls
        demand_out[4, k, i] = input_tokens
        demand_out[5, k, i] = cached
        demand_out[6, k, i] = prefill
        demand_out[7, k, i] = output
        demand_out[8, k, i] = thinking
        demand_out[9, k, i] = hit
        total_requests += requests
        total_calls += calls
        total_input += input_tokens
        total_output += output
        total_thinking += thinking

        decoded = output + thinking
        per_output = 1e6 / output if output > 0.0 else np.nan
        for h in range(n_hw):
            # reciprocal rates: no division per step
            work = prefill * hardware[HW_INV_PREFILL, h] + decoded * hardware[HW_INV_DECODE, h]
            gpu_hours = work * hours_per_work
            peak_gpus = gpu_hours * peak
            energy = gpu_hours * hardware[HW_POWER, h]
            cost = gpu_hours * hardware[HW_PRICE, h] + energy * energy_price
            supply_out[0, k, h, i] = gpu_hours
            supply_out[1, k, h, i] = peak_gpus
            supply_out[2, k, h, i] = cost * per_output
            supply_out[3, k, h, i] = decoded / (energy * 3.6) if energy > 0.0 else np.nan
            supply_totals[0, h, i] += gpu_hours
            supply_totals[1, h, i] += cost
            supply_totals[2, h, i] += energy
            if peak_gpus > supply_totals[3, h, i]:
                supply_totals[3, h, i] = peak_gpus

            mean_need = gpu_hours / step_hours
            for f in range(n_fleet):
                size = fleet[f]
                # Unserved share of the step's work: jevons.engine.calendar.unserved_share,
                # written out here because a CUDA thread cannot pass array rows around.
                lost = 0.0
                if mean_need > 0.0:
                    x = size / mean_need
                    last = knot_count[t] - 1
                    if x < knots[t, 0]:
                        lost = 1.0 - x
                    elif x < knots[t, last]:
                        j = 0
                        while knots[t, j + 1] <= x:
                            j += 1
                        slope = (excess[t, j + 1] - excess[t, j]) / (knots[t, j + 1] - knots[t, j])
                        lost = slope * (x - knots[t, j]) + excess[t, j]
                short = 1.0 if peak_gpus > size else 0.0
                fleet_out[0, k, f, h, i] = mean_need * util * (1.0 - lost) / size
                fleet_out[1, k, f, h, i] = lost * output
                fleet_out[2, k, f, h, i] = short
                fleet_totals[0, f, h, i] += lost * output
                if short > fleet_totals[1, f, h, i]:
                    fleet_totals[1, f, h, i] = short

    users_state[0, i] = users
    demand_totals[0, i] += total_requests
    demand_totals[1, i] += total_calls
    demand_totals[2, i] += total_input
    demand_totals[3, i] += total_output
    demand_totals[4, i] += total_thinking
