"""``jevons report`` end to end: a shipped scenario with fixed fleets, kept trajectories,
sensitivity and thresholds, and a small one with few quantile levels and a hostile name."""

import base64
import io
import re
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from jevons.cli.main import app
from tests.conftest import SCENARIOS
from tests.report.browser import images_decoded, requires_chromium, screenshot

image = pytest.importorskip("matplotlib.image")

runner = CliRunner()

SECTIONS = (
    "summary", "token-demand", "peak-gpus", "cost-per-token", "total-cost", "sensitivity",
    "fleets", "reserve", "inputs", "provenance",
)  # fmt: skip
HOSTILE_NAME = '<script>alert("x")</script> & co'
SMALL = f"""
name = '{HOSTILE_NAME}'

[horizon]
start = 2027-01-01
steps = 40

[simulation]
trajectories = 50
quantiles = [0.1, 0.5, 0.9]

[users]
initial = {{ dist = "lognormal", median = 1000, p95 = 2000 }}

[usage]
sessions_per_user_per_day = 1
requests_per_session = {{ dist = "uniform", low = 1, high = 3 }}
input_tokens_per_request = 300
output_tokens_per_call = 100

[supply]
hardware = "h200-hgx"
"""
PNG_DATA = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def rag(tmp_path_factory):
    """(result, report) of enterprise-rag: fixed fleets, sensitivity, both thresholds."""
    folder = tmp_path_factory.mktemp("rag")
    result, report = folder / "rag.nc", folder / "rag.html"
    invoke("run", SCENARIOS / "enterprise-rag.toml", "-o", result, "-n", 2000, "--sensitivity",
           "--threshold", "total_cost=2e6", "--threshold", "max_peak_gpus=500",
           "--backend", "numpy", "-q")  # fmt: skip
    done = invoke("report", result, "-o", report)
    assert done.output.strip() == f"wrote {report}"
    return xr.load_dataset(result), report


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small")
    scenario, result, report = folder / "small.toml", folder / "small.nc", folder / "small.html"
    scenario.write_text(SMALL)
    invoke("run", scenario, "-o", result, "--backend", "numpy", "-q")
    invoke("report", result, "-o", report, "-q")
    return xr.load_dataset(result), report


def section_ids(page: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)">', page)


@pytest.mark.slow
def test_every_section_of_a_result_with_fleets_sensitivity_and_thresholds(rag):
    _, report = rag
    page = report.read_text(encoding="utf-8")
    assert section_ids(page) == list(SECTIONS)
    # one tornado per output, each with a figure
    for words in ("total cost", "largest peak GPUs", "cost per million output tokens"):
        assert f"<h3>Sensitivity: {words}</h3><figure><img " in page


@pytest.mark.slow
def test_sections_without_data_are_left_out(small):
    _, report = small
    ids = section_ids(report.read_text(encoding="utf-8"))
    assert "sensitivity" not in ids and "fleets" not in ids
    assert {"summary", "token-demand", "peak-gpus", "inputs", "provenance"} <= set(ids)


