"""Arrivals: request rate, inter-arrival variability, bursts and calendar weights.

One pass over time-sorted chunks in memory bounded by the trace's span, not its
rows: a count of requests per second of the span (4 bytes a second, about 10 MB a
month) and running sums of the gaps between consecutive requests, carried across
chunk boundaries.

The seconds grid
    Second ``i`` of the grid is ``[origin + i, origin + i + 1)`` with ``origin =
    floor(first request time)``, up to the second of the last request, so the grid
    holds ``n_seconds = floor(last) - origin + 1`` seconds. With a clock
    (``TraceInfo.has_clock``) these are UTC seconds since the epoch.

Burst factor (what :attr:`ArrivalStats.bursts` holds)
    ``variability.burst_factor`` is the rate of the busiest window inside the
    busiest hour over that hour's mean rate. Hours tile the grid from its origin
    (hour ``h`` is seconds ``[3600 h, 3600 (h+1))``, not clock hours); the
    busiest is the one of highest mean rate (requests over the seconds of it the
    grid covers) among those covering at least half an hour, or the whole grid
    for a trace shorter than that. For each window length ``w`` [s], whole windows
    tile that hour from its start (a shorter rest at its end is left out, unless
    the hour is shorter than one window). A window's ratio is

        (requests in the window / its seconds) / (requests in the hour / its seconds)

    The figure is the ``quantile`` of these ratios over the hour's windows (numpy's
    linear interpolation), with the maximum beside it: a high quantile is the
    busiest window without letting a single one decide it. At low rates short
    windows mostly measure counting noise (a 1 s window holding a few requests);
    longer windows describe load swings a fleet has to absorb.

Calendar weights
    Only with a clock: hour-of-day weights when the grid covers at least 24 hours,
    weekday weights (Monday first) at 7 days. Each UTC hour of day gets its
    requests over the hours of the grid it covers (first and last hours partly),
    so hours covered more often than others do not weigh more; weights are those
    rates over their mean (mean 1, as ``variability.hour_weights``). Weekdays the
    same, with days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from jevons.calibrate.trace import TraceChunk
from jevons.errors import JevonsError

SECONDS_PER_HOUR = 3600
# The busiest hour must cover at least this much of the grid [s].
MIN_BUSIEST_HOUR_S = 1800
SECONDS_PER_DAY = 86_400
HOURS_PER_WEEK = 168
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday; Monday is 0
BURST_WINDOWS_S = (1, 10, 60)
DEFAULT_BURST_QUANTILE = 0.99
# Decimal timestamp quanta checked, coarsest first [s].
_QUANTA_S = (1.0, 0.1, 0.01, 1e-3, 1e-4, 1e-5, 1e-6)
# A time lies on a quantum's grid within a few float steps of the time itself (epoch
# seconds as float64 carry about 2.4e-7 s of rounding); quanta not well above that
# slack cannot be told apart and count as not fitting.
_FLOAT_STEPS_SLACK = 8
_QUANTUM_OVER_SLACK = 20
# The CV is called resolution-limited past these: more than 1% of gaps tied at
# zero, or a quantum q over a tenth of the mean gap m (rounding adds about q^2 / 6
# to each gap's variance, so CV^2 moves by q^2 / (6 m^2), and ties about 5% of
# Poisson gaps).
_TIED_SHARE_LIMIT = 0.01
_QUANTUM_OVER_GAP_LIMIT = 0.1


@dataclass(frozen=True)
class BurstWindow:
    """Peak-to-hour-mean rate ratios of windows of one length (see the module doc)."""

    window_s: int  # window length [s]
    quantile: float  # the quantile of window ratios reported [0-1]
    at_quantile: float  # that quantile of (window rate / its hour's mean rate) [-]
    maximum: float  # the largest ratio [-]
    windows: int  # windows counted (those in hours with requests)


@dataclass(frozen=True)
class ArrivalStats:
    """What a trace's arrival times say; the module doc defines each figure."""

    requests: int
    start_s: float  # first request [s on the trace's clock]
    end_s: float  # last request [s]
    span_s: float  # end_s - start_s [s]
    # (requests - 1) / span_s = 1 / mean gap [requests/s]; the first request opens the span.
    requests_per_second: float
    requests_per_hour: float  # requests_per_second * 3600 [requests/h]
    mean_gap_s: float  # mean inter-arrival gap [s]
    # sd (divisor gaps - 1) / mean of the gaps [-]; 1 for a Poisson process; NaN for one gap
    gap_cv: float
    tied_gaps: int  # gaps of zero: requests sharing a timestamp
    # Mean spacing of distinct timestamps [s]: the trace's effective time resolution
    # where it logs arrivals in batches.
    distinct_time_spacing_s: float
    # Coarsest decimal step every timestamp lies on [s] (1e-3: milliseconds); None
    # when none of 1 s ... 1e-6 s fits (with float64 epoch seconds nothing finer than
    # 1e-4 s can be seen).
    timestamp_quantum_s: float | None
    resolution_limits_cv: bool
    resolution_note: str  # whether and why the resolution limits the CV and short windows
    bursts: tuple[BurstWindow, ...]
    # 24 UTC hour-of-day weights (hour 0 first), mean 1; None when not identified.
    hour_weights: tuple[float, ...] | None
    hour_weights_note: str  # what they come from, or why the trace cannot identify them
    weekday_weights: tuple[float, ...] | None  # 7, Monday first, mean 1; None: not identified
    weekday_weights_note: str

    def burst(self, window_s: int) -> BurstWindow:
        """The burst figures for windows of ``window_s`` seconds."""
        for b in self.bursts:
            if b.window_s == window_s:
                return b
        raise KeyError(f"no burst figures for {window_s} s windows")


