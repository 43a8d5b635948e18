"""Arrivals against hand arithmetic, a brute-force second implementation and shipped traces."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from jevons.calibrate.arrivals import Arrivals, ArrivalStats
from jevons.calibrate.trace import TraceChunk
from jevons.errors import JevonsError
from tests.conftest import TRACES

MOONCAKE = TRACES / "mooncake_conversation_trace.jsonl"
AZURE_CONV = TRACES / "azure_llm_inference_2023_conv.csv"
# 2024-01-01 00:00:00 UTC, a Monday
MONDAY = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())


def chunks(times: np.ndarray, size: int) -> list[TraceChunk]:
    out = []
    for lo in range(0, len(times), size):
        t = np.asarray(times[lo : lo + size], dtype=np.float64)
        zeros = np.zeros(len(t), dtype=np.int64)
        out.append(
            TraceChunk(
                line=np.arange(lo, lo + len(t), dtype=np.int64) + 2,
                time_s=t,
                input_tokens=zeros,
                output_tokens=zeros,
                failed=np.zeros(len(t), dtype=bool),
            )
        )
    return out


def arrivals(times, has_clock=False, size=1_000_000, **options) -> ArrivalStats:
    acc = Arrivals(has_clock, **options)
    for chunk in chunks(np.asarray(times, dtype=np.float64), size):
        acc.add(chunk)
    return acc.finish()


def brute_burst(times: np.ndarray, window_s: int, quantile: float) -> tuple[float, float, int]:
    """The module doc's burst definition, window by window with sorted-array searches:
    the windows of the busiest hour (of those covering half an hour or more)."""
    origin = math.floor(times[0])
    seconds = math.floor(times[-1]) - origin + 1
    rel = times - origin

    def count(lo, hi):
        return np.searchsorted(rel, hi, side="left") - np.searchsorted(rel, lo, side="left")

    hours = []
    for lo in range(0, seconds, 3600):
        covered = min(lo + 3600, seconds) - lo
        hours.append((count(lo, lo + 3600) / covered, covered, lo))
    long_enough = [h for h in hours if h[1] >= 1800] or hours
    hour_rate, covered, hour_lo = max(long_enough, key=lambda h: h[0])
    ratios = []
    whole = max(covered // window_s, 1)
    for k in range(whole):
        lo = hour_lo + k * window_s
        width = min(window_s, hour_lo + covered - lo)
        ratios.append(count(lo, lo + width) / width / hour_rate)
    return float(np.quantile(ratios, quantile)), max(ratios), len(ratios)


def poisson_times(rate_per_s: float, n: int, seed: int, start: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return start + np.cumsum(rng.exponential(1.0 / rate_per_s, n))


def test_poisson_rate_and_cv():
    times = poisson_times(5.0, 200_000, seed=20240101)
    stats = arrivals(times, size=7_919)
    # 200,000 exponential gaps: the rate's relative sd is 0.2%, the CV's about 0.4%
    assert stats.requests_per_second == pytest.approx(5.0, rel=0.01)
    assert stats.requests_per_hour == pytest.approx(18_000, rel=0.01)
    assert stats.gap_cv == pytest.approx(1.0, abs=0.02)
    assert stats.tied_gaps == 0
    assert not stats.resolution_limits_cv
    gaps = np.diff(times)
    assert stats.gap_cv == pytest.approx(gaps.std(ddof=1) / gaps.mean(), rel=1e-9)
    assert stats.requests_per_second == pytest.approx(1.0 / gaps.mean(), rel=1e-12)


@pytest.mark.parametrize(("start", "period"), [(0.0, 1.0), (100.25, 0.5)])
def test_regular_trace_has_cv_zero_and_burst_one(start, period):
    # two whole hours, the same count in every second
    times = start + period * np.arange(round(7200 / period))
    stats = arrivals(times, size=997)
    assert stats.gap_cv == 0.0
    assert stats.requests_per_second == pytest.approx(1.0 / period, rel=1e-12)
    for burst in stats.bursts:
        assert burst.at_quantile == pytest.approx(1.0, rel=1e-12)
        assert burst.maximum == pytest.approx(1.0, rel=1e-12)
        assert burst.windows == 3600 // burst.window_s  # the busiest hour's windows


def test_one_burst_of_known_size():
    # 1 request a second for two hours, and 50 more at t = 1000.5 s
    times = np.sort(np.concatenate([np.arange(7200.0), np.full(50, 1000.5)]))
    stats = arrivals(times, quantile=0.99)
    hour0_rate = 3650 / 3600  # the burst's hour [requests/s]
    one, ten, sixty = stats.bursts
    assert one.maximum == pytest.approx(51 / hour0_rate, rel=1e-12)
    assert ten.maximum == pytest.approx(60 / 10 / hour0_rate, rel=1e-12)
    assert sixty.maximum == pytest.approx(110 / 60 / hour0_rate, rel=1e-12)
    # only the busiest hour's windows count: the burst's hour (3,650 requests, the second
    # hour has 3,600). Its 1 s windows sorted: 3,599 at 1/hour0_rate, then the burst; the
    # 0.99 point (index 0.99 * 3599 = 3563.01) lies among the quiet seconds
    assert one.windows == 3600 and sixty.windows == 60
    assert one.at_quantile == pytest.approx(1 / hour0_rate, rel=1e-12)
    assert arrivals(times, quantile=1.0).bursts[0].at_quantile == one.maximum
    # 50 requests at one time tie 49 gaps; they split the 1 s gap from 1000 to 1001
    assert stats.tied_gaps == 49
    gaps = np.array([1.0] * 7198 + [0.5] * 2 + [0.0] * 49)
    assert stats.gap_cv == pytest.approx(gaps.std(ddof=1) / gaps.mean(), rel=1e-12)


def test_burst_matches_brute_force_over_uneven_hours():
    # three busy hours of changing rate, a quiet gap, then a partial last hour
    parts = [
        poisson_times(rate, n, seed=seed, start=start)
        for rate, n, seed, start in [(2.0, 7000, 1, 0.3), (9.0, 20000, 2, 3500.0)]
    ]
    times = np.sort(np.concatenate([*parts, 4 * 3600 + 0.5 + np.arange(40.0) * 30]))
    for quantile in (0.5, 0.99):
        stats = arrivals(times, size=4_999, quantile=quantile)
        for burst in stats.bursts:
            at_quantile, maximum, windows = brute_burst(times, burst.window_s, quantile)
            assert burst.at_quantile == pytest.approx(at_quantile, rel=1e-12)
            assert burst.maximum == pytest.approx(maximum, rel=1e-12)
            assert burst.windows == windows


def per_second_trace(start_s: int, seconds: int, per_second: np.ndarray) -> np.ndarray:
    """``per_second[i]`` requests spread evenly through grid second ``i``."""
    counts = per_second.astype(np.int64)
    second = np.repeat(np.arange(seconds), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    within = (np.arange(len(second)) - first + 0.5) / np.repeat(counts, counts)
    return start_s + second + within


HOUR_PROFILE = np.array([1, 1, 1, 1, 1, 2, 3, 4, 5, 5, 4, 4, 5, 5, 4, 4, 3, 3, 3, 2, 2, 2, 1, 1])


@pytest.mark.parametrize(
    ("start_s", "seconds"),
    [
        (MONDAY, 3 * 86_400),  # three whole days: every hour of day covered 3 times
        (MONDAY + 6 * 3600 + 1817, 50 * 3600 + 900),  # part hours, hours covered 2 or 3 times
    ],
)
def test_hour_weights_from_known_daily_profile(start_s, seconds):
    hour_of_day = (start_s + np.arange(seconds)) // 3600 % 24
    times = per_second_trace(start_s, seconds, HOUR_PROFILE[hour_of_day])
    stats = arrivals(times, has_clock=True, size=100_003)
    expected = HOUR_PROFILE / HOUR_PROFILE.mean()
    np.testing.assert_allclose(stats.hour_weights, expected, rtol=1e-12)
    assert stats.weekday_weights is None
    assert "7 days" in stats.weekday_weights_note


def test_weekday_weights_from_known_weekly_profile():
    day_profile = np.array([3, 3, 3, 3, 2, 1, 1])  # Monday first
    start_s = MONDAY + 2 * 86_400 + 13 * 3600 + 5  # Wednesday 13:00:05
    seconds = 9 * 86_400 + 12 * 3600  # 9.5 days: some weekdays covered twice
    weekday = (np.arange(seconds) + start_s - MONDAY) // 86_400 % 7
    times = per_second_trace(start_s, seconds, day_profile[weekday])
    stats = arrivals(times, has_clock=True, size=500_000)
    np.testing.assert_allclose(stats.weekday_weights, day_profile / day_profile.mean(), rtol=1e-12)
    assert len(stats.hour_weights) == 24
    assert np.mean(stats.hour_weights) == pytest.approx(1.0, rel=1e-12)


def test_weights_need_a_clock():
    seconds = 3 * 86_400
    hour_of_day = np.arange(seconds) // 3600 % 24
    times = per_second_trace(0, seconds, HOUR_PROFILE[hour_of_day])
    stats = arrivals(times, has_clock=False)
    assert stats.hour_weights is None and stats.weekday_weights is None
    assert "no clock" in stats.hour_weights_note
    assert "no clock" in stats.weekday_weights_note


def assert_same_stats(a: ArrivalStats, b: ArrivalStats) -> None:
    for field in dataclasses.fields(ArrivalStats):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if field.name == "gap_cv":
            assert x == pytest.approx(y, rel=1e-12)
        else:
            assert x == y, field.name


def test_chunk_boundaries_do_not_change_results():
    rng = np.random.default_rng(7)
    # millisecond timestamps with ties, over a bit more than two hours
    times = np.sort(np.round(rng.uniform(0, 7500, 6_000), 3))
    assert_same_stats(arrivals(times, size=5), arrivals(times, size=1_000_000))
    clocked = MONDAY + 86_000 + times * 30  # about 2.6 days with a clock
    assert_same_stats(
        arrivals(clocked, has_clock=True, size=5),
        arrivals(clocked, has_clock=True, size=1_000_000),
    )


def test_empty_chunks_are_skipped():
    acc = Arrivals(has_clock=False)
    for chunk in chunks(np.arange(10.0), 4):
        acc.add(chunk)
        acc.add(
            TraceChunk(
                line=np.zeros(0, np.int64),
                time_s=np.zeros(0),
                input_tokens=np.zeros(0, np.int64),
                output_tokens=np.zeros(0, np.int64),
                failed=np.zeros(0, bool),
            )
        )
    assert acc.finish().requests_per_second == 1.0


def test_bad_inputs():
    with pytest.raises(JevonsError, match="at least two requests"):
        arrivals([5.0])
    with pytest.raises(JevonsError, match="one timestamp"):
        arrivals([5.0, 5.0, 5.0])
    # out of order across a chunk boundary: the fourth request is line 5
    with pytest.raises(JevonsError, match="line 5"):
        arrivals([0.0, 1.0, 2.0, 1.5, 3.0], size=3)
    with pytest.raises(ValueError, match="quantile"):
        Arrivals(False, quantile=0.0)
    with pytest.raises(ValueError, match="divide an hour"):
        Arrivals(False, windows_s=(7,))


def mooncake_times() -> np.ndarray:
    with MOONCAKE.open() as f:
        return np.array([json.loads(line)["timestamp"] for line in f], dtype=np.float64) / 1000


def azure_times(path: Path) -> np.ndarray:
    stamps = np.loadtxt(path, delimiter=",", skiprows=1, usecols=0, dtype=str)
    # 'YYYY-MM-DD HH:MM:SS.fffffff' in UTC: whole seconds plus the fraction
    whole = np.array([s[:19] for s in stamps], dtype="datetime64[s]").astype(np.int64)
    fraction = np.array([float("0" + s[19:]) if len(s) > 19 else 0.0 for s in stamps])
    return whole + fraction


def test_mooncake_conversation_trace():
    times = mooncake_times()
    stats = arrivals(times, has_clock=False, size=4_096)
    assert stats.requests == 12_031
    assert stats.span_s == pytest.approx(3536.999)
    # about one hour: 12,031 requests at about 12,031 / 3600 a second
    assert stats.requests_per_second == pytest.approx(12_030 / 3536.999, rel=1e-12)
    assert stats.requests_per_second == pytest.approx(12_031 / 3600, rel=0.03)
    assert stats.hour_weights is None and "no clock" in stats.hour_weights_note
    assert stats.weekday_weights is None
    gaps = np.diff(times)
    assert stats.gap_cv == pytest.approx(gaps.std(ddof=1) / gaps.mean(), rel=1e-9)
    # arrivals are logged in batches about 3 s apart: most gaps are ties
    assert stats.tied_gaps == np.count_nonzero(gaps == 0)
    assert stats.timestamp_quantum_s == 1e-3
    assert stats.resolution_limits_cv
    assert stats.distinct_time_spacing_s == pytest.approx(3.0, rel=0.01)
    for burst in stats.bursts:
        at_quantile, maximum, _ = brute_burst(times, burst.window_s, 0.99)
        assert burst.at_quantile == pytest.approx(at_quantile, rel=1e-12)
        assert burst.maximum == pytest.approx(maximum, rel=1e-12)


def test_azure_conversation_trace():
    times = azure_times(AZURE_CONV)
    stats = arrivals(times, has_clock=True, size=4_096)
    assert stats.requests == 19_366
    assert stats.start_s == pytest.approx(
        datetime(2023, 11, 16, 18, 15, 46, 680590, tzinfo=UTC).timestamp(), abs=1e-6
    )
    gaps = np.diff(times)
    assert stats.gap_cv == pytest.approx(gaps.std(ddof=1) / gaps.mean(), rel=1e-9)
    assert stats.tied_gaps == 0 and not stats.resolution_limits_cv
    assert stats.hour_weights is None and "24 hours" in stats.hour_weights_note
    assert stats.weekday_weights is None and "7 days" in stats.weekday_weights_note
    for burst in stats.bursts:
        at_quantile, maximum, _ = brute_burst(times, burst.window_s, 0.99)
        assert burst.at_quantile == pytest.approx(at_quantile, rel=1e-12)
        assert burst.maximum == pytest.approx(maximum, rel=1e-12)
        assert burst.maximum >= 1.0


def test_a_quiet_hour_does_not_set_the_burst_factor():
    """An even busy hour then a sparse one: the busiest hour is even, so every window of it
    runs at the hour's mean rate (a burst factor of 1), whatever the quiet hour's noise."""
    busy = np.arange(0.0, 3600.0, 0.1)  # 10 a second
    quiet = 3600.0 + poisson_times(0.05, 150, seed=3)
    stats = arrivals(np.concatenate([busy, quiet[quiet < 7200.0]]))
    for burst in stats.bursts:
        assert burst.at_quantile == pytest.approx(1.0, rel=1e-12)
        assert burst.maximum == pytest.approx(1.0, rel=1e-12)
