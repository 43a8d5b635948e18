"""The demand model, one function per layer: the vectorised form.

These are the readable specification: each takes arrays over trajectories for
one time step and returns one quantity, with units in brackets. The seed
documents (``shared/seeds``) name the layers: base usage, reasoning, agentic
workflows, cache behaviour, variability and growth; supply and cost turn the
tokens into GPUs and dollars.

Arrays may come from any array API namespace (NumPy, CuPy, ...); each function
computes in its arguments' namespace and only calls the standard's functions.
Functions made of arithmetic alone take scalars as well as arrays: the
compiled kernels (:mod:`jevons.kernels.trajectory`) compile these very
functions, so such a formula has one home for both forms. The others have a
scalar twin of the same name in :mod:`jevons.kernels.trajectory`.
"""

from __future__ import annotations

import math

import numpy as np

from jevons.kernels.array_api import namespace
from jevons.kernels.constants import (
    HOURS_PER_DAY,
    MW_SECONDS_PER_KWH,
    PER_MILLION,
    POISSON_EXACT_BELOW,
    POISSON_MAX_TERMS,
    SECONDS_PER_HOUR,
)
from jevons.kernels.variates import normal_ppf

# -- cost per token in its simplest form ---------------------------------------


def cost_per_million_tokens(cost_per_gpu_hour, tokens_per_s_per_gpu):
    """Cost per token in its simplest form [USD per million tokens].

    .. math:: \\frac{\\$/\\text{GPU-hour}}{\\text{tokens/s/GPU} \\times 3600} \\times 10^6

    Reference: the seed table (NVIDIA, "Rethinking AI TCO"): HGX H200 at
    $1.41/h and 90 tokens/s gives $4.35; GB300 NVL72 at $2.65/h and 6,000
    tokens/s gives $0.123.
    """
    return cost_per_gpu_hour / (tokens_per_s_per_gpu * SECONDS_PER_HOUR) * PER_MILLION


# -- base usage ------------------------------------------------------------------


def market_cap(users_initial, saturation):
    """The saturation cap in force [users]: never below the users already there."""
    xp = namespace(users_initial, saturation)
    return xp.maximum(saturation, users_initial)


def users_next(users, growth_per_month, volatility, saturation, months, z):
    """Users after one step of geometric growth [users].

    log U grows by ``log(1 + g) * months`` (so with no volatility
    ``U(t) = U0 (1 + g)^months``), damped by ``1 - U / saturation`` as the
    market fills, with log-normal shocks of ``volatility`` per sqrt(month)
    whose ``-sigma^2 / 2`` term keeps the mean on the growth path. Users never
    exceed the saturation cap. ``months`` [month] is the step's length.
    """
    xp = namespace(users, growth_per_month, volatility, saturation, z)
    room = xp.clip(1.0 - users / saturation, 0.0, 1.0)
    drift = xp.log1p(growth_per_month) * months * room - 0.5 * volatility**2 * months
    grown = users * xp.exp(drift + volatility * math.sqrt(months) * z)
    return xp.minimum(grown, saturation)


def step_noise(log_sd, z):
    """Mean-one log-normal demand shock for one step [-]; ``log_sd`` [-], ``z`` N(0, 1)."""
    xp = namespace(log_sd, z)
    return xp.exp(log_sd * z - 0.5 * log_sd**2)


def expected_requests(
    users, sessions_per_day, requests_per_session, step_hours, volume_factor, noise
):
    """Mean requests in one step before count noise [requests].

    users [users] x sessions [1/day] x requests [1/session] x days in the step
    (``step_hours`` [h] / 24), times the step's calendar ``volume_factor``
    (mean surged hourly weight, :func:`volume_factor`) and step ``noise`` [-].
    """
    return (
        users
        * sessions_per_day
        * requests_per_session
        * (step_hours / HOURS_PER_DAY)
        * volume_factor
        * noise
    )


