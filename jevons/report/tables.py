"""The report's tables as HTML: headline figures, threshold and fleet probabilities, the
scenario's inputs and the provenance. Every text put into the page is escaped here."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

import numpy as np
import xarray as xr

from jevons.report.inputs import FixedInput, UncertainInput, number
from jevons.report.levels import nearest_level, percent
from jevons.report.plotting import compact
from jevons.report.risk_charts import threshold_dim

# The headline table's levels; the nearest the result holds stand in for missing ones.
HEADLINE_LEVELS = (0.05, 0.5, 0.95)
HEADLINE = {
    "max_peak_gpus": ("largest peak GPUs", ""),
    "total_cost": ("total cost", "$"),
    "horizon_cost_per_mtok_all": ("$ per M tokens, every token", "$"),
    "horizon_cost_per_mtok": ("$ per M output tokens", "$"),
}
# Attributes the provenance table leaves to other sections.
NOT_PROVENANCE = ("scenario", "title")
STEP_ADJECTIVES = {"1h": "hourly", "1D": "daily", "7D": "weekly"}
# Attributes that are counts, shown with thousands separators; a seed is shown whole.
COUNTS = ("trajectories", "steps")


def table(header: Sequence[str], rows: Iterable[Sequence[str]], numeric_from: int = 1) -> str:
    """An HTML table of plain texts (escaped here); columns from ``numeric_from`` on are
    right-aligned figures."""

    def cells(tag: str, row: Sequence[str]) -> str:
        return "".join(
            f'<{tag} class="num">{html.escape(cell)}</{tag}>'
            if k >= numeric_from
            else f"<{tag}>{html.escape(cell)}</{tag}>"
            for k, cell in enumerate(row)
        )

    body = "".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
    return f"<table><thead><tr>{cells('th', header)}</tr></thead><tbody>{body}</tbody></table>"


def headline_table(ds: xr.Dataset) -> str:
    """Per hardware profile: the largest peak GPUs, total cost and cost per token over the
    horizon at (about) P5, P50 and P95; and the total tokens."""
    available = [float(q) for q in ds["quantile"].values]
    levels = list(dict.fromkeys(nearest_level(available, q) for q in HEADLINE_LEVELS))
    names = [name for name in HEADLINE if name in ds]
    header = ["", *(HEADLINE[name][0] for name in names)]
    rows = []
    for hw in ds["hardware"].values:
        row = [str(hw)]
        for name in names:
            prefix = HEADLINE[name][1]
            values = ds[name].sel(hardware=hw)
            row.append(" / ".join(compact(float(values.sel(quantile=q)), prefix) for q in levels))
        rows.append(row)
    label = " / ".join(percent(q) for q in levels)
    text = f"<p>Over the horizon, {html.escape(label)} across futures.</p>"
    text += table(header, rows)
    if "total_tokens" in ds:
        tokens = " / ".join(compact(float(ds["total_tokens"].sel(quantile=q))) for q in levels)
        sentence = f"Total tokens over the horizon ({label}): {tokens}."
        text += f"<p>{html.escape(sentence)}</p>"
    return text


def exceedance_tables(ds: xr.Dataset) -> str:
    """P(value > threshold) at each threshold of each horizon variable the result has."""
    parts = []
    for name, words, prefix in (
        ("total_cost", "total cost", "$"),
        ("max_peak_gpus", "largest peak GPUs", ""),
    ):
        probability = ds.get(f"{name}_exceedance_probability")
        if probability is None:
            continue
        dim = threshold_dim(probability)
        hardware = [str(h) for h in ds["hardware"].values]
        rows = [
            [
                f"P({words} > {compact(float(limit), prefix)})",
                *(f"{float(probability.sel({dim: limit, 'hardware': hw})):.4f}" for hw in hardware),
            ]
            for limit in probability[dim].values
        ]
        parts.append(table(["threshold", *hardware], rows))
    return "".join(parts)


def fleet_table(ds: xr.Dataset) -> str:
    """P(short) / P(over target) over the horizon, per fleet size and hardware."""
    hardware = [str(h) for h in ds["hardware"].values]
    breach = ds.get("any_target_breach_probability")
    rows = []
    for size in ds["fleet_size"].values:
        row = [f"{int(size):,}"]
        for hw in hardware:
            at = {"fleet_size": size, "hardware": hw}
            cell = f"{float(ds['any_shortfall_probability'].sel(at)):.4f}"
            if breach is not None:
                cell += f" / {float(breach.sel(at)):.4f}"
            row.append(cell)
        rows.append(row)
    what = "P(short) / P(over target)" if breach is not None else "P(short)"
    return table(["fleet size [GPUs]", *(f"{hw}: {what}" for hw in hardware)], rows)


def uncertain_table(rows: list[UncertainInput]) -> str:
    return table(
        ["input (scenario key)", "units", "distribution", "parameters", "P5", "P50", "P95"],
        [
            [r.key, r.units, r.dist, r.parameters, number(r.p5), number(r.median), number(r.p95)]
            for r in rows
        ],
        numeric_from=4,
    )


def fixed_table(rows: list[FixedInput]) -> str:
    return table(
        ["input (scenario key)", "units", "value"],
        [[r.key, r.units, number(r.value)] for r in rows],
        numeric_from=2,
    )


def attribute_text(name: str, value: object) -> str:
    """An attribute as the provenance table shows it; ``seed`` and ``trajectories`` may be
    stored as numbers or as text."""
    if isinstance(value, np.generic):
        value = value.item()
    if name in COUNTS:
        try:
            return f"{int(value):,}"
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, np.ndarray):
        return ", ".join(str(v) for v in value.tolist())
    return str(value)


def extent_sentence(ds: xr.Dataset) -> str:
    """``"2,000 trajectories x 365 daily steps from 2027-01-01."``"""
    n = attribute_text("trajectories", ds.attrs.get("trajectories", "?"))
    steps = attribute_text("steps", ds.attrs.get("steps", ds.sizes["time"]))
    step = str(ds.attrs.get("step", ""))
    adjective = STEP_ADJECTIVES.get(step)
    steps = f"{steps} {adjective} steps" if adjective else f"{steps} steps of {step}"
    return f"{n} trajectories x {steps} from {ds.attrs.get('horizon_start', '?')}."


def provenance_table(ds: xr.Dataset) -> str:
    rows = [
        [str(name), attribute_text(str(name), value)]
        for name, value in ds.attrs.items()
        if name not in NOT_PROVENANCE
    ]
    return table(["attribute", "value"], rows, numeric_from=2)


def hardware_table(ds: xr.Dataset) -> str:
    """The rates each hardware profile ran on, where the result records them."""
    columns = [
        (name, ds[name].attrs.get("units", ""))
        for name in ("supply_kind", "prefill_tokens_per_s", "decode_tokens_per_s")
        if name in ds.coords
    ]
    if not columns:
        return ""
    header = ["hardware", *(f"{name} [{units}]" if units else name for name, units in columns)]
    rows = []
    for hw in ds["hardware"].values:
        row = [str(hw)]
        for name, _ in columns:
            value = ds[name].sel(hardware=hw).values.item()
            row.append(number(value) if isinstance(value, float) else str(value))
        rows.append(row)
    words = sum(1 for name, _ in columns if ds[name].dtype.kind in "USO")  # before figures
    return table(header, rows, numeric_from=1 + words)
