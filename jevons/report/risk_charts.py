"""Charts of horizon risk: the distribution of cost per token, the exceedance curve of
total cost, and the shortfall probability of fixed fleets."""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib import ticker

from jevons.report.levels import percent
from jevons.report.plotting import (
    Chart,
    colour,
    compact_axis,
    log_if_wide,
    new_figure,
    percent_axis,
    styled,
    to_png,
)

# The two conventions of cost per token: every token processed (the seeds' and
# InferenceX's), and visible output only.
COST_PER_TOKEN = {
    "horizon_cost_per_mtok_all": "every token (input + output + thinking)",
    "horizon_cost_per_mtok": "visible output tokens only",
}
TICKED_FLEETS = 12  # label every fleet size up to this many


def threshold_dim(probability: xr.DataArray) -> str:
    """The dim of an exceedance probability's thresholds (``threshold`` or
    ``<name>_threshold``)."""
    return next(str(dim) for dim in probability.dims if str(dim).endswith("threshold"))


@styled
def cost_per_token_chart(ds: xr.Dataset) -> Chart | None:
    """The quantile function of horizon cost per million tokens, one panel per convention
    the result holds, one line per hardware profile."""
    names = [name for name in COST_PER_TOKEN if name in ds and "quantile" in ds[name].dims]
    if not names:
        return None
    hardware = [str(h) for h in ds["hardware"].values]
    levels = ds["quantile"].values
    figure, axes = new_figure(1, len(names), height=4.0, sharey=True)
    for ax, name in zip(axes[0], names, strict=True):
        values = ds[name].transpose("quantile", "hardware").values
        for k, hw in enumerate(hardware):
            ax.plot(values[:, k], levels, marker="o", markersize=4, color=colour(k), label=hw)
        log = log_if_wide(ax, values)
        if not log:
            ax.set_xlim(left=0)
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda x, _pos: f"${x:,.3g}"))
        ax.set_title(COST_PER_TOKEN[name], loc="left")
        ax.set_xlabel(f"{ds[name].attrs.get('units', 'USD per million tokens')}")
    axes[0, 0].set_ylabel("share of futures at or below")
    axes[0, 0].set_ylim(0, 1)
    axes[0, 0].legend(loc="lower right")
    both = len(names) == 2
    return Chart(
        "Cost per token",
        to_png(figure),
        "Cumulative distribution of the horizon cost per million tokens, per hardware profile",
        "Total cost over the horizon divided by the tokens served, at each quantile level"
        f" the result holds ({', '.join(percent(q) for q in levels)}): the line at height q"
        " is the cost per million tokens that a share q of futures stays at or below."
        + (
            " Left: every token processed (the seeds' and InferenceX's convention);"
            " right: visible output tokens only."
            if both
            else ""
        ),
    )


@styled
def exceedance_chart(ds: xr.Dataset) -> Chart | None:
    """P(total cost > x) against x: 1 - q at each quantile of total cost, the kept
    trajectories' own curve where the result has them, and the probabilities at the
    thresholds (``[risk.thresholds]``, ``--threshold``)."""
    if "total_cost" not in ds or "quantile" not in ds["total_cost"].dims:
        return None
    hardware = [str(h) for h in ds["hardware"].values]
    levels = ds["quantile"].values
    quantiles = ds["total_cost"].transpose("quantile", "hardware").values
    figure, axes = new_figure(1, 1, height=4.5)
    ax = axes[0, 0]
    kept = ds.get("trajectory_total_cost")
    thresholds = ds.get("total_cost_exceedance_probability")
    for k, hw in enumerate(hardware):
        if kept is not None:
            costs = np.sort(kept.sel(hardware=hw).values)
            costs = costs[np.isfinite(costs)]
            above = 1.0 - np.arange(1, costs.size + 1) / costs.size
            ax.step(costs[:-1], above[:-1], where="post", color=colour(k), linewidth=0.8, alpha=0.6)
        ax.plot(
            quantiles[:, k],
            1.0 - levels,
            marker="o",
            markersize=5,
            color=colour(k),
            linestyle="-" if kept is None else "none",
            label=f"{hw}, quantiles",
        )
        if thresholds is not None:
            dim = threshold_dim(thresholds)
            probability = thresholds.sel(hardware=hw).values
            shown = probability > 0  # a log axis has no 0
            ax.plot(
                thresholds[dim].values[shown],
                probability[shown],
                marker="D",
                markersize=8,
                markeredgecolor="black",
                color=colour(k),
                linestyle="none",
                label=f"{hw}, at a threshold",
            )
    ax.set_yscale("log")
    log_if_wide(ax, quantiles)
    compact_axis(ax.xaxis, "$")
    percent_axis(ax.yaxis)
    ax.set_xlabel("total cost over the horizon [USD]")
    ax.set_ylabel("probability of a higher total cost")
    ax.legend(loc="lower left")
    caption = (
        "The share of futures whose total cost over the horizon exceeds each amount: 1 - q"
        " at each quantile level q of total cost (dots)"
    )
    if kept is not None:
        caption += f", and the curve of the {ds.sizes['trajectory']:,} kept trajectories (line)"
    if thresholds is not None:
        caption += "; diamonds: P(total cost > threshold) at each threshold, listed below"
        if (thresholds.values == 0).any():
            caption += " (a probability of 0 has no place on the log axis: see the table)"
    return Chart(
        "Total cost: exceedance",
        to_png(figure),
        "Exceedance curve of total cost over the horizon, per hardware profile",
        caption + ".",
    )


@styled
def shortfall_chart(ds: xr.Dataset) -> Chart | None:
    """P(some hour of the horizon needs more GPUs than the fleet) against fleet size, and
    P(some hour needs more than target utilisation x the fleet), per hardware."""
    if "any_shortfall_probability" not in ds or "fleet_size" not in ds.dims:
        return None
    hardware = [str(h) for h in ds["hardware"].values]
    sizes = ds["fleet_size"].values
    figure, axes = new_figure(1, 1, height=4.5)
    ax = axes[0, 0]
    breach = ds.get("any_target_breach_probability")
    for k, hw in enumerate(hardware):
        short = ds["any_shortfall_probability"].sel(hardware=hw).values
        ax.plot(sizes, short, marker="o", color=colour(k), label=f"{hw}: short")
        if breach is not None:
            ax.plot(
                sizes,
                breach.sel(hardware=hw).values,
                marker="s",
                markersize=4,
                linestyle="--",
                color=colour(k),
                label=f"{hw}: over target",
            )
    if log_if_wide(ax, sizes.astype(np.float64)):
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda x, _pos: f"{x:,.0f}"))
    if len(sizes) <= TICKED_FLEETS:
        ax.set_xticks(sizes, [f"{s:,}" for s in sizes])
    ax.set_ylim(-0.02, 1.02)
    percent_axis(ax.yaxis)
    ax.set_xlabel("fixed fleet size [GPUs]")
    ax.set_ylabel("probability over the horizon")
    ax.legend(loc="upper right")
    return Chart(
        "Fixed fleets: shortfall",
        to_png(figure),
        "Shortfall probability against fixed fleet size, per hardware profile",
        "Solid: the probability that some hour of the horizon needs more GPUs than the fleet"
        " (short). Dashed: that some hour needs more than the target utilisation of the"
        " fleet (over target).",
    )
