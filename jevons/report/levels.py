"""Which of a result's quantile levels draw a fan chart's bands.

A fan chart shows the P5-P95 and P25-P75 bands around the median. A result holds
the levels its scenario asked for (``simulation.quantiles``); where one of these
five is missing the nearest level stands in, and the chart's caption says so.
"""

from __future__ import annotations

from dataclasses import dataclass

MEDIAN = 0.5
OUTER = (0.05, 0.95)
INNER = (0.25, 0.75)


def percent(level: float) -> str:
    """``0.05`` -> ``"P5"``, ``0.999`` -> ``"P99.9"``."""
    return f"P{level * 100:.10g}"


def nearest_level(levels: list[float], wanted: float) -> float:
    """The level in ``levels`` nearest ``wanted``; of two as near, the one farther from
    the median (a band drawn a little wide, never a little narrow)."""
    outward = 1.0 if wanted >= MEDIAN else -1.0
    # distances rounded: 0.25 - 0.15 and 0.35 - 0.25 differ in their last bit
    return min(levels, key=lambda level: (round(abs(level - wanted), 12), -outward * level))


@dataclass(frozen=True)
class FanLevels:
    """The levels a fan chart draws: bands (low, high), widest first, and the median."""

    bands: tuple[tuple[float, float], ...]
    median: float
    notes: tuple[str, ...]  # each stand-in, in words, for the caption


def fan_levels(levels: list[float]) -> FanLevels:
    """The bands and median line drawn from a result's ``levels`` (at least one)."""
    levels = sorted(float(level) for level in levels)
    median = nearest_level(levels, MEDIAN)
    notes = []
    if median != MEDIAN:
        notes.append(f"line {percent(median)} (no P50 in the result)")
    bands: list[tuple[float, float]] = []
    for wanted in (OUTER, INNER):
        low, high = (nearest_level(levels, w) for w in wanted)
        if (low, high) != wanted:
            notes.append(
                f"{percent(wanted[0])}-{percent(wanted[1])} drawn as {percent(low)}-{percent(high)}"
                " (the nearest levels in the result)"
            )
        if low < high and (low, high) not in bands:
            bands.append((low, high))
    return FanLevels(tuple(bands), median, tuple(notes))
