"""Charts over time: fan charts of token demand and of peak GPUs, and the GPUs to reserve
per period."""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.axes import Axes

from jevons.report.levels import FanLevels, fan_levels, percent
from jevons.report.plotting import (
    PANEL_HEIGHT,
    Chart,
    colour,
    compact_axis,
    date_axis,
    new_figure,
    styled,
    to_png,
)

# Per-step token variables of the demand chart, one panel each.
TOKEN_VARIABLES = {
    "input_tokens": "input tokens (cached or not)",
    "output_tokens": "visible output tokens",
    "thinking_tokens": "thinking tokens (decoded, never shown)",
}
STEP_WORDS = {"1h": "hour", "1D": "day", "7D": "week"}
# Levels drawn for the reserve: the median and the upper tail a planner provisions for.
RESERVE_LEVELS = (0.5, 0.9, 0.95, 0.99)
BAND_ALPHAS = (0.18, 0.38)  # outer band, inner band
SINGLE_BAND_ALPHA = 0.3


def per_step(ds: xr.Dataset) -> str:
    """``"per day"`` for a result in daily steps; ``"per 6h step"`` for 6-hour steps."""
    step = str(ds.attrs.get("step", ""))
    word = STEP_WORDS.get(step)
    return f"per {word}" if word else f"per {step} step" if step else "per step"


def fan_caption(levels: FanLevels) -> str:
    ranges = [f"{percent(low)}-{percent(high)}" for low, high in levels.bands]
    if len(ranges) == 2:
        ranges = [f"{ranges[0]} (light)", f"{ranges[1]} (dark)"]
    shades = ", ".join(ranges)
    text = (f"Shaded: {shades}; " if shades else "") + f"line: {percent(levels.median)}."
    if levels.notes:
        text += " Levels: " + "; ".join(levels.notes) + "."
    return text


def draw_fan(ax: Axes, values: xr.DataArray, levels: FanLevels, tint: str) -> None:
    """One fan: ``values`` has dims (quantile, time)."""
    times = values["time"].values
    alphas = BAND_ALPHAS if len(levels.bands) == 2 else (SINGLE_BAND_ALPHA,)
    for (low, high), alpha in zip(levels.bands, alphas, strict=False):
        ax.fill_between(
            times,
            values.sel(quantile=low).values,
            values.sel(quantile=high).values,
            color=tint,
            alpha=alpha,
            linewidth=0,
            label=f"{percent(low)}-{percent(high)}",
        )
    ax.plot(
        times,
        values.sel(quantile=levels.median).values,
        color=tint,
        linewidth=1.4,
        label=percent(levels.median),
    )
    ax.set_ylim(bottom=0)
    compact_axis(ax.yaxis)
    date_axis(ax)


@styled
def token_demand_chart(ds: xr.Dataset) -> Chart | None:
    """Input, output and thinking tokens per step (thinking only where there are any)."""
    names = [
        name
        for name in TOKEN_VARIABLES
        if name in ds and "quantile" in ds[name].dims and float(ds[name].max()) > 0
    ]
    if not names:
        return None
    levels = fan_levels(list(ds["quantile"].values))
    figure, axes = new_figure(len(names), 1, sharex=True)
    for ax, name in zip(axes[:, 0], names, strict=True):
        draw_fan(ax, ds[name], levels, colour(0))
        ax.set_title(TOKEN_VARIABLES[name], loc="left")
        ax.set_ylabel(f"tokens {per_step(ds)}")
    axes[0, 0].legend(loc="upper left", ncols=3)
    words = ", ".join(TOKEN_VARIABLES[name].split(" (")[0] for name in names)
    return Chart(
        "Token demand",
        to_png(figure),
        f"Fan charts over time of {words}",
        f"Tokens {per_step(ds)}, over all LLM calls. {fan_caption(levels)}",
    )


@styled
def peak_gpus_chart(ds: xr.Dataset) -> Chart | None:
    """GPUs needed in the busiest hour of each step, one panel per hardware profile."""
    if "peak_gpus" not in ds:
        return None
    hardware = [str(h) for h in ds["hardware"].values]
    levels = fan_levels(list(ds["quantile"].values))
    figure, axes = new_figure(len(hardware), 1, sharex=True)
    for k, (ax, hw) in enumerate(zip(axes[:, 0], hardware, strict=True)):
        draw_fan(ax, ds["peak_gpus"].sel(hardware=hw), levels, colour(k))
        ax.set_title(hw, loc="left")
        ax.set_ylabel("GPUs")
        ax.legend(loc="upper left", ncols=3)
    target = ds.attrs.get("target_utilization")
    at = f" at {float(target):.0%} target utilisation" if target is not None else ""
    return Chart(
        "Peak GPUs",
        to_png(figure),
        f"Fan charts over time of the GPUs needed in the busiest hour, for {', '.join(hardware)}",
        f"GPUs needed in the busiest hour of each step{at}, per hardware profile."
        f" {fan_caption(levels)}",
    )


def reserve_levels(levels: list[float]) -> list[float]:
    """The median and upper-tail levels of :data:`RESERVE_LEVELS` the result has; without
    any, its levels from the median up (or its highest level)."""
    chosen = [level for level in RESERVE_LEVELS if level in levels]
    return chosen or [level for level in levels if level >= 0.5] or [max(levels)]


@styled
def reserve_chart(ds: xr.Dataset) -> Chart | None:
    """GPUs to reserve per period: grouped bars of the chosen quantiles, a panel per
    hardware profile."""
    if "reserve_gpus" not in ds or "period" not in ds.dims:
        return None
    hardware = [str(h) for h in ds["hardware"].values]
    chosen = reserve_levels(sorted(float(q) for q in ds["quantile"].values))
    periods = ds["period"].values
    labels = [np.datetime_as_string(p, unit="M") for p in periods]
    figure, axes = new_figure(len(hardware), 1, height=PANEL_HEIGHT * len(hardware) + 0.3)
    width = 0.8 / len(chosen)
    offsets = (np.arange(len(chosen)) - (len(chosen) - 1) / 2) * width
    for k, (ax, hw) in enumerate(zip(axes[:, 0], hardware, strict=True)):
        for j, level in enumerate(chosen):
            values = ds["reserve_gpus"].sel(hardware=hw, quantile=level).values
            shade = min(1.0, 0.2 + 0.8 * j / max(len(chosen) - 1, 1))  # darker: higher levels
            ax.bar(
                np.arange(len(periods)) + offsets[j],
                values,
                width,
                color=colour(k),
                alpha=shade,
                label=percent(level),
            )
        ax.set_xticks(np.arange(len(periods)), labels, rotation=0 if len(periods) <= 12 else 45)
        ax.set_title(hw, loc="left")
        ax.set_ylabel("GPUs")
        compact_axis(ax.yaxis)
        ax.grid(axis="x", visible=False)
        ax.legend(loc="upper left", ncols=len(chosen))
    return Chart(
        "GPUs to reserve per period",
        to_png(figure),
        f"Bar charts of the GPUs to reserve in each period at {', '.join(map(percent, chosen))}",
        "The largest peak-hour GPU need within each period (labelled by its first month):"
        " at level q, a fleet of that size covers the period's busiest hour in a share q"
        " of futures.",
    )