def poisson_counts(mean, u):
    """Poisson counts with the given means [requests] from uniforms ``u`` [count].

    Exact inversion of the CDF below a mean of ``POISSON_EXACT_BELOW``; above
    it the normal approximation with continuity correction, so a draw always
    consumes exactly one uniform.

    Both branches run on every element and ``where`` picks, so the work has no
    data-dependent shapes; a large mean enters the inversion as 0, whose CDF
    starts at 1 and so never holds the search open.
    """
    xp = namespace(mean, u)
    u = xp.broadcast_to(u, mean.shape)
    large = mean >= POISSON_EXACT_BELOW
    approximate = xp.maximum(xp.floor(mean + xp.sqrt(mean) * normal_ppf(u) + 0.5), 0.0)
    lam = xp.where(large, 0.0, mean)
    k = xp.zeros_like(lam)
    term = xp.exp(-lam)
    cdf = term
    for n in range(1, POISSON_MAX_TERMS):
        below = u > cdf
        if not xp.any(below):
            break
        k = xp.where(below, float(n), k)
        term = term * lam / n
        cdf = cdf + term
    return xp.where(large, approximate, k)


# -- variability: calendar and surges ---------------------------------------------


def group_surge_factors(multipliers, group_surges):
    """Product of the active surges' multipliers per hour group [-], (groups, trajectories).

    ``multipliers`` (surges, trajectories) [-]; ``group_surges`` (groups,
    surges) is 1 where a surge is active in the group's hours.
    """
    xp = namespace(multipliers, group_surges)
    active = group_surges[:, :, None] > 0.0
    return xp.prod(xp.where(active, multipliers[None, :, :], 1.0), axis=1)


def volume_factor(surge_factors, group_mean_weight):
    """Mean surged hourly weight of the step [-]: ``sum_g S_g mean_weight_g``.

    ``surge_factors`` (groups, trajectories) [-] from :func:`group_surge_factors`;
    ``group_mean_weight`` (groups,) is each group's summed weight over the
    step's hours. The step's volume is the sum over its hours of calendar
    weight x the product of the surges active in that hour.
    """
    xp = namespace(surge_factors, group_mean_weight)
    return xp.sum(surge_factors * group_mean_weight[:, None], axis=0)


def busiest_hour_weight(surge_factors, group_peak_weight):
    """Largest surged hourly weight of the step [-]: ``max_g S_g peak_weight_g``."""
    xp = namespace(surge_factors, group_peak_weight)
    return xp.max(surge_factors * group_peak_weight[:, None], axis=0)


def peak_hour_share(volume, busiest_weight, step_hours):
    """Share of the step's work that falls in its busiest hour [-]; 0 for no work.

    ``volume`` and ``busiest_weight`` [-] from :func:`volume_factor` and
    :func:`busiest_hour_weight`; ``step_hours`` [h].
    """
    xp = namespace(volume, busiest_weight)
    with np.errstate(invalid="ignore", divide="ignore"):  # where() drops the 0/0
        return xp.where(volume > 0.0, busiest_weight / (volume * step_hours), 0.0)


def peak_hour_requests(requests, peak_share):
    """Requests in the step's busiest hour [requests/hour]."""
    return requests * peak_share


# -- agentic loops, reasoning, cache ------------------------------------------------


def llm_calls(requests, calls_per_request):
    """LLM calls made to serve the requests [calls]; ``calls_per_request`` = E[C] [calls]."""
    return requests * calls_per_request


def input_tokens(
    requests, input_per_request, growth_per_call, calls_per_request, call_pairs_per_request
):
    """Input (prompt) tokens over all calls [tokens].

    Call k of a request reads the request's input [tokens] plus ``(k - 1)``
    rounds of appended context (``growth_per_call`` [tokens]): a request with
    C calls reads ``C I + g C (C - 1) / 2`` tokens, whose mean uses E[C] and
    E[C(C - 1)].
    """
    per_request = (
        input_per_request * calls_per_request + growth_per_call * call_pairs_per_request / 2.0
    )
    return requests * per_request


def output_tokens(calls, output_per_call):
    """Visible output tokens [tokens]: calls [calls] x tokens per call [tokens]."""
    return calls * output_per_call


