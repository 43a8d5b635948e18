"""Every shipped scenario validates and runs, and its numbers are sane."""

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from jevons.cli.main import app
from jevons.engine.execution.run import run_scenario
from jevons.engine.execution.settings import RunSettings
from jevons.engine.scenario.loading import load_scenario, parse_scenario_text
from tests.conftest import SCENARIOS

SHIPPED = sorted(SCENARIOS.glob("*.toml"))


def test_the_promised_scenarios_ship():
    names = {p.stem for p in SHIPPED}
    assert {
        "seed-table",
        "chat-assistant",
        "agentic-coding",
        "enterprise-rag",
        "reasoning-analyst",
    } <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_scenario_runs(path):
    scenario = load_scenario(path)
    ds = run_scenario(scenario, RunSettings(trajectories=300), scenario_text=path.read_text())
    for name in ("users", "requests", "llm_calls", "output_tokens", "peak_gpus", "cost_per_mtok"):
        values = ds[name].values
        assert np.isfinite(values).all(), name
        assert (values >= 0).all(), name
    # quantiles are ordered
    assert (ds.peak_gpus.diff("quantile") >= 0).all()
    # cost per token never undercuts the hardware's own floor: $/GPU-h / (decode rate x 3600),
    # at the lowest the declining price reaches by the last step
    last_step_years = (scenario.horizon.steps - 1) * scenario.horizon.step_hours / (365.25 * 24)
    fastest = scenario.supply.price_decline_per_year.draw_range()[1]
    for hw in scenario.supply.hardware:
        floor = hw.cost_per_gpu_hour / (hw.decode_rate(scenario.supply.interactivity) * 3600) * 1e6
        floor *= (1 - fastest) ** last_step_years
        assert float(ds.cost_per_mtok.sel(hardware=hw.key).min()) >= floor * (1 - 1e-9)


@pytest.mark.slow
def test_full_size_run_from_the_readme(tmp_path):
    """The README's first command: 100,000 trajectories x 365 daily steps on the CPU."""
    out = tmp_path / "chat.nc"
    result = CliRunner().invoke(
        app, ["run", str(SCENARIOS / "chat-assistant.toml"), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    with xr.open_dataset(out) as ds:
        assert ds.attrs["trajectories"] == 100_000
        assert ds.sizes["time"] == 365
        assert float(ds.peak_gpus.sel(quantile=0.99).max()) > float(
            ds.peak_gpus.sel(quantile=0.5).max()
        )


def test_the_readme_example_scenario_validates():
    readme = (SCENARIOS.parent / "README.md").read_text()
    start = readme.index("```toml\n", readme.index("## Scenario format")) + len("```toml\n")
    example = readme[start : readme.index("```", start)]
    scenario = parse_scenario_text(example, "README example")
    assert [hw.key for hw in scenario.supply.hardware] == ["h200-hgx", "gb300-nvl72"]
    assert scenario.fleet.sizes == [256, 512, 1024]
