"""One calibration: every analysis of a trace in one pass over its chunks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jevons.calibrate.arrivals import Arrivals, ArrivalStats
from jevons.calibrate.bootstrap import BlockMeans, BootstrapMeans, block_bootstrap
from jevons.calibrate.fits import FitReport, TokenHistogram, fit_families
from jevons.calibrate.holdout import HoldoutReport, HoldoutSplit, split_time
from jevons.calibrate.prefix_cache import (
    DEFAULT_CAPACITY_BLOCKS,
    PrefixCacheReplay,
    PrefixCacheResult,
)
from jevons.calibrate.sessions import SessionInference, SessionsResult
from jevons.calibrate.trace import Trace, TraceInfo

BLOCK_S = 600.0  # bootstrap blocks and held-out windows [s]
RESAMPLES = 2000


@dataclass(frozen=True)
class Calibration:
    """What a trace says, and what it cannot say (``None`` where it has no such data)."""

    info: TraceInfo
    input_fit: FitReport  # input tokens per request
    output_fit: FitReport  # output tokens per call
    means: BootstrapMeans  # the means with their block-bootstrap uncertainty
    arrivals: ArrivalStats
    cache: PrefixCacheResult | None  # only for traces with prefix hashes
    sessions: SessionsResult | None  # only for traces that link requests
    holdout: HoldoutReport | None  # only with a held-out share
    holdout_fraction: float | None  # share of the span held out


def calibrate(
    trace: Trace,
    holdout: float | None = None,
    cache_capacities: tuple[int | None, ...] = DEFAULT_CAPACITY_BLOCKS,
    burst_quantile: float = 0.99,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> Calibration:
    """Every analysis of ``trace`` in one pass (after the reader's own pass for its span).

    ``holdout``: the share of the trace's span, at its end, to hold out: the fits and
    means then come from the first part only and are checked against the rest.
    ``progress`` is called with the rows read after each chunk.
    """
    info = trace.info
    split = None
    if holdout is not None:
        split = split_time(info.start_s, info.end_s, 1.0 - holdout)
    inputs = TokenHistogram("input_tokens")
    outputs = TokenHistogram("output_tokens")
    blocks = BlockMeans(BLOCK_S, start_s=info.start_s)
    arrivals = Arrivals(info.has_clock, quantile=burst_quantile)
    checker = HoldoutSplit(split, start_s=info.start_s, window_s=BLOCK_S) if split else None
    cache = sessions = None
    rows = 0
    for chunk in trace.chunks():
        fitted = chunk if split is None else chunk.select(chunk.time_s < split)
        if len(fitted):
            inputs.add(fitted)
            outputs.add(fitted)
            blocks.add(fitted)
        arrivals.add(chunk)
        if checker is not None:
            checker.add(chunk)
        if chunk.hash_ids is not None:
            cache = cache or PrefixCacheReplay(cache_capacities)
            cache.add(chunk)
        if chunk.hash_ids is not None or chunk.session is not None:
            sessions = sessions or SessionInference()
            sessions.add(chunk)
        rows += len(chunk)
        if progress is not None:
            progress(rows)
    return Calibration(
        info=info,
        input_fit=fit_families(inputs),
        output_fit=fit_families(outputs),
        means=block_bootstrap(
            blocks.finish(end_s=split if split is not None else None),
            resamples=RESAMPLES,
            seed=seed,
        ),
        arrivals=arrivals.finish(),
        cache=cache.finish() if cache is not None else None,
        sessions=sessions.finish() if sessions is not None else None,
        holdout=checker.finish(resamples=RESAMPLES, seed=seed, end_s=info.end_s)
        if checker
        else None,
        holdout_fraction=holdout,
    )