class Arrivals:
    """Accumulates arrival times over time-sorted chunks; ``finish()`` gives the stats.

    ``has_clock``: the times are UTC epoch seconds (``TraceInfo.has_clock``), so
    hour-of-day and weekday are known. ``quantile``: which quantile of window ratios
    the burst figures report. ``windows_s``: burst window lengths [s], each dividing
    an hour.
    """

    def __init__(
        self,
        has_clock: bool,
        quantile: float = DEFAULT_BURST_QUANTILE,
        windows_s: tuple[int, ...] = BURST_WINDOWS_S,
    ):
        if not 0.0 < quantile <= 1.0:
            raise ValueError(f"burst quantile must be in (0, 1], got {quantile}")
        for w in windows_s:
            if w < 1 or SECONDS_PER_HOUR % w:
                raise ValueError(f"burst windows must divide an hour in whole seconds, got {w}")
        self.has_clock = has_clock
        self.quantile = quantile
        self.windows_s = tuple(windows_s)
        self._requests = 0
        self._first: float | None = None
        self._last: float | None = None
        self._origin = 0  # floor(first time) [s]
        self._per_second = np.zeros(0, dtype=np.int32)  # requests per grid second
        self._seconds = 0  # grid seconds in use
        # gaps: count, mean and sum of squared deviations, merged chunk by chunk
        self._gaps = 0
        self._gap_mean = 0.0
        self._gap_m2 = 0.0
        self._tied = 0
        self._on_quantum = [True] * len(_QUANTA_S)

    def add(self, chunk: TraceChunk) -> None:
        times = np.asarray(chunk.time_s, dtype=np.float64)
        if len(times) == 0:
            return
        if self._first is None:
            self._first = float(times[0])
            self._origin = math.floor(self._first)
            gaps = np.diff(times)
        else:
            gaps = np.diff(times, prepend=self._last)
        if len(gaps) and gaps.min() < 0:
            bad = int(np.argmax(gaps < 0)) + (len(times) - len(gaps))
            raise JevonsError(
                f"line {int(chunk.line[bad])}: request earlier than the one before it; "
                "arrivals need the trace sorted by time"
            )
        self._last = float(times[-1])
        self._requests += len(times)
        self._add_gaps(gaps)
        self._count_per_second(times)
        self._check_quanta(times)

    def _add_gaps(self, gaps: np.ndarray) -> None:
        n = len(gaps)
        if n == 0:
            return
        self._tied += int(np.count_nonzero(gaps == 0))
        mean = float(gaps.mean())
        m2 = float(np.square(gaps - mean).sum())
        # Chan et al.'s pairwise merge: stable where sum-of-squares would cancel.
        total = self._gaps + n
        delta = mean - self._gap_mean
        self._gap_m2 += m2 + delta * delta * self._gaps * n / total
        self._gap_mean += delta * n / total
        self._gaps = total

    def _count_per_second(self, times: np.ndarray) -> None:
        seconds = np.floor(times - self._origin).astype(np.int64)
        low, high = int(seconds[0]), int(seconds[-1])
        if high + 1 > len(self._per_second):
            grown = np.zeros(max(high + 1, 2 * len(self._per_second)), dtype=np.int32)
            grown[: self._seconds] = self._per_second[: self._seconds]
            self._per_second = grown
        self._per_second[low : high + 1] += np.bincount(seconds - low).astype(np.int32)
        self._seconds = high + 1

    def _check_quanta(self, times: np.ndarray) -> None:
        offset = times - self._origin
        slack_s = _FLOAT_STEPS_SLACK * float(np.spacing(np.abs(times).max()))
        for k, quantum in enumerate(_QUANTA_S):
            if self._on_quantum[k]:
                steps = offset / quantum
                off_grid_s = np.abs(steps - np.round(steps)) * quantum
                self._on_quantum[k] = quantum > _QUANTUM_OVER_SLACK * slack_s and bool(
                    np.all(off_grid_s <= slack_s)
                )

    def finish(self) -> ArrivalStats:
        if self._requests < 2:
            raise JevonsError(
                f"arrivals need at least two requests, the trace has {self._requests}"
            )
        span_s = self._last - self._first
        if span_s <= 0:
            raise JevonsError("all requests share one timestamp: no arrival rate can be measured")
        rate = (self._requests - 1) / span_s
        mean_gap = span_s / self._gaps
        # one gap has no spread to measure: the CV is NaN
        gap_sd = (
            math.sqrt(max(self._gap_m2, 0.0) / (self._gaps - 1)) if self._gaps > 1 else math.nan
        )
        distinct = self._gaps - self._tied + 1
        quantum = next((q for q, ok in zip(_QUANTA_S, self._on_quantum, strict=True) if ok), None)
        limited, note = _resolution(self._tied, self._gaps, quantum, mean_gap, distinct, span_s)
        counts = self._per_second[: self._seconds]
        hours, hours_note = self._hour_weights(counts)
        days, days_note = self._weekday_weights(counts)
        return ArrivalStats(
            requests=self._requests,
            start_s=self._first,
            end_s=self._last,
            span_s=span_s,
            requests_per_second=rate,
            requests_per_hour=rate * SECONDS_PER_HOUR,
            mean_gap_s=mean_gap,
            gap_cv=gap_sd / mean_gap,
            tied_gaps=self._tied,
            distinct_time_spacing_s=span_s / (distinct - 1),
            timestamp_quantum_s=quantum,
            resolution_limits_cv=limited,
            resolution_note=note,
            bursts=tuple(_burst(counts, w, self.quantile) for w in self.windows_s),
            hour_weights=hours,
            hour_weights_note=hours_note,
            weekday_weights=days,
            weekday_weights_note=days_note,
        )

    def _hour_weights(self, counts: np.ndarray) -> tuple[tuple[float, ...] | None, str]:
        why_not = self._not_identified(len(counts), SECONDS_PER_DAY, "hour-of-day", "24 hours")
        if why_not:
            return None, why_not
        clock_hours, requests, exposure_s = _clock_hours(counts, self._origin)
        weights = _weights(clock_hours % 24, 24, requests, exposure_s)
        return weights, (
            f"from {len(counts) / SECONDS_PER_DAY:.2f} days of UTC clock hours: each hour of "
            "day's requests over the hours covered, over their mean"
        )

    def _weekday_weights(self, counts: np.ndarray) -> tuple[tuple[float, ...] | None, str]:
        why_not = self._not_identified(len(counts), 7 * SECONDS_PER_DAY, "weekday", "7 days")
        if why_not:
            return None, why_not
        clock_hours, requests, exposure_s = _clock_hours(counts, self._origin)
        weekday = (clock_hours // 24 + _EPOCH_WEEKDAY) % 7
        weights = _weights(weekday, 7, requests, exposure_s)
        return weights, (
            f"from {len(counts) / SECONDS_PER_DAY:.2f} days of UTC days (Monday first): each "
            "weekday's requests over the days covered, over their mean"
        )

    def _not_identified(self, grid_s: int, needed_s: int, what: str, needed: str) -> str:
        if not self.has_clock:
            return (
                f"{what} weights not identified: the trace has no clock (times count from "
                "its own zero); the scenario keeps its own"
            )
        if grid_s < needed_s:
            return (
                f"{what} weights not identified: the trace covers {grid_s / 3600:.2f} h, "
                f"they need at least {needed}; the scenario keeps its own"
            )
        return ""


def _burst(counts: np.ndarray, window_s: int, quantile: float) -> BurstWindow:
    """Window-rate over hour-mean-rate ratios for one window length, in the busiest hour
    (module doc)."""
    n = len(counts)
    hours = -(-n // SECONDS_PER_HOUR)
    hour_requests = _block_sums(counts, SECONDS_PER_HOUR, hours)
    hour_seconds = np.minimum(SECONDS_PER_HOUR, n - SECONDS_PER_HOUR * np.arange(hours))
    hour_rate = hour_requests / hour_seconds
    # a sliver of an hour at the grid's end is too short to be the busiest
    long_enough = hour_seconds >= MIN_BUSIEST_HOUR_S
    candidates = np.where(long_enough, hour_rate, -1.0) if long_enough.any() else hour_rate
    busiest = int(np.argmax(candidates))
    lo = busiest * SECONDS_PER_HOUR
    hour = counts[lo : lo + hour_seconds[busiest]]
    # whole windows only: a sliver at the end counts too few seconds to mean a rate
    windows = max(len(hour) // window_s, 1)
    window_seconds = np.minimum(window_s, len(hour) - window_s * np.arange(windows))
    counted = hour[: windows * window_s]
    window_rate = _block_sums(counted, window_s, windows) / window_seconds
    ratios = window_rate / hour_rate[busiest]
    return BurstWindow(
        window_s=window_s,
        quantile=quantile,
        at_quantile=float(np.quantile(ratios, quantile)),
        maximum=float(ratios.max()),
        windows=len(ratios),
    )


def _block_sums(counts: np.ndarray, block: int, blocks: int) -> np.ndarray:
    """Sums of consecutive ``block``-long runs of ``counts`` (the last may be shorter)."""
    return np.add.reduceat(counts, np.arange(blocks) * block, dtype=np.int64)


def _clock_hours(counts: np.ndarray, origin: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """UTC clock hours the grid touches: hour index since the epoch, requests, seconds covered."""
    lead = origin % SECONDS_PER_HOUR  # seconds of the first clock hour before the grid
    hours = -(-(lead + len(counts)) // SECONDS_PER_HOUR)
    hour_start = np.arange(hours) * SECONDS_PER_HOUR - lead  # in grid seconds
    starts = np.maximum(hour_start, 0)
    ends = np.minimum(hour_start + SECONDS_PER_HOUR, len(counts))
    requests = np.add.reduceat(counts, starts, dtype=np.int64)
    return origin // SECONDS_PER_HOUR + np.arange(hours), requests, ends - starts


def _weights(
    label: np.ndarray, size: int, requests: np.ndarray, exposure_s: np.ndarray
) -> tuple[float, ...]:
    """Each label's requests per second covered, over the mean of those rates."""
    rate = np.bincount(label, weights=requests, minlength=size) / np.bincount(
        label, weights=exposure_s, minlength=size
    )
    return tuple(float(r) for r in rate / rate.mean())


def _resolution(
    tied: int, gaps: int, quantum: float | None, mean_gap: float, distinct: int, span_s: float
) -> tuple[bool, str]:
    """Whether timestamps are too coarse for the CV and short burst windows, and why."""
    tied_share = tied / gaps
    if quantum is None:
        grid = "timestamps show no decimal grid (checked from 1 s down to what float64 resolves)"
        over_gap, rounding = 0.0, ""
    else:
        grid, over_gap = f"timestamps lie on a {quantum:g} s grid", quantum / mean_gap
        # Poisson arrivals (rate 1/m) rounded down to a grid of step q tie where the next
        # arrival falls in the same step: 1 - (1 - exp(-q/m)) / (q/m) of gaps.
        poisson_ties = 1.0 - (-math.expm1(-over_gap)) / over_gap
        rounding = f"; rounding to it alone would tie {poisson_ties:.1%} of Poisson gaps"
    if tied_share <= _TIED_SHARE_LIMIT and over_gap <= _QUANTUM_OVER_GAP_LIMIT:
        return False, (
            f"{grid}, the mean gap is {mean_gap:.3g} s and {tied_share:.1%} of gaps are ties: "
            "the time resolution does not limit the CV"
        )
    return True, (
        f"{tied_share:.1%} of gaps are ties ({grid}{rounding}); distinct timestamps lie "
        f"{span_s / (distinct - 1):.3g} s apart on average, so the CV and burst windows not much "
        "longer than that measure how the trace logs arrivals, not how they arrive"
    )