def thinking_tokens(calls, reasoning_share, thinking_per_reasoning_call):
    """Thinking tokens, decoded but never shown to the user [tokens].

    ``reasoning_share`` [0-1] of calls reason; ``thinking_per_reasoning_call``
    [tokens] is E[min(X, budget)] of the per-call draw X.
    """
    return calls * reasoning_share * thinking_per_reasoning_call


def cache_hit_rate(initial, drift_per_month, months_elapsed):
    """KV/prefix cache hit rate [0-1] after drifting [1/month] for ``months_elapsed`` [month]."""
    xp = namespace(initial, drift_per_month)
    return xp.clip(initial + drift_per_month * months_elapsed, 0.0, 1.0)


def cached_tokens(input_tokens, hit_rate):
    """Input tokens served from the KV/prefix cache [tokens]."""
    return hit_rate * input_tokens


def prefill_tokens(input_tokens, cached):
    """Input tokens prefilled, i.e. not cached [tokens]."""
    return input_tokens - cached


def decoded_tokens(output, thinking):
    """Tokens decoded [tokens]: visible output plus thinking."""
    return output + thinking


def processed_tokens(input_tokens, output, thinking):
    """Tokens processed [tokens]: input, output and thinking (the seeds' and InferenceX's
    convention for cost per token)."""
    return input_tokens + output + thinking


# -- supply and capacity -------------------------------------------------------------


def seconds_per_token(tokens_per_s, factor):
    """GPU-seconds per token [GPU-s per token] at a profile's rate [tokens/s per GPU] times
    the trajectory's drawn ``factor`` [-]: the reciprocal the step loop multiplies by."""
    return 1.0 / (tokens_per_s * factor)


def energy_cost_per_gpu_hour(power_kw, energy_price_per_kwh):
    """Cost of one GPU-hour's energy [USD per GPU-hour]: power [kW] x price [USD per kWh]."""
    return power_kw * energy_price_per_kwh


def price_decline_factor(decline_per_year, years):
    """What a $/GPU-hour price is worth after ``years`` [year] of decline [-].

    .. math:: (1 - d)^{years} = e^{\\log(1 - d) \\, years}

    ``decline_per_year`` ``d`` [1/year] below 1; negative for a rising price.
    """
    xp = namespace(decline_per_year)
    return xp.exp(xp.log1p(-decline_per_year) * years)


def all_in_price(cost_per_gpu_hour, price_factor, energy_cost):
    """$/GPU-hour at a step [USD per GPU-hour]: the profile's price [USD per GPU-hour]
    times its decline so far [-] (:func:`price_decline_factor`), plus the hour's energy
    [USD per GPU-hour], which does not decline."""
    return cost_per_gpu_hour * price_factor + energy_cost


def prefill_gpu_seconds(prefill, prefill_seconds_per_token):
    """GPU-seconds of prefill [GPU-s]: uncached input [tokens] at the prefill rate, given as
    its reciprocal [GPU-s per token], so no step divides."""
    return prefill * prefill_seconds_per_token


def decode_gpu_seconds(decoded, decode_seconds_per_token):
    """GPU-seconds of decode [GPU-s]: output + thinking [tokens] at the decode rate, given as
    its reciprocal [GPU-s per token]."""
    return decoded * decode_seconds_per_token


def gpu_seconds(prefill_work, decode_work):
    """GPU-seconds of work [GPU-s]: prefill plus decode, each [GPU-s]."""
    return prefill_work + decode_work


def gpu_hours(work_gpu_seconds, target_utilization):
    """GPU-hours provisioned for the work [GPU-h] at ``target_utilization`` [0-1]."""
    return work_gpu_seconds / (SECONDS_PER_HOUR * target_utilization)


def peak_gpus(gpu_hours, peak_share, burst_factor):
    """GPUs needed at the peak of the busiest hour at target utilisation [GPUs].

    The busiest hour's ``peak_share`` [-] of the step's GPU-hours [GPU-h], over one
    hour, times ``burst_factor`` [-]: the rate of the hour's busiest window over the
    hour's mean rate (at least 1), so that bursts inside the hour are provisioned for.
    """
    return gpu_hours * peak_share * burst_factor


