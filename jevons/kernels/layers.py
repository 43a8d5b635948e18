"""The demand model, one function per layer (vectorised, float64).

These are the readable specification: each takes arrays over trajectories for
one time step and returns one quantity, with units in brackets. The seed
documents (``shared/seeds``) name the layers: base usage, reasoning, agentic
workflows, cache behaviour, variability and growth; supply and cost turn the
tokens into GPUs and dollars.

Arrays may come from any array API namespace (NumPy, CuPy, ...); each function
computes in its arguments' namespace and only calls the standard's functions.
"""

from __future__ import annotations

import math

import numpy as np

from jevons.kernels.array_api import interp, namespace
from jevons.kernels.transforms import normal_ppf

SECONDS_PER_HOUR = 3600.0
POISSON_EXACT_BELOW = 64.0
_POISSON_MAX_TERMS = 256


def cost_per_million_tokens(cost_per_gpu_hour, tokens_per_s_per_gpu):
    """Cost per token in its simplest form [USD per million tokens].

    .. math:: \\frac{\\$/\\text{GPU-hour}}{\\text{tokens/s/GPU} \\times 3600} \\times 10^6

    Reference: the seed table (NVIDIA, "Rethinking AI TCO"): HGX H200 at
    $1.41/h and 90 tokens/s gives $4.35; GB300 NVL72 at $2.65/h and 6,000
    tokens/s gives $0.123.
    """
    return cost_per_gpu_hour / (tokens_per_s_per_gpu * SECONDS_PER_HOUR) * 1e6


def users_next(users, growth_per_month, volatility, saturation, months, z):
    """Users after one step of geometric growth [users].

    log U grows by ``log(1 + g) * months`` (so with no volatility
    ``U(t) = U0 (1 + g)^months``), damped by ``1 - U / saturation`` as the
    market fills, with log-normal shocks of ``volatility`` per sqrt(month)
    whose ``-sigma^2 / 2`` term keeps the mean on the growth path. Users never
    exceed the saturation cap.
    """
    xp = namespace(users, growth_per_month, volatility, saturation, z)
    room = xp.clip(1.0 - users / saturation, 0.0, 1.0)
    drift = xp.log1p(growth_per_month) * months * room - 0.5 * volatility**2 * months
    grown = users * xp.exp(drift + volatility * math.sqrt(months) * z)
    return xp.minimum(grown, saturation)


def expected_requests(
    users, sessions_per_day, requests_per_session, step_hours, calendar_factor, surge, noise
):
    """Mean requests in one step before count noise [requests].

    users x sessions/day x requests/session x days in the step, shaped by the
    hour-of-day and weekday calendar, surge windows and step noise.
    """
    return (
        users
        * sessions_per_day
        * requests_per_session
        * (step_hours / 24.0)
        * calendar_factor
        * surge
        * noise
    )


def step_noise(log_sd, z):
    """Mean-one log-normal demand shock for one step [-]."""
    xp = namespace(log_sd, z)
    return xp.exp(log_sd * z - 0.5 * log_sd**2)


def poisson_counts(mean, u):
    """Poisson counts with the given means from uniforms ``u`` [count].

    Exact inversion of the CDF below a mean of 64; above it the normal
    approximation with continuity correction (relative error of its standard
    deviation under 1%), so a draw always consumes exactly one uniform.

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
    for n in range(1, _POISSON_MAX_TERMS):
        below = u > cdf
        if not xp.any(below):
            break
        k = xp.where(below, float(n), k)
        term = term * lam / n
        cdf = cdf + term
    return xp.where(large, approximate, k)


def llm_calls(requests, calls_per_request):
    """LLM calls made to serve the requests [calls] (agentic loops multiply them)."""
    return requests * calls_per_request


def input_tokens(
    requests, input_per_request, growth_per_call, calls_per_request, call_pairs_per_request
):
    """Input (prompt) tokens over all calls [tokens].

    Call k of a request reads the request's input plus ``(k - 1)`` rounds of
    appended context (tool results, earlier turns): a request with C calls reads
    ``C I + g C (C - 1) / 2`` tokens, whose mean uses E[C] and E[C(C - 1)].
    """
    per_request = (
        input_per_request * calls_per_request + growth_per_call * call_pairs_per_request / 2.0
    )
    return requests * per_request


def output_tokens(calls, output_per_call):
    """Visible output tokens [tokens]."""
    return calls * output_per_call


def thinking_tokens(calls, reasoning_share, thinking_per_reasoning_call):
    """Thinking tokens, decoded but never shown to the user [tokens].

    ``thinking_per_reasoning_call`` is E[min(X, budget)] of the per-call draw X.
    """
    return calls * reasoning_share * thinking_per_reasoning_call


def cache_hit_rate(initial, drift_per_month, months_elapsed):
    """KV/prefix cache hit rate after drifting for ``months_elapsed`` [0-1]."""
    xp = namespace(initial, drift_per_month)
    return xp.clip(initial + drift_per_month * months_elapsed, 0.0, 1.0)


def gpu_seconds(prefill_tokens, decode_tokens, prefill_rate, decode_rate):
    """GPU-seconds of work [GPU-s]: uncached prefill plus decode, each at its rate."""
    return prefill_tokens / prefill_rate + decode_tokens / decode_rate


def unserved_share(need_ratio, knots, excess):
    """Share of a step's work a fixed fleet cannot serve [0-1].

    ``need_ratio`` = mean GPUs needed / fleet size; ``knots`` and ``excess`` are
    the step's mean-excess table (see :func:`jevons.engine.calendar.excess_table`):
    piecewise linear in ``1 / need_ratio``
    between the knots, ``1 - x`` below the lowest and 0 above the highest.
    """
    xp = namespace(need_ratio, knots, excess)
    with np.errstate(divide="ignore", invalid="ignore"):  # NumPy's warnings for a zero need
        inverse = xp.where(need_ratio > 0, 1.0 / need_ratio, xp.inf)
        share = interp(inverse, knots, excess, right=0.0)
        share = xp.where(inverse < knots[0], 1.0 - inverse, share)
        return xp.where(need_ratio > 0, share, 0.0)
