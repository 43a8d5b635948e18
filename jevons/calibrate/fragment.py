"""A calibration as scenario keys, with comments that say where each came from and what
the trace could not tell."""

from __future__ import annotations

import datetime as dt
import math

from jevons.calibrate.calibration import Calibration
from jevons.calibrate.fits import FitReport
from jevons.calibrate.toml_edit import Setting

BURST_WINDOW_S = 60  # the window whose burst figure feeds variability.burst_factor


def _mean_table(estimate: float, se: float) -> dict | float:
    if not math.isfinite(se) or se <= 0:
        return round(estimate, 4)
    return {"dist": "normal", "mean": round(estimate, 4), "sd": round(se, 4), "low": 0.0}


def _shape(fit: FitReport) -> str:
    chosen = fit.fit(fit.scenario_family)
    if chosen.aic is None:
        return f"per-request shape: no family fitted; median {fit.median:g}, P95 {fit.p95:g}"
    parameters = ", ".join(f"{k} {v:.4g}" for k, v in chosen.parameters.items())
    return (
        f"per-request shape: {fit.scenario_family} ({parameters}; AIC {chosen.aic:.6g},"
        f" KS {chosen.ks_distance:.3f}); median {fit.median:g}, P95 {fit.p95:g}"
    )


def settings(calibration: Calibration, cache_capacity: int | None = None) -> list[Setting]:
    """The scenario keys the trace identifies, each with its provenance comment."""
    means = calibration.means
    fitted = (
        ""
        if calibration.holdout_fraction is None
        else f" over the fitted part (the first {1 - calibration.holdout_fraction:.0%} of the"
        f" span, {calibration.holdout.fitted_requests:,} requests)"
    )
    found = []
    for key, mean, fit in (
        ("usage.input_tokens_per_request", means.input_tokens_per_request, calibration.input_fit),
        ("usage.output_tokens_per_call", means.output_tokens_per_call, calibration.output_fit),
    ):
        found.append(
            Setting(
                key,
                _mean_table(mean.estimate, mean.se),
                f"trace mean{fitted} {mean.estimate:,.1f}, block-bootstrap SE {mean.se:,.1f}"
                f" ({means.n_blocks} blocks of {means.block_s:g} s); {_shape(fit)}",
            )
        )
    cache = calibration.cache
    if cache is not None:
        row = cache.at(cache_capacity)
        size = (
            "an unbounded cache (an upper bound)"
            if cache_capacity is None
            else f"an LRU cache of {cache_capacity:,} blocks of 512 tokens"
        )
        found.append(
            Setting(
                "cache.hit_rate",
                round(row.token_hit_rate, 4),
                f"share of input tokens served from cache, replaying the trace's prefix hashes"
                f" through {size}",
            )
        )
    burst = calibration.arrivals.burst(BURST_WINDOW_S)
    found.append(
        Setting(
            "variability.burst_factor",
            round(max(1.0, burst.at_quantile), 4),
            f"P{burst.quantile * 100:g} of {burst.windows} {BURST_WINDOW_S} s windows' rate"
            " over their hour's mean rate",
        )
    )
    arrivals = calibration.arrivals
    if arrivals.hour_weights is not None:
        found.append(
            Setting(
                "variability.hour_weights",
                [round(w, 4) for w in arrivals.hour_weights],
                arrivals.hour_weights_note,
            )
        )
    if arrivals.weekday_weights is not None:
        found.append(
            Setting(
                "variability.weekday_weights",
                [round(w, 4) for w in arrivals.weekday_weights],
                arrivals.weekday_weights_note,
            )
        )
    return found


def _clock(calibration: Calibration, seconds: float) -> str:
    if not calibration.info.has_clock:
        return f"{seconds:,.1f} s"
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def header(calibration: Calibration, cache_capacity: int | None = None) -> list[str]:
    """Comment lines: the source, its extent, the statistics, and what it cannot tell."""
    info, arrivals = calibration.info, calibration.arrivals
    lines = [
        f"Calibrated by `jevons calibrate` from {info.path} ({info.format} format).",
        f"{info.rows:,} requests from {_clock(calibration, info.start_s)} to"
        f" {_clock(calibration, info.end_s)} ({info.span_s / 3600:,.2f} hours)"
        + (f"; {info.bad_rows:,} bad rows skipped" if info.bad_rows else "")
        + ("; rows were out of time order and were sorted" if not info.sorted_in_time else "")
        + ".",
    ]
    if calibration.holdout_fraction is not None:
        lines.append(
            f"Token means and shapes come from the first {1 - calibration.holdout_fraction:.0%}"
            " of the span (the rest was held out to check them); arrivals, cache and sessions"
            " from all of it."
        )
    for fit in (calibration.input_fit, calibration.output_fit):
        if fit.failed:
            lines.append(f"{fit.failed:,} failed requests (no output) left out of the fits.")
            break
    lines.append(
        f"Requests: {arrivals.requests_per_second:.4g}/s; inter-arrival CV"
        f" {arrivals.gap_cv:.3g}. {arrivals.resolution_note}"
    )
    bursts = ", ".join(
        f"{b.window_s} s: {b.at_quantile:.3g} (max {b.maximum:.3g})" for b in arrivals.bursts
    )
    lines.append(f"Burst factors (P{arrivals.bursts[0].quantile * 100:g}): {bursts}.")
    sessions = calibration.sessions
    if sessions is not None:
        lines.append(
            f"Sessions ({sessions.link}): {sessions.sessions:,}, {sessions.continued_share:.1%}"
            f" of requests continue one; requests per session mean"
            f" {sessions.requests_per_session_mean:.3g} (P95"
            f" {sessions.requests_per_session_p95:g}); context growth per turn mean"
            f" {sessions.context_growth_per_turn_mean:,.0f} tokens. Not written:"
            " usage.requests_per_session needs whole sessions, and the growth is already in"
            " the trace's input tokens (agents.context_growth_per_call is within one request)."
        )
    if calibration.cache is not None and cache_capacity is None:
        lines.append("cache.hit_rate is for an unbounded cache: an upper bound.")
    lines += [
        "The trace measures only its own window: each sd is sampling error within it.",
        "Widen the spreads for a future the trace did not see.",
        "The trace cannot tell: users, sessions per user per day, thinking tokens (counted in"
        " output), agent calls per request"
        + ("" if arrivals.hour_weights is not None else "; " + arrivals.hour_weights_note)
        + ("" if arrivals.weekday_weights is not None else "; " + arrivals.weekday_weights_note)
        + ".",
    ]
    return lines