def energy_kwh(gpu_hours, power_kw):
    """Energy of the GPU-hours [kWh] at the profile's all-in power [kW per GPU]."""
    return gpu_hours * power_kw


def cost(gpu_hours, all_in_cost_per_gpu_hour):
    """Cost of the GPU-hours [USD] at the step's all-in price [USD per GPU-hour]
    (:func:`all_in_price`)."""
    return gpu_hours * all_in_cost_per_gpu_hour


def cost_per_mtok(cost, tokens):
    """Cost [USD] per million ``tokens`` [USD per million tokens]; NaN for no tokens.

    ``cost_per_mtok`` counts visible output tokens (what a product pays per token it
    shows), ``cost_per_mtok_all`` every token processed (:func:`processed_tokens`, the
    seeds' and InferenceX's convention).
    """
    xp = namespace(cost, tokens)
    with np.errstate(invalid="ignore", divide="ignore"):
        return xp.where(tokens > 0, cost / tokens * PER_MILLION, xp.nan)


def tokens_per_mw(decoded, energy):
    """Decoded tokens per second per MW of power [tokens/s per MW]; NaN for no energy.

    ``decoded`` [tokens] over the step's ``energy`` [kWh] = 3.6 MW-s each.
    """
    xp = namespace(decoded, energy)
    with np.errstate(invalid="ignore", divide="ignore"):
        return xp.where(energy > 0, decoded / (energy * MW_SECONDS_PER_KWH), xp.nan)


# -- monetization and the Jevons effect ----------------------------------------------
# A product sells its visible output tokens. At a fixed price per million output
# tokens demand holds; at a markup over cost the price follows the elastic $/GPU-hour
# down (or up) the supply price path, and demand answers with a constant price
# elasticity e: requests scale by (price_t / price_0)^(-e).


def nominal_cost_per_output_mtok(
    all_in_cost_per_gpu_hour,
    prefill_seconds_per_output,
    decode_seconds_per_output,
    target_utilization,
):
    """A profile's cost per million visible output tokens at a request shape
    [USD per million output tokens].

    ``prefill_seconds_per_output`` and ``decode_seconds_per_output`` [GPU-s per output
    token] are the uncached input and the decoded tokens (output + thinking) of one
    output token, each at its rate; the GPU-hours run at ``target_utilization`` [0-1]
    and cost ``all_in_cost_per_gpu_hour`` [USD per GPU-hour].
    """
    hours = gpu_hours(gpu_seconds(prefill_seconds_per_output, decode_seconds_per_output),
                      target_utilization)  # fmt: skip
    return hours * all_in_cost_per_gpu_hour * PER_MILLION


def markup_price_per_mtok(cost_per_mtok, markup):
    """Price at a ``markup`` [-] over a cost [USD per million output tokens]:
    ``cost x (1 + markup)``."""
    return cost_per_mtok * (1.0 + markup)


def price_response_log_rate(elasticity, decline_per_year):
    """How fast log demand grows as a price that follows cost falls [1/year].

    A price falling like the $/GPU-hour, ``(1 - d)^years``, lifts demand by
    ``((1 - d)^years)^(-e) = exp(-e log(1 - d) years)``; this is ``-e log(1 - d)``,
    ``elasticity`` ``e`` [-] >= 0, ``decline_per_year`` ``d`` [1/year].
    """
    xp = namespace(elasticity, decline_per_year)
    return -elasticity * xp.log1p(-decline_per_year)


def demand_factor(log_rate, years):
    """Demand's answer to the price after ``years`` [year] [-]: ``exp(log_rate x years)``,
    ``log_rate`` [1/year] from :func:`price_response_log_rate`; exactly 1 at a rate of 0."""
    xp = namespace(log_rate)
    return xp.exp(log_rate * years)


