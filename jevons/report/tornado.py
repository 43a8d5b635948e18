"""Tornado charts: how far each uncertain input moves an output's median, from the
sensitivity variables of :mod:`jevons.analytics.sensitivity`."""

from __future__ import annotations

import numpy as np
import xarray as xr

from jevons.report.levels import MEDIAN, nearest_level, percent
from jevons.report.plotting import Chart, compact, compact_axis, new_figure, styled, to_png

OUTPUT_WORDS = {
    "total_cost": "total cost",
    "max_peak_gpus": "largest peak GPUs",
    "horizon_cost_per_mtok": "cost per million output tokens",
}
SHOWN_INPUTS = 12  # the inputs that move the output most; the rest are left out
LOW_COLOUR, HIGH_COLOUR = "#4c72b0", "#dd8452"
ROW_HEIGHT = 0.4  # [inch] per input
BAR = 0.38  # each of an input's two bars, as a share of its row


def has_tornado(ds: xr.Dataset) -> bool:
    return all(name in ds for name in ("tornado_low", "tornado_high")) and "input" in ds.dims


def centre(ds: xr.Dataset, output: str, hardware: str) -> tuple[float, str]:
    """The median a tornado's bars start from, and its name: the kept trajectories'
    median, else the result's quantile nearest the median."""
    kept = ds.get(f"trajectory_{output}")
    if kept is not None:
        values = kept.sel(hardware=hardware).values
        return float(np.median(values[np.isfinite(values)])), "median"
    level = nearest_level([float(q) for q in ds["quantile"].values], MEDIAN)
    return float(ds[output].sel(quantile=level, hardware=hardware)), percent(level)


def ranked_inputs(low: np.ndarray, high: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Indices of the inputs by how far they move the output, widest first: each input's
    bar width (|high - low|) relative to the median, summed over hardware. ``low`` and
    ``high`` have shape (inputs, hardware); inputs with no finite bar are left out."""
    with np.errstate(invalid="ignore", divide="ignore"):
        width = np.abs(high - low) / np.where(centres > 0, centres, np.nan)
    score = np.nansum(width, axis=1)
    finite = np.isfinite(high - low).any(axis=1)
    order = np.argsort(-score, kind="stable")
    return order[finite[order]][:SHOWN_INPUTS]


@styled
def tornado_chart(ds: xr.Dataset, output: str) -> Chart | None:
    """One output's tornado, a panel per hardware profile, inputs in one order for all."""
    if not has_tornado(ds) or output not in ds["output"].values:
        return None
    hardware = [str(h) for h in ds["hardware"].values]
    sel = ds[["tornado_low", "tornado_high"]].sel(output=output)
    low = sel["tornado_low"].transpose("input", "hardware").values
    high = sel["tornado_high"].transpose("input", "hardware").values
    centres = [centre(ds, output, hw) for hw in hardware]
    order = ranked_inputs(low, high, np.array([c for c, _ in centres]))
    if order.size == 0:
        return None
    inputs = [str(name) for name in ds["input"].values[order]]
    units = str(ds["output_units"].sel(output=output).values) if "output_units" in ds else ""
    rows = np.arange(len(order))[::-1]  # the widest bar on top
    height = max(2.5, ROW_HEIGHT * len(order) + 1.4)
    figure, axes = new_figure(1, len(hardware), height=height, sharey=True)
    money = "$" if units.startswith("USD") else ""
    for h, (ax, hw, (middle, name)) in enumerate(zip(axes[0], hardware, centres, strict=True)):
        # each input's two bars side by side, so that one on the same side as the other
        # never hides it
        for values, shift, tint, label in (
            (low[order, h], BAR / 2, LOW_COLOUR, "input in its bottom decile"),
            (high[order, h], -BAR / 2, HIGH_COLOUR, "input in its top decile"),
        ):
            ax.barh(rows + shift, values - middle, left=middle, height=BAR, color=tint, label=label)
        ax.axvline(middle, color="black", linewidth=1)
        ax.set_title(f"{hw} ({name} {compact(middle, money)})", loc="left")
        compact_axis(ax.xaxis, money)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(units)
    axes[0, 0].set_yticks(rows, inputs)
    # above the panels: inside one it would cover the bars of the last inputs
    handles, labels = axes[0, 0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside upper center", ncols=2)
    word = OUTPUT_WORDS.get(output, output)
    return Chart(
        f"Sensitivity: {word}",
        to_png(figure),
        f"Tornado chart of {word} by uncertain input, per hardware profile",
        f"{word[:1].upper()}{word[1:]} [{units}]: the median over the trajectories whose"
        " input lies in its bottom decile (blue) and in its top decile (orange), against"
        f" the median of all (black line); the {len(order)} inputs that move it most,"
        " widest first.",
    )
