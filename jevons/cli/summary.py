"""The summary ``jevons run`` and ``jevons merge`` print: percentiles over the horizon."""

from __future__ import annotations

import xarray as xr
from rich.markup import escape
from rich.table import Table

from jevons.cli.console import out, print_table

STEP_WORDS = {"1h": "hourly", "1D": "daily", "7D": "weekly"}


def _money(x: float) -> str:
    if x != x:
        return "n/a"  # no output tokens at all
    return f"${x:,.3g}" if abs(x) < 1000 else f"${x:,.0f}"


def _count(x: float) -> str:
    if abs(x) >= 1e15:
        return f"{x:.3g}"
    for unit, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"{x / scale:.3g}{unit}"
    return f"{x:.3g}"


def print_summary(ds: xr.Dataset) -> None:
    q = [float(x) for x in ds["quantile"].values]
    # P50/P95/P99 when the scenario asks for them, else its three highest quantiles
    levels = [p for p in (0.5, 0.95, 0.99) if p in q] or q[-3:]
    middle = 0.5 if 0.5 in q else levels[0]
    n, steps = ds.attrs["trajectories"], ds.attrs["steps"]
    step = STEP_WORDS.get(ds.attrs["step"], ds.attrs["step"])
    out.print(
        f"[bold]{escape(ds.attrs['scenario_name'])}[/]: {n:,} trajectories x {steps} "
        f"{step} steps from {ds.attrs['horizon_start']}"
        f" ({ds.attrs['backend']} backend, {ds.attrs['wall_time_s']:.2f} s)",
        highlight=False,
        soft_wrap=True,
    )
    tokens = "  ".join(
        f"P{p * 100:g} {_count(float(ds.total_tokens.sel(quantile=p)))}" for p in levels
    )
    out.print(f"total tokens over the horizon: {tokens}", highlight=False, soft_wrap=True)

    label = "/".join(f"P{p * 100:g}" for p in levels)
    table = Table(show_edge=False, pad_edge=False, caption=f"over the horizon, {label}")
    table.add_column("hardware", no_wrap=True)
    table.add_column("peak GPUs", justify="right", no_wrap=True)
    table.add_column("$ per M output tokens", justify="right", no_wrap=True)
    table.add_column(f"$ per M tokens P{middle * 100:g}", justify="right", no_wrap=True)
    table.add_column(f"cost P{middle * 100:g}", justify="right", no_wrap=True)
    for hw in ds.hardware.values:
        sel = ds.sel(hardware=hw)
        peak = " / ".join(_count(float(sel.max_peak_gpus.sel(quantile=p))) for p in levels)
        cost = " / ".join(_money(float(sel.horizon_cost_per_mtok.sel(quantile=p))) for p in levels)
        every_token = _money(float(sel.horizon_cost_per_mtok_all.sel(quantile=middle)))
        total = _money(float(sel.total_cost.sel(quantile=middle)))
        table.add_row(str(hw), peak, cost, every_token, total)
    print_table(table)
    out.print(
        "$ per M tokens counts every token processed (input, output and thinking), the"
        " seeds' and InferenceX's convention; $ per M output tokens, visible output only.",
        highlight=False,
        soft_wrap=True,
    )

    hardware = list(ds.hardware.values)
    if len(hardware) > 1:
        median = ds.horizon_cost_per_mtok_all.sel(quantile=middle)
        base = hardware[0]
        for other in hardware[1:]:
            ratio = float(median.sel(hardware=base) / median.sel(hardware=other))
            if ratio != ratio:
                continue  # no tokens: nothing to compare
            text = f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.2f}x"
            out.print(
                f"cost per M tokens (P{middle * 100:g}), {base} / {other}: {text}",
                highlight=False,
                soft_wrap=True,
            )

    print_exceedances(ds, hardware)

    if "fleet_size" in ds.dims:
        fleet = Table(
            show_edge=False,
            pad_edge=False,
            title="fixed fleets over the horizon: P(short) / P(over target)",
        )
        fleet.add_column("fleet size", justify="right")
        for hw in hardware:
            fleet.add_column(hw, justify="right")
        for size in ds.fleet_size.values:
            cells = []
            for hw in hardware:
                at = {"fleet_size": size, "hardware": hw}
                short = float(ds.any_shortfall_probability.sel(at))
                over = float(ds.any_target_breach_probability.sel(at))
                cells.append(f"{short:.3f} / {over:.3f}")
            fleet.add_row(str(size), *cells)
        print_table(fleet)
        out.print(
            "short: some hour needs more GPUs than the fleet; over target: more than"
            " target utilisation x the fleet",
            highlight=False,
            soft_wrap=True,
        )


def print_exceedances(ds: xr.Dataset, hardware: list) -> None:
    """One line per threshold: P(value > threshold) for each hardware profile."""
    for name, label, show in (
        ("total_cost", "total cost", _money),
        ("max_peak_gpus", "max peak GPUs", _count),
    ):
        probability = ds.get(f"{name}_exceedance_probability")
        if probability is None:
            continue
        dim = probability.dims[0]
        for limit in probability[dim].values:
            cells = ", ".join(
                f"{hw} {float(probability.sel({dim: limit, 'hardware': hw})):.3f}"
                for hw in hardware
            )
            out.print(
                f"P({label} > {show(float(limit))}): {cells}",
                highlight=False,
                soft_wrap=True,
            )