def revenue(output, price_per_mtok, price_factor):
    """Revenue of the visible output tokens [USD]: ``output`` [tokens] at the opening
    ``price_per_mtok`` [USD per million output tokens] times the price's path so far
    ``price_factor`` [-] (1 for a fixed price)."""
    return output * (price_per_mtok * price_factor) / PER_MILLION


def gross_margin(revenue, cost):
    """Revenue less the cost of serving it [USD]."""
    return revenue - cost


def loss(total_gross_margin):
    """The horizon's gross margin is below 0 [bool]."""
    return total_gross_margin < 0.0


# -- fixed fleets ---------------------------------------------------------------------
# A fixed fleet of F GPUs serves up to F GPUs of work in every hour: the target
# utilisation is a planning margin, not a cap. Work is the GPU-hours at full
# utilisation (gpu_hours x target utilisation), spread over the step's hours in
# proportion to their surged calendar weights.


def work_gpu_hours(gpu_hours, target_utilization):
    """The GPU-hours of work itself, at full utilisation [GPU-h]."""
    return gpu_hours * target_utilization


def work_gpus_per_weight(work, step_hours, volume):
    """GPUs of work per unit of surged hourly weight [GPUs]; 0 for no work.

    An hour of surged weight ``v`` needs ``v`` times this, so the step's mean
    hour (weight ``volume`` [-]) needs ``work`` [GPU-h] / ``step_hours`` [h].
    """
    xp = namespace(work, volume)
    with np.errstate(invalid="ignore", divide="ignore"):
        return xp.where(volume > 0.0, work / (step_hours * volume), 0.0)


def unserved_gpu_hours(gpus_per_weight, surge_factors, level_weight, level_hours, fleet):
    """Work above the fleet, summed over the step's hours [GPU-h].

    ``sum_c max(need_c - F, 0)`` over the hours c, where hour c of group g
    needs ``gpus_per_weight x S_g x w_c`` GPUs. ``level_weight`` and
    ``level_hours`` (groups, levels), host NumPy arrays read as Python floats,
    list each group's distinct weights and their hours (padding has zero
    hours); ``surge_factors`` (groups, ...)
    broadcast against ``gpus_per_weight`` and ``fleet`` [GPUs].
    """
    xp = namespace(gpus_per_weight, surge_factors, fleet)
    total = xp.zeros_like(gpus_per_weight * fleet)
    for g in range(level_weight.shape[0]):
        for level in range(level_weight.shape[1]):
            need = gpus_per_weight * surge_factors[g, ...] * float(level_weight[g, level])
            total = total + float(level_hours[g, level]) * xp.maximum(need - fleet, 0.0)
    return total


def fleet_utilization(work_gpu_hours, unserved, fleet, step_hours):
    """Busy share of a fixed fleet's GPU-hours [0-1]: served work / (F x step hours)."""
    return (work_gpu_hours - unserved) / (fleet * step_hours)


def unserved_output_tokens(unserved, work_gpu_hours, output):
    """Output tokens a fixed fleet could not serve [tokens]: the unserved share of the work."""
    xp = namespace(unserved, work_gpu_hours, output)
    with np.errstate(invalid="ignore", divide="ignore"):
        return xp.where(unserved > 0.0, output * (unserved / work_gpu_hours), 0.0)


def fleet_cost(fleet, hours, all_in_cost_per_gpu_hour):
    """Cost of keeping ``fleet`` GPUs for ``hours`` [USD], busy or idle, at the all-in price
    in force at the horizon's start [USD per GPU-hour]: a fleet is bought, not rented by
    the hour, so the price's decline does not reach it."""
    return fleet * hours * all_in_cost_per_gpu_hour


def shortfall(unserved):
    """Some hour of the step needs more than the fleet [bool]: exactly when work goes unserved."""
    return unserved > 0.0


def target_breach(peak_gpus, fleet):
    """The busiest hour needs more than target utilisation x the fleet [bool].

    ``peak_gpus`` is already at target utilisation, so this is ``peak_gpus > F``.
    """
    return peak_gpus > fleet
