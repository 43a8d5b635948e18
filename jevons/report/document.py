"""The HTML report of a result: one self-contained file, charts embedded as PNG data, no
reference to anything outside it (its Content-Security-Policy lets a browser load
nothing else either)."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path

import xarray as xr

from jevons.engine.output.files import write_text
from jevons.engine.scenario.loading import parse_scenario_text
from jevons.errors import JevonsError, ScenarioError
from jevons.report import tables
from jevons.report.fan_charts import peak_gpus_chart, reserve_chart, token_demand_chart
from jevons.report.inputs import scenario_inputs
from jevons.report.plotting import Chart
from jevons.report.risk_charts import cost_per_token_chart, exceedance_chart, shortfall_chart
from jevons.report.tornado import OUTPUT_WORDS, has_tornado, tornado_chart

# What a file must hold to be reported: a jevons result's percentiles.
REQUIRED_DIMS = ("quantile", "time", "hardware")
REQUIRED_VARIABLES = ("peak_gpus", "total_cost")

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       max-width: 1040px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
nav ul { columns: 3; padding-left: 1.2em; }
figure { margin: 1em 0; }
img { max-width: 100%; height: auto; display: block; }
figcaption { color: #444; font-size: 0.92em; margin-top: 0.4em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.7em; text-align: left;
         vertical-align: top; }
th { background: #f4f4f4; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
.note { color: #8a5a00; }
"""
# Data URIs for the charts and the page's own style; nothing else, from anywhere.
POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    body: str  # HTML


def check_result(ds: xr.Dataset, source: str) -> None:
    """Raise :class:`JevonsError` unless ``ds`` is one jevons run's result."""
    missing = [dim for dim in REQUIRED_DIMS if dim not in ds.dims]
    missing += [name for name in REQUIRED_VARIABLES if name not in ds]
    if missing or "jevons_version" not in ds.attrs:
        what = ", ".join(missing) or "jevons_version attribute"
        raise JevonsError(
            f"{source}: not a jevons result (it has no {what}); give a file written by"
            " jevons run or jevons merge"
        )
    axes = ds.attrs.get("sweep_axes")
    if axes:
        raise JevonsError(
            f"{source}: a sweep over {axes}; the report covers one run: run the point of"
            " interest with jevons run"
        )


def figure_html(chart: Chart) -> str:
    data = base64.b64encode(chart.png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(chart.alt)}">'
        f"<figcaption>{html.escape(chart.caption)}</figcaption></figure>"
    )


def chart_section(section_id: str, chart: Chart | None, extra: str = "") -> Section | None:
    if chart is None:
        return None
    return Section(section_id, chart.title, figure_html(chart) + extra)


def sensitivity_section(ds: xr.Dataset) -> Section | None:
    if not has_tornado(ds):
        return None
    charts = [tornado_chart(ds, str(output)) for output in ds["output"].values]
    drawn = [chart for chart in charts if chart is not None]
    if not drawn:
        return None
    words = ", ".join(OUTPUT_WORDS.get(str(o), str(o)) for o in ds["output"].values)
    intro = (
        f"<p>Which uncertain input moves {html.escape(words)} most, from the"
        " trajectories the run kept (jevons sensitivity).</p>"
    )
    body = intro + "".join(f"<h3>{html.escape(c.title)}</h3>{figure_html(c)}" for c in drawn)
    return Section("sensitivity", "Sensitivity", body)


def inputs_section(ds: xr.Dataset) -> Section:
    text = str(ds.attrs.get("scenario", ""))
    if not text.strip():
        return Section(
            "inputs",
            "Scenario inputs",
            '<p class="note">The result holds no'
            " scenario text (attribute <code>scenario</code>).</p>",
        )
    try:
        uncertain, fixed = scenario_inputs(parse_scenario_text(text, "the result's scenario"))
        body = "<h3>Uncertain inputs, drawn once per trajectory</h3>"
        body += tables.uncertain_table(uncertain) if uncertain else "<p>None.</p>"
        body += "<h3>Fixed inputs</h3>"
        body += tables.fixed_table(fixed) if fixed else "<p>None.</p>"
    except ScenarioError as exc:
        # A scenario naming files beside it (hardware profiles) cannot be read back
        # without them: the text below still says what ran.
        body = (
            '<p class="note">The inputs cannot be listed: '
            f"{html.escape(str(exc).splitlines()[0])}</p>"
        )
    body += (
        f"<details><summary>Scenario file (TOML)</summary><pre>{html.escape(text)}</pre></details>"
    )
    return Section("inputs", "Scenario inputs", body)


def provenance_section(ds: xr.Dataset) -> Section:
    return Section(
        "provenance", "Provenance", tables.provenance_table(ds) + tables.hardware_table(ds)
    )


def sections(ds: xr.Dataset) -> list[Section]:
    """Every section the result has data for, in reading order."""
    fleets = "fleet_size" in ds.dims and "any_shortfall_probability" in ds
    found = [
        Section("summary", "Summary", tables.headline_table(ds)),
        chart_section("token-demand", token_demand_chart(ds)),
        chart_section("peak-gpus", peak_gpus_chart(ds)),
        chart_section("cost-per-token", cost_per_token_chart(ds)),
        chart_section("total-cost", exceedance_chart(ds), tables.exceedance_tables(ds)),
        sensitivity_section(ds),
        chart_section("fleets", shortfall_chart(ds), tables.fleet_table(ds) if fleets else ""),
        chart_section("reserve", reserve_chart(ds)),
        inputs_section(ds),
        provenance_section(ds),
    ]
    return [section for section in found if section is not None]


def render_report(ds: xr.Dataset) -> str:
    """The report of result ``ds`` as one HTML page."""
    name = str(ds.attrs.get("scenario_name", "")) or "unnamed scenario"
    title = f"jevons report: {name}"
    parts = sections(ds)
    contents = "".join(
        f'<li><a href="#{section.id}">{html.escape(section.title)}</a></li>' for section in parts
    )
    body = "".join(
        f'<section id="{section.id}"><h2>{html.escape(section.title)}</h2>{section.body}</section>'
        for section in parts
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(tables.extent_sentence(ds))}</p></header>"
        f"<nav><ul>{contents}</ul></nav>{body}</body></html>\n"
    )


def write_report(ds: xr.Dataset, path: str | Path) -> Path:
    """Write the report of ``ds`` to ``path`` atomically: a reader sees the earlier file
    or the whole new one."""
    return write_text(render_report(ds), path)