def test_the_page_references_nothing_outside_itself(rag):
    _, report = rag
    page = report.read_text(encoding="utf-8")
    sources = re.findall(r'\bsrc="([^"]*)"', page)
    links = re.findall(r'\bhref="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert links and all(link.startswith("#") for link in links)
    outside_text = re.sub(r"<pre>.*?</pre>", "", page, flags=re.S)  # the scenario file
    for reference in ("http://", "https://", "<script", "<link", "<iframe", "@import", "url("):
        assert reference not in outside_text.lower(), reference
    assert "default-src 'none'; img-src data:" in page  # a browser loads nothing else


def test_every_chart_is_a_png_that_decodes_to_a_drawn_picture(rag):
    _, report = rag
    charts = PNG_DATA.findall(report.read_text(encoding="utf-8"))
    # token demand, peak GPUs, cost per token, exceedance, 3 tornadoes, fleets, reserve
    assert len(charts) == 9
    for data in charts:
        pixels = image.imread(io.BytesIO(base64.b64decode(data)), format="png")
        height, width = pixels.shape[:2]
        assert width == 1000 and height >= 250  # the page's width at 100 dpi
        assert pixels[..., :3].std() > 0.05  # not one flat colour


def test_figures_in_the_tables_are_the_results(rag):
    ds, report = rag
    page = report.read_text(encoding="utf-8")
    for size in ds.fleet_size.values:
        for hw in ds.hardware.values:
            at = {"fleet_size": size, "hardware": hw}
            short = float(ds.any_shortfall_probability.sel(at))
            over = float(ds.any_target_breach_probability.sel(at))
            assert f"{short:.4f} / {over:.4f}" in page
    for name, label in (("total_cost", "P(total cost &gt; $2M)"),
                        ("max_peak_gpus", "P(largest peak GPUs &gt; 500)")):  # fmt: skip
        probability = ds[f"{name}_exceedance_probability"]
        cells = "".join(f'<td class="num">{float(p):.4f}</td>' for p in probability.values.ravel())
        assert f"<td>{label}</td>{cells}" in page
    # the inputs table: each drawn input by its key, and the scenario file itself
    for key in ds.input.values:
        assert f"<td>{key}</td>" in page
    assert "<td>pert</td>" in page and "<td>triangular</td>" in page
    assert "<summary>Scenario file (TOML)</summary>" in page
    # provenance
    assert "<td>trajectories</td><td>2,000</td>" in page
    assert f"<td>seed</td><td>{int(ds.attrs['seed'])}</td>" in page


def test_the_exceedance_caption_speaks_of_a_zero_only_where_there_is_one(rag):
    """A probability of 0 cannot sit on the log axis; the caption says so only when a
    threshold has one (enterprise-rag's $2M on one profile, at 2,000 trajectories)."""
    from jevons.report.risk_charts import exceedance_chart

    ds, report = rag
    assert (ds.total_cost_exceedance_probability.values == 0).any()
    note = "(a probability of 0 has no place on the log axis: see the table)"
    assert note in report.read_text(encoding="utf-8")
    every = ds.copy(deep=True)
    every["total_cost_exceedance_probability"][...] = 0.5
    caption = exceedance_chart(every).caption
    assert caption.endswith("diamonds: P(total cost > threshold) at each threshold, listed below.")


def test_missing_quantile_levels_are_named_and_all_text_is_escaped(small):
    _, report = small
    page = report.read_text(encoding="utf-8")
    assert "P5-P95 drawn as P10-P90 (the nearest levels in the result)" in page
    assert "<script" not in page.lower()
    assert "jevons report: &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in page
    assert "<p>50 trajectories x 40 daily steps from 2027-01-01.</p>" in page


def test_numbers_stored_as_text_or_as_numbers_read_the_same(small):
    from jevons.report.tables import attribute_text

    assert attribute_text("trajectories", np.int64(2000)) == "2,000"
    assert attribute_text("trajectories", "2000") == "2,000"
    assert attribute_text("seed", "20270103") == "20270103"
    assert attribute_text("seed", np.int64(20270103)) == "20270103"
    assert attribute_text("wall_time_s", np.float64(3.14159265)) == "3.14159"


def test_the_cli_starts_without_matplotlib():
    code = "import sys, jevons.cli.main; print('matplotlib' in sys.modules)"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert shown.stdout.strip() == "False", shown.stderr


@pytest.mark.parametrize("make", ["missing", "corrupt", "not jevons", "sweep", "no folder",
                                  "not html", "a folder"])  # fmt: skip
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, small, make):
    ds, _ = small
    result, output = tmp_path / "result.nc", tmp_path / "report.html"
    expected = {
        "missing": "result.nc: no such file",
        "corrupt": "result.nc: cannot read it as a jevons result",
        "not jevons": "result.nc: not a jevons result (it has no quantile, time, hardware,",
        "sweep": "result.nc: a sweep over users.initial; the report covers one run",
        "no folder": "output folder",
        "not html": "report.txt: give a file name ending in .html",
        "a folder": "is a directory",
    }[make]
    if make == "corrupt":
        result.write_bytes(b"CDF\x01 not really")
    elif make == "not jevons":
        xr.Dataset({"a": ("x", [1.0, 2.0])}).to_netcdf(result)
    elif make != "missing":
        ds.assign_attrs(sweep_axes="users.initial" if make == "sweep" else "").to_netcdf(result)
    if make == "no folder":
        output = tmp_path / "nowhere" / "report.html"
    elif make == "not html":
        output = tmp_path / "report.txt"
    elif make == "a folder":
        output = tmp_path / "folder.html"
        output.mkdir()
    before = sorted(tmp_path.rglob("*"))
    done = runner.invoke(app, ["report", str(result), "-o", str(output)])
    assert done.exit_code == 2, done.output
    lines = done.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.output
    assert expected in " ".join(done.output.split())
    assert "Traceback" not in done.output
    assert sorted(tmp_path.rglob("*")) == before


@requires_chromium
@pytest.mark.parametrize("which", ["rag", "small"])
def test_chromium_decodes_every_image_and_draws_the_page(request, which, tmp_path):
    _, report = request.getfixturevalue(which)
    count = len(PNG_DATA.findall(report.read_text(encoding="utf-8")))
    assert count >= 4
    assert images_decoded(report, tmp_path) == (count, count)
    pixels = image.imread(screenshot(report, tmp_path / "page.png", 1400, 4000))
    assert pixels.shape[:2] == (4000, 1400)
    assert pixels[..., :3].std() > 0.05


@requires_chromium
def test_the_browser_probe_counts_an_image_that_does_not_decode(tmp_path):
    buffer = io.BytesIO()
    image.imsave(buffer, np.zeros((4, 4, 3)), format="png")
    good = base64.b64encode(buffer.getvalue()).decode()
    broken = base64.b64encode(b"\x89PNG\r\n\x1a\n cut short").decode()
    page = tmp_path / "page.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy"'
        " content=\"default-src 'none'; img-src data:\"></head><body>"
        f'<img src="data:image/png;base64,{good}"><img src="data:image/png;base64,{broken}">'
        "</body></html>"
    )
    assert images_decoded(page, tmp_path) == (1, 2)
